"""The relay against the real Redis and RabbitMQ: every event once, in per-aggregate order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict

import pytest
from broker_fixtures import Broker, wait_until

from chronicle import EventStore, NewEvent
from chronicle.errors import BrokerUnavailableError
from chronicle.publishing import PublishedEvent, Relay, RelayMetrics, checkpoint_name


def write(store: EventStore, aggregates: int, events_each: int, prefix: str = "message") -> None:
    """Interleave appends over ``aggregates`` aggregates, one event per append."""
    for version in range(events_each):
        for number in range(aggregates):
            store.append(
                f"{prefix}_{number}",
                [NewEvent("MessageEdited", {"content": f"v{version + 1}"})],
                expected_version=version,
                aggregate_type="Message",
            )


def publish_all(relay: Relay, count: int) -> None:
    """Run the relay until ``count`` events went out.

    On PostgreSQL, read_all holds back events while any older transaction on the server is still
    open (other suites share it), so a single pass may find fewer than were appended.
    """
    published = [0]

    def more() -> bool:
        published[0] += relay.run_until_caught_up()
        return published[0] >= count

    wait_until(more, f"the relay to publish {count} events")
    assert published[0] == count


def assert_each_event_once_in_aggregate_order(
    received: list[PublishedEvent], store: EventStore
) -> None:
    stored = store.read_all(limit=100_000)
    assert sorted(event.event_id for event in received) == sorted(e.event_id for e in stored)
    assert len({event.event_id for event in received}) == len(received)
    versions: dict[str, list[int]] = defaultdict(list)
    for event in received:
        versions[event.aggregate_id].append(event.version)
    for aggregate_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), aggregate_id


def test_every_committed_event_arrives_once_with_its_envelope_and_in_aggregate_order(
    store: EventStore, broker: Broker
) -> None:
    write(store, aggregates=5, events_each=20)
    collector = broker.collector()
    publisher = broker.publisher()
    try:
        relay = Relay(store, publisher, batch_size=7)
        publish_all(relay, 100)
        collector.wait_for(100)
    finally:
        publisher.close()
        collector.close()
    assert_each_event_once_in_aggregate_order(collector.events, store)
    first, stored = collector.events[0], store.read_all(limit=1)[0]
    assert (first.event_id, first.aggregate_id, first.aggregate_type, first.event_type) == (
        stored.event_id,
        stored.aggregate_id,
        "Message",
        "MessageEdited",
    )
    assert (first.version, first.position, first.data) == (1, stored.position, {"content": "v1"})
    assert store.get_checkpoint(relay.checkpoint) == store.read_all(limit=1000)[-1].position
    assert relay.refresh_lag().events == 0


def test_a_batch_published_twice_reaches_the_handler_once(
    store: EventStore, broker: Broker
) -> None:
    write(store, aggregates=2, events_each=5)
    collector = broker.collector()
    publisher = broker.publisher()
    try:
        wait_until(lambda: len(store.read_all()) == 10, "the appends to become readable")
        events = store.read_all()
        publisher.publish(events)
        publisher.publish(events)
        publisher.publish(events[:3])
        write(store, aggregates=1, events_each=1, prefix="marker")
        wait_until(lambda: store.read_all(after=events[-1].position) != [], "the marker")
        publisher.publish(store.read_all(after=events[-1].position))
        collector.wait_for(11)
    finally:
        publisher.close()
        collector.close()
    assert [event.aggregate_id for event in collector.events][-1] == "marker_0"
    assert len(collector.events) == 11
    assert collector.dedup.duplicates == 13
    assert_each_event_once_in_aggregate_order(collector.events, store)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1/%2F"])
def test_an_unreachable_broker_leaves_the_checkpoint_where_it_was(
    store: EventStore, url: str
) -> None:
    from chronicle.bootstrap import open_publisher

    write(store, aggregates=1, events_each=3)
    publisher = open_publisher(url, name="chronicle.events")
    metrics = RelayMetrics()
    relay = Relay(store, publisher, metrics=metrics)
    with pytest.raises(BrokerUnavailableError, match="EVENT_QUEUE_URL"):
        relay.run_once()
    assert store.get_checkpoint(relay.checkpoint) is None
    assert relay.refresh_lag().events == 3
    assert metrics.registry.get_sample_value("chronicle_publish_lag_events") == 3
    stop = threading.Event()
    thread = threading.Thread(target=relay.follow, args=(stop,), kwargs={"idle_wait": 0.01})
    thread.start()
    wait_until(
        lambda: (metrics.registry.get_sample_value("chronicle_publish_failures_total") or 0) >= 2,
        "two failed attempts",
    )
    stop.set()
    thread.join(30)
    assert store.get_checkpoint(relay.checkpoint) is None


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.slow
def test_eight_writers_and_a_broker_outage_lose_nothing(store: EventStore, broker: Broker) -> None:
    """The acceptance scenario: 10,000 events by 8 writers, the broker stopped part of the run."""
    writers, per_writer = 8, 1250
    total = writers * per_writer
    collector = broker.collector()
    publisher = broker.publisher()
    metrics = RelayMetrics()
    relay = Relay(store, publisher, batch_size=500, metrics=metrics, lag_interval=0.0)
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.follow, args=(stop,), kwargs={"idle_wait": 0.05})

    def writer(number: int, start: int, count: int) -> None:
        for index in range(start, start + count):
            aggregate = f"chat_{number}_{index % 25}"
            store.append(
                aggregate,
                [NewEvent("MessageCreated", {"content": f"{number}/{index}"})],
                expected_version=index // 25,
                aggregate_type="Message",
            )

    def write_phase(start: int, count: int) -> None:
        threads = [threading.Thread(target=writer, args=(n, start, count)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    half = per_writer // 2
    try:
        relay_thread.start()
        phase_one = threading.Thread(target=write_phase, args=(0, half))
        phase_one.start()
        if broker.kind == "rabbitmq":
            # Durable queue, persistent messages: stop while the relay is mid-stream.
            collector.wait_for(500)
        else:
            # Redis here runs without persistence: a restart drops entries nobody read yet,
            # so stop once the consumer has read everything published so far.
            phase_one.join()
            collector.wait_for(writers * half)
        with broker.outage():
            phase_one.join()
            write_phase(half, per_writer - half)
            wait_until(
                lambda: (
                    (metrics.registry.get_sample_value("chronicle_publish_failures_total") or 0)
                    >= 1
                ),
                "the relay to notice the outage",
            )
            assert relay.refresh_lag().events > 0
        collector.wait_for(total)
        wait_until(
            lambda: relay.position == store.read_all(limit=total)[-1].position,
            "the checkpoint to reach the end of the log",
        )
    finally:
        stop.set()
        relay_thread.join(60)
        publisher.close()
        collector.close()
    assert len(collector.events) == total
    assert_each_event_once_in_aggregate_order(collector.events, store)
    assert relay.refresh_lag().events == 0


def _relay_process(
    store_url: str, broker: Broker, batch_size: int = 250
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EVENT_PUBLISH_TO_QUEUE": "true",
        "EVENT_QUEUE_URL": broker.url,
        "CHRONICLE_QUEUE_NAME": broker.name,
        "EVENT_STORE_TYPE": "sqlite" if store_url.startswith("sqlite") else "postgresql",
        "EVENT_STORE_URL": store_url,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from chronicle.cli import main; main()",
            "relay",
            "--batch-size",
            str(batch_size),
            "--idle-wait",
            "0.05",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_relay_killed_mid_batch_resumes_from_its_checkpoint_and_loses_nothing(
    store: EventStore, store_url: str, broker: Broker
) -> None:
    write(store, aggregates=20, events_each=150)
    total = 3000
    collector = broker.collector()
    # Small batches keep the first relay busy long enough to be killed in the middle of the log.
    process = _relay_process(store_url, broker, batch_size=5)
    checkpoint = checkpoint_name(broker.publisher().destination)
    try:
        collector.wait_for(300)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        killed_at = store.get_checkpoint(checkpoint)
        assert killed_at is None or killed_at < store.read_all(limit=total)[-1].position
        restarted = _relay_process(store_url, broker)
        try:
            collector.wait_for(total)
            wait_until(
                lambda: (
                    store.get_checkpoint(checkpoint) == store.read_all(limit=total)[-1].position
                ),
                "the restarted relay to reach the end of the log",
            )
        finally:
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        collector.close()
    assert len(collector.events) == total
    assert_each_event_once_in_aggregate_order(collector.events, store)
