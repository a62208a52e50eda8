"""Time to load one aggregate with 100 and with 100,000 events, with and without a snapshot.

Run on demand (never in the test suite), on SQLite and PostgreSQL in one run, so the ratios are
comparable on a noisy machine:

    .venv/bin/python bench/aggregate_load.py [--sizes 100 100000] [--repeat 3] [--backends sqlite postgresql]

Setup appends a ``MessageCreated`` then ``MessageUpdated`` events (200-character content) in
appends of 1,000 events. "snapshot" loads start from a snapshot 50 events before the end, so each
load also applies a 50-event tail (an interval of 100 leaves 0 to 99). Figures are the median of
``--repeat`` loads. PostgreSQL works in a throw-away schema of CHRONICLE_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import quote

import psycopg

from chronicle.bootstrap import open_store
from chronicle.chat.domain import Message, chat_events, new_id
from chronicle.chat.domain.events import MessageCreated, MessageUpdated
from chronicle.repository import Repository, load_aggregate
from chronicle.store.protocol import EventStore

POSTGRES_URL = os.environ.get(
    "CHRONICLE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BATCH = 1000
TAIL = 50
CONTENT = ("The quick brown fox jumps over the lazy dog, @alice. " * 4)[:200]


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fill(store: EventStore, size: int) -> str:
    """A message aggregate with ``size`` events, appended ``BATCH`` at a time."""
    message_id = new_id("Message")
    created = MessageCreated(
        content=CONTENT, username="alice", message_type="text", mentions=["alice"]
    )
    events = [chat_events.to_new_event(created)]
    version = 0
    for n in range(1, size):
        events.append(chat_events.to_new_event(MessageUpdated(content=f"{n} {CONTENT}"[:200])))
        if len(events) == BATCH:
            store.append(message_id, events, expected_version=version, aggregate_type="Message")
            version += len(events)
            events = []
    if events:
        store.append(message_id, events, expected_version=version, aggregate_type="Message")
    return message_id


def median_ms(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(
    backend: str, url: str, sizes: list[int], repeat: int
) -> list[tuple[str, int, str, float]]:
    rows = []
    store = open_store(url)
    try:
        for size in sizes:
            started = time.perf_counter()
            message_id = fill(store, size)
            setup = time.perf_counter() - started
            print(f"  {backend}: appended {size:,} events in {setup:.1f} s ({size / setup:,.0f}/s)")
            replay = median_ms(
                partial(load_aggregate, store, Message, message_id, use_snapshots=False), repeat
            )
            snapshot_at = max(1, size - TAIL)
            at = load_aggregate(store, Message, message_id, to_version=snapshot_at)
            Repository(store, Message).save_snapshot(at)
            loaded = Repository(store, Message).load(message_id)
            assert (
                loaded.version == size
                and loaded.state()
                == load_aggregate(store, Message, message_id, use_snapshots=False).state()
            )
            snapshot = median_ms(partial(Repository(store, Message).load, message_id), repeat)
            rows.append((backend, size, "full replay", replay))
            rows.append((backend, size, f"snapshot + {size - snapshot_at}-event tail", snapshot))
    finally:
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    urls = {"sqlite": sqlite_url, "postgresql": postgres_url}
    rows = []
    for backend in args.backends:
        with urls[backend]() as url:
            rows += measure(backend, url, args.sizes, args.repeat)
    print(f"\n| backend | events | load | median ms (of {args.repeat}) |")
    print("|---|---:|---|---:|")
    for backend, size, how, ms in rows:
        print(f"| {backend} | {size:,} | {how} | {ms:,.2f} |")


if __name__ == "__main__":
    main()
