"""Case 8: append-to-read-model delay of the async ``activity`` read model (p50 and p99).

An async runner follows the log (woken by LISTEN/NOTIFY on PostgreSQL, by the data version on
SQLite) while 4 writers append one chat event per transaction at a steady pace (a short pause
after each append: the delay is what is measured, not a flood). An event's delay is the moment
the runner's batch holding it committed in the read model minus the event's timestamp (taken just
before its append). Each repetition gives both figures; the p99 row reports the same runs as the
p50 row. The peer's projections are not measured here (no async follower of ours to compare).
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime

from bench import payload
from bench.cases import Case, Scale
from bench.contenders import chronicle_store
from bench.harness import Benchmark, Subject
from bench.places import Site
from chronicle import EventStore
from chronicle.chat.domain import Message, chat_events, new_id
from chronicle.chat.domain.events import MessageCreated
from chronicle.chat.read_models import ActivityReadModel
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection
from chronicle.projections.runner import ProjectionRunner

WRITERS = 4
PAUSE = 0.002  # seconds between one writer's appends
DEADLINE = 60.0  # seconds to wait for the read model to catch up


def percentile(values: list[float], percent: int) -> float:
    """The ``percent``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(len(ordered) * percent / 100)))
    return ordered[rank - 1]


def build(site: Site, scale: Scale) -> list[Benchmark]:
    store, _ = chronicle_store(site, "delay")
    delays: list[float] = []

    def applied(projection: Projection, batch: list[RecordedEvent]) -> None:
        now = datetime.now(UTC)
        delays.extend((now - event.timestamp).total_seconds() * 1000 for event in batch)

    runner = ProjectionRunner(store, ActivityReadModel(chat_events), on_batch=applied)
    p99s: list[float] = []

    def measure_p50() -> float:
        runner.catch_up()
        delays.clear()
        _follow_while_writing(store, runner, scale.delay_events, delays)
        p99s.append(percentile(delays, 99))
        return statistics.median(delays)

    def replay_p99() -> float:
        # The p99 of the runs the p50 row measured, in the same order.
        return p99s.pop(0)

    notes = [
        f"{scale.delay_events:,} events by {WRITERS} writers, 1 per transaction",
        "peer: not measured (no comparable async follower)",
    ]
    return [
        Benchmark(
            case=8,
            key=f"delay-{name}",
            title=f"append-to-read-model delay, async activity read model, {name}",
            backend=site.backend,
            unit="ms",
            subjects=[subject],
            notes=notes,
        )
        for name, subject in (
            ("p50", Subject("chronicle", measure_p50)),
            ("p99", Subject("chronicle", replay_p99, store.close)),
        )
    ]


def _follow_while_writing(
    store: EventStore, runner: ProjectionRunner, events: int, delays: list[float]
) -> None:
    stop = threading.Event()
    follower = threading.Thread(target=runner.run, args=(stop, 0.5), daemon=True)
    follower.start()
    per_writer = events // WRITERS
    to_new = chat_events.to_new_event

    def write() -> None:
        for _ in range(per_writer):
            created = MessageCreated(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE)
            store.append(
                new_id("Message"),
                [to_new(created, metadata=payload.metadata())],
                expected_version=0,
                aggregate_type=Message.aggregate_type,
                user_id=payload.USER_ID,
            )
            time.sleep(PAUSE)

    try:
        writers = [threading.Thread(target=write) for _ in range(WRITERS)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        deadline = time.monotonic() + DEADLINE
        while len(delays) < per_writer * WRITERS:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the read model applied {len(delays):,} of {per_writer * WRITERS:,} events "
                    f"within {DEADLINE:.0f}s"
                )
            time.sleep(0.01)
    finally:
        stop.set()
        follower.join()


CASE = Case(8, "read-model-delay", "append-to-read-model delay (async activity)", build)
