"""Read-model figures: replay (rebuild) throughput, and the append-to-read-model delay.

Run on demand (never in the test suite):

    .venv/bin/python bench/projections.py [--events 200000] [--backends sqlite postgresql]

1. Replay: the store is filled with chat events (a third ``MessageCreated``, the rest
   ``MessageUpdated``; 200-character content) in appends of 1,000, then ``rebuild`` fills every
   chat read model from the whole log and swaps it in. Figure: events / seconds, per read model.
2. Delay: an async runner follows the log (``activity``, woken by LISTEN/NOTIFY on PostgreSQL,
   by the data version on SQLite) while 4 writers append one event per transaction; an event's
   delay is the moment its batch committed in the read model minus the event's timestamp.
PostgreSQL works in a throw-away schema of CHRONICLE_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg

from chronicle.bootstrap import open_store
from chronicle.chat.domain import chat_events, new_id
from chronicle.chat.domain.events import MessageCreated, MessageUpdated
from chronicle.chat.read_models import READ_MODELS, ActivityReadModel
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection
from chronicle.projections.rebuild import rebuild
from chronicle.projections.runner import ProjectionRunner
from chronicle.store.protocol import EventStore

POSTGRES_URL = os.environ.get(
    "CHRONICLE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CONTENT = ("The quick brown fox jumps over the lazy dog, @alice. " * 4)[:200]


@contextmanager
def backend_url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fill(store: EventStore, events: int) -> None:
    """``events`` chat events: messages of 3 events each (created, updated, updated)."""
    to_new = chat_events.to_new_event
    batch_messages = 333
    written = 0
    while written < events:
        for _ in range(batch_messages):
            if written >= events:
                break
            message = new_id("Message")
            count = min(3, events - written)
            batch = [to_new(MessageCreated(CONTENT, "alice", "text", None, ["alice"]))]
            batch += [to_new(MessageUpdated(CONTENT[::-1])) for _ in range(count - 1)]
            store.append(message, batch, expected_version=0, aggregate_type="Message")
            written += count


def replay(url: str, events: int) -> dict[str, float]:
    store = open_store(url)
    try:
        started = time.perf_counter()
        fill(store, events)
        print(f"  filled {events:,} events in {time.perf_counter() - started:.1f}s")
        rates = {}
        for cls in READ_MODELS:
            started = time.perf_counter()
            result = rebuild(store, cls, chat_events, mode=cls.default_mode, batch_size=5000)
            elapsed = time.perf_counter() - started
            rates[cls.name] = result.events / elapsed
            print(
                f"  replay {cls.name:<9} {result.events:,} events in {elapsed:.1f}s: "
                f"{rates[cls.name]:,.0f} events/s"
            )
        return rates
    finally:
        store.close()


def delay(url: str, events: int, writers: int = 4) -> tuple[float, float]:
    store = open_store(url)
    delays: list[float] = []

    def applied(projection: Projection, batch: list[RecordedEvent]) -> None:
        now = datetime.now(UTC)
        delays.extend((now - event.timestamp).total_seconds() for event in batch)

    try:
        runner = ProjectionRunner(store, ActivityReadModel(chat_events), on_batch=applied)
        runner.catch_up()
        delays.clear()
        stop = threading.Event()
        follower = threading.Thread(target=runner.run, args=(stop, 0.5))
        follower.start()
        to_new = chat_events.to_new_event

        def write(count: int) -> None:
            for _ in range(count):
                store.append(
                    new_id("Message"),
                    [to_new(MessageCreated(CONTENT, "alice", "text", None, []))],
                    expected_version=0,
                    aggregate_type="Message",
                )
                time.sleep(0.002)  # a steady stream, not a flood: the delay is what we measure

        threads = [
            threading.Thread(target=write, args=(events // writers,)) for _ in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 60
        while len(delays) < events // writers * writers and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        follower.join()
        ordered = sorted(delays)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
        return p50, p99
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--delay-events", type=int, default=2000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in args.backends:
        print(f"{backend}:")
        with backend_url(backend) as url:
            replay(url, args.events)
        with backend_url(backend) as url:
            p50, p99 = delay(url, args.delay_events)
            print(
                f"  append-to-read-model delay (activity, async): p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            )


if __name__ == "__main__":
    main()
