"""The one log follower, on the real stores: batches, wake-up, back-off, pace, and the sealer on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from chronicle import EventStore, NewEvent
from chronicle.errors import ChronicleError, StoreUnavailableError
from chronicle.events import RecordedEvent
from chronicle.follower import Backoff, Batch, LogFollower
from chronicle.integrity import Sealer


def append(store: EventStore, count: int = 1, aggregate: str = "note_a") -> None:
    for _ in range(count):
        store.append(
            aggregate, [NewEvent("NoteAdded", {})], expected_version=None, aggregate_type="Note"
        )


def wait_until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        time.sleep(0.01)


def readable(store: EventStore, count: int) -> None:
    """Wait until ``read_all`` hands out ``count`` events (PostgreSQL holds back events behind
    transactions that other tests on the server still have open)."""
    wait_until(lambda: len(store.read_all(limit=100_000)) >= count, f"{count} readable events")


class Recorder:
    """A consumer that keeps its checkpoint in memory and notes what it took, and when."""

    def __init__(self) -> None:
        self.checkpoint: int | None = None
        self.batches: list[Batch] = []
        self.taken: list[tuple[float, RecordedEvent]] = []
        self.called = threading.Event()

    def position(self) -> int | None:
        return self.checkpoint

    def handle(self, batch: Batch) -> int:
        self.called.set()
        self.batches.append(batch)
        now = time.monotonic()
        self.taken.extend((now, event) for event in batch.events)
        if batch.events:
            self.checkpoint = batch.events[-1].position
        return len(batch.events)

    @property
    def working_steps(self) -> list[Batch]:
        return [batch for batch in self.batches if batch.events]


@contextmanager
def following(store: EventStore, follower: LogFollower, **run: float) -> Iterator[None]:
    """Run ``follower`` in a thread for the block; stop it (waking it with a commit) after."""
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,), kwargs=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        append(store, aggregate="wake_up")
        thread.join(30)
    assert not thread.is_alive(), "the follower did not stop"


def keep_appending(store: EventStore, seconds: float, every: float = 0.02) -> int:
    """Append one event every ``every`` seconds for ``seconds``; return how many were appended."""
    appended = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        append(store, aggregate=f"busy_{appended % 7}")
        appended += 1
        time.sleep(every)
    return appended


def test_catch_up_reads_a_backlog_in_batches_and_stops_at_the_first_short_one(
    store: EventStore,
) -> None:
    append(store, 7)
    readable(store, 7)
    consumer = Recorder()
    follower = LogFollower(store, consumer.position, consumer.handle, batch_size=3)

    assert follower.catch_up() == 7
    assert [(len(b.events), b.at_end) for b in consumer.batches] == [
        (3, False),
        (3, False),
        (1, True),
    ]
    assert consumer.batches[1].after == consumer.batches[0].events[-1].position
    assert [event for _, event in consumer.taken] == store.read_all()
    assert follower.step() == 0


def test_a_following_consumer_takes_a_new_commit_long_before_the_idle_wait_runs_out(
    store: EventStore,
) -> None:
    consumer = Recorder()
    follower = LogFollower(store, consumer.position, consumer.handle)
    with following(store, follower, idle_wait=30.0):
        wait_until(consumer.called.is_set, "the first read")
        append(store)
        wait_until(lambda: consumer.taken != [], "taking the new event", within=5.0)
    assert consumer.taken[0][1].aggregate_id == "note_a"


def test_an_outage_is_retried_with_growing_delays_that_start_over_after_a_success(
    store: EventStore,
) -> None:
    # Four failures, a success, one more failure, then success until the test stops.
    script = ["fail"] * 4 + ["ok", "fail"]
    delays: list[float] = []
    consumer = Recorder()
    stop = threading.Event()

    def flaky(batch: Batch) -> int:
        if not script:
            stop.set()
            return consumer.handle(batch)
        if script.pop(0) == "fail":
            raise StoreUnavailableError("the store is away")
        return consumer.handle(batch)

    def record(exc: ChronicleError, delay: float) -> None:
        delays.append(delay)

    follower = LogFollower(
        store,
        consumer.position,
        flaky,
        backoff=Backoff(initial=0.01, maximum=0.04),
        on_error=record,
    )
    follower.run(stop, idle_wait=0.01)

    assert len(delays) == 5
    # Full jitter: the n-th delay lies between half and all of min(initial * 2**n, maximum).
    for delay, ceiling in zip(delays, [0.01, 0.02, 0.04, 0.04, 0.01], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert delays[0] <= delays[1] <= delays[2] and delays[4] <= 0.01


def test_an_error_that_is_not_a_chronicle_error_ends_the_follower(store: EventStore) -> None:
    def broken(batch: Batch) -> int:
        raise ValueError("a bug in the consumer")

    follower = LogFollower(store, lambda: None, broken)
    with pytest.raises(ValueError, match="a bug"):
        follower.run(threading.Event(), idle_wait=0.01)


def test_pace_limits_how_often_a_busy_follower_works(store: EventStore) -> None:
    consumer = Recorder()
    follower = LogFollower(store, consumer.position, consumer.handle, batch_size=1000)
    pace = 0.5
    with following(store, follower, idle_wait=5.0, pace=pace):
        started = time.monotonic()
        appended = keep_appending(store, seconds=2.0)
        busy_for = time.monotonic() - started
        wait_until(lambda: len(consumer.taken) >= appended, "taking every event")

    # Woken by each of the appends, it still worked at most once per pace (plus the last
    # catch-up once the writer stopped).
    assert appended >= 30
    assert 2 <= len(consumer.working_steps) <= busy_for / pace + 2


def test_the_sealer_seals_within_about_its_interval_while_writers_append_but_not_per_append(
    store: EventStore,
) -> None:
    interval = 0.5
    sealer = Sealer(store)
    stop = threading.Event()
    thread = threading.Thread(target=sealer.follow, args=(stop, interval))
    thread.start()
    try:
        appended = keep_appending(store, seconds=3.0)
        wait_until(
            lambda: (seal := store.latest_seal()) is not None and seal.event_count == appended,
            "a seal over every event",
        )
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()

    events, seals = store.read_all(limit=10_000), store.get_seals(limit=1000)
    latencies = []
    for index, event in enumerate(events):
        first = next(seal for seal in seals if seal.event_count > index)
        latencies.append((first.sealed_at - event.timestamp).total_seconds())
    assert max(latencies) < interval + 1.5
    assert appended >= 50
    assert 3 <= len(seals) <= 3.0 / interval + 3
