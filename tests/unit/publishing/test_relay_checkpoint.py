"""The relay's checkpoint discipline, with an in-memory publisher (the brokers are tested in
tests/integration/publishing)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from chronicle import EventStore, NewEvent
from chronicle.errors import BrokerUnavailableError
from chronicle.events import RecordedEvent
from chronicle.publishing import Backoff, Relay, RelayMetrics


class MemoryPublisher:
    destination = "memory:chronicle.events"

    def __init__(self, fail_after: int | None = None) -> None:
        self.published: list[RecordedEvent] = []
        self.fail_after = fail_after

    def connect(self) -> None:
        return None

    def publish(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if self.fail_after is not None and len(self.published) >= self.fail_after:
                raise BrokerUnavailableError("the memory broker is down")
            self.published.append(event)

    def close(self) -> None:
        return None


def failures(relay: Relay) -> float:
    return relay.metrics.registry.get_sample_value("chronicle_publish_failures_total") or 0


def fill(store: EventStore, count: int) -> None:
    """Append ``count`` events and wait until they are readable.

    On PostgreSQL, ``read_all`` holds back events while older transactions on the server (other
    tests') are still open, so a relay started at once could find fewer.
    """
    for version in range(count):
        store.append(
            "message_a",
            [NewEvent("MessageEdited", {"content": str(version)})],
            expected_version=version,
            aggregate_type="Message",
        )
    deadline = time.monotonic() + 30
    while len(store.read_all(limit=count + 1)) < count:
        assert time.monotonic() < deadline, "the appends did not become readable"
        time.sleep(0.01)


def test_a_failed_batch_leaves_the_checkpoint_and_is_published_again_in_full(
    store: EventStore,
) -> None:
    fill(store, 10)
    publisher = MemoryPublisher(fail_after=6)
    metrics = RelayMetrics()
    relay = Relay(store, publisher, batch_size=4, metrics=metrics)
    assert relay.run_once() == 4
    first_batch_end = relay.position
    with pytest.raises(BrokerUnavailableError):
        relay.run_once()
    assert store.get_checkpoint(relay.checkpoint) == first_batch_end
    publisher.fail_after = None
    assert relay.run_until_caught_up() == 6
    versions = [event.version for event in publisher.published]
    assert versions == [1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10]
    assert metrics.registry.get_sample_value("chronicle_events_published_total") == 10
    assert metrics.registry.get_sample_value("chronicle_publish_lag_events") == 0


def test_a_new_relay_resumes_from_the_stored_checkpoint(store: EventStore) -> None:
    fill(store, 5)
    Relay(store, MemoryPublisher(), batch_size=3).run_once()
    publisher = MemoryPublisher()
    assert Relay(store, publisher).run_until_caught_up() == 2
    assert [event.version for event in publisher.published] == [4, 5]


def test_the_lag_counts_unpublished_events_and_the_age_of_the_oldest(store: EventStore) -> None:
    fill(store, 3)
    relay = Relay(store, MemoryPublisher(fail_after=0))
    lag = relay.refresh_lag()
    assert lag.events == 3 and lag.seconds >= 0
    assert relay.metrics.registry.get_sample_value("chronicle_publish_lag_events") == 3


def test_a_following_relay_retries_a_broker_outage_and_then_publishes_everything_once(
    store: EventStore,
) -> None:
    fill(store, 5)
    publisher = MemoryPublisher(fail_after=0)
    relay = Relay(store, publisher, backoff=Backoff(initial=0.01, maximum=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=relay.follow, args=(stop,), kwargs={"idle_wait": 0.05})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while failures(relay) < 3:
            assert time.monotonic() < deadline, "the relay did not retry"
            time.sleep(0.01)
        assert store.get_checkpoint(relay.checkpoint) is None
        publisher.fail_after = None
        while len(publisher.published) < 5 or relay.position != store.read_all()[-1].position:
            assert time.monotonic() < deadline, "the relay did not publish after the outage"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [event.version for event in publisher.published] == [1, 2, 3, 4, 5]
    assert store.get_checkpoint(relay.checkpoint) == store.read_all()[-1].position
