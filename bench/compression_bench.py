"""Compression of old events: ratio, compress throughput, size on disk, reads of compressed events.

Run on demand (never in the test suite):

    .venv/bin/python bench/compression_bench.py [--events 100000] [--backends sqlite,postgresql]

The corpus is a chat system's: users, projects, tickets (created, assigned, moved through their
statuses) and messages (created, edited, some deleted), as the chat domain's own events with
real English text (sentences of the standard library's documentation, so the run needs no
download and gives the same corpus every time), appended through Chronicle's append path with
the metadata the service records. One run measures, side by side:

- payload bytes as stored, before and after ``Compressor`` (zstd with a dictionary trained on
  the store), and what per-event codecs would give on the same payloads: zlib per event (what
  the ``eventsourcing`` library's compressor does), gzip per event (``CHRONICLE_COMPRESSION=
  gzip``), zstd per event without a dictionary, and zstd with dictionaries of other sizes;
- compress throughput (events re-encoded per second, dictionary training included);
- the store's size on disk before and after, each after ``VACUUM``;
- whole-log read throughput (``read_all``) before and after, in the same run;
- ``Verifier`` before and after (both must say intact).
"""

from __future__ import annotations

import argparse
import inspect
import random
import re
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import psycopg
import zstandard

from chronicle.bootstrap import open_store
from chronicle.chat.domain import chat_events
from chronicle.chat.domain.events import (
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ProjectCreated,
    ProjectStatusChanged,
    TicketAssigned,
    TicketCreated,
    TicketStatusChanged,
    UserCreated,
)
from chronicle.compression import DICTIONARY_BYTES, TRAINING_EVENTS, Compressor
from chronicle.integrity import Verifier
from chronicle.store.payloads import GZIP, ZSTD, Dictionary, Encoder, train

_MODULES = (
    "argparse", "asyncio", "collections", "csv", "datetime", "decimal", "email", "functools",
    "http.client", "inspect", "itertools", "json", "logging", "os", "pathlib", "re", "sqlite3",
    "subprocess", "threading", "typing", "urllib.parse", "zipfile", "tarfile", "shutil",
)  # fmt: skip


def sentences() -> list[str]:
    """Sentences of the standard library's docstrings: real text, the same on every run."""
    import importlib

    found: set[str] = set()
    for name in _MODULES:
        module = importlib.import_module(name)
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member) or ""
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                if 20 <= len(sentence) <= 300 and not sentence.startswith((">>>", "..")):
                    found.add(sentence)
    return sorted(found)


def corpus(store: Any, events: int, seed: int = 7) -> int:
    """Append ``events`` chat events; return how many were written."""
    rng = random.Random(seed)
    text = sentences()
    to_new = chat_events.to_new_event
    users = [f"user_{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(200)]
    names = [f"{rng.choice(('ana', 'bo', 'chen', 'dee', 'eli'))}{n}" for n in range(200)]
    projects = [f"project_{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(40)]
    written = 0

    def say(words: int = 3) -> str:
        return " ".join(rng.choice(text) for _ in range(rng.randint(1, words)))[:1900]

    def append(aggregate_id: str, kind: str, items: list[Any], user: str) -> None:
        nonlocal written
        metadata = {
            "correlation_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "source": "api",
            "client": rng.choice(("web", "ios", "android")),
        }
        store.append(
            aggregate_id,
            [to_new(item, metadata=metadata) for item in items],
            expected_version=None,
            aggregate_type=kind,
            user_id=user,
        )
        written += len(items)

    for user, name in zip(users, names, strict=True):
        role = rng.choice(("member", "member", "member", "auditor", "admin"))
        append(user, "User", [UserCreated(name, f"{name}@example.com", role)], "system:import")
    for project in projects:
        owner = rng.choice(users)
        append(project, "Project", [ProjectCreated(say(1)[:80], say(2), owner),
               ProjectStatusChanged("planning", "active")], owner)  # fmt: skip
    while written < events:
        author = rng.randrange(len(users))
        project = rng.choice(projects)
        if rng.random() < 0.15:
            ticket = f"ticket_{uuid.UUID(int=rng.getrandbits(128)).hex}"
            items: list[Any] = [
                TicketCreated(say(1)[:120], say(3), project, rng.choice(("low", "medium", "high"))),
                TicketAssigned(rng.choice(users), users[author]),
                TicketStatusChanged("open", "in_progress"),
            ]
            if rng.random() < 0.6:
                items.append(TicketStatusChanged("in_progress", "done"))
            append(ticket, "Ticket", items, users[author])
            continue
        message = f"message_{uuid.UUID(int=rng.getrandbits(128)).hex}"
        content = say()
        mentions = sorted({rng.choice(names) for _ in range(rng.randint(0, 2))})
        content = " ".join([*(f"@{m}" for m in mentions), content])
        items = [MessageCreated(content, names[author], "text", project, mentions)]
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 5))):
            items.append(MessageUpdated(f"{content} {say(1)}"[:1900]))
        if rng.random() < 0.05:
            items.append(MessageDeleted())
        append(message, "Message", items, users[author])
    return written


# -- measurements ------------------------------------------------------------------------------


def payloads(store: Any) -> list[bytes]:
    rows, after = [], 0
    far = datetime.now(UTC) + timedelta(days=1)
    while batch := store.uncompressed_payloads(far, after, 5000):
        rows.extend(blob for row in batch for blob in (row.data, row.metadata))
        after = batch[-1].position
    return rows


def per_event_ratios(blobs: list[bytes]) -> dict[str, float]:
    """What codecs without a dictionary give on each payload alone, and dictionaries of other
    sizes (each trained on the first TRAINING_EVENTS events, as the compressor does)."""
    total = sum(map(len, blobs))
    plain = zstandard.ZstdCompressor(level=9)
    found = {
        "zlib per event (the eventsourcing library's)": total
        / sum(len(zlib.compress(b)) for b in blobs),
        "gzip per event (CHRONICLE_COMPRESSION=gzip)": total
        / sum(len(Encoder(GZIP).encode(b)) for b in blobs),
        "zstd per event, no dictionary": total / sum(len(plain.compress(b)) for b in blobs),
    }
    sample = blobs[: 2 * TRAINING_EVENTS]
    for size in (32 * 1024, 64 * 1024, 110 * 1024, 256 * 1024, 512 * 1024):
        started = time.perf_counter()
        content = train(sample, size, 1)
        trained = time.perf_counter() - started
        encoder = Encoder(ZSTD, Dictionary(1, content, 0, 1.0, datetime.now(UTC)))
        ratio = total / sum(len(encoder.encode(b)) for b in blobs)
        found[f"zstd + {size // 1024} KiB dictionary (trained in {trained * 1000:.0f} ms)"] = ratio
    return found


def read_speed(store: Any, repeat: int = 3) -> float:
    best = 0.0
    for _ in range(repeat):
        started, after, count = time.perf_counter(), None, 0
        while events := store.read_all(after=after, limit=1000):
            count += len(events)
            after = events[-1].position
        best = max(best, count / (time.perf_counter() - started))
    return best


def disk_size(store: Any, backend: str, url: str) -> int:
    """The events table's size on disk after VACUUM (SQLite: the whole file)."""
    if backend == "sqlite":
        import sqlite3

        path = Path(url.removeprefix("sqlite:///"))
        with sqlite3.connect(path, isolation_level=None) as conn:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM FULL chronicle_events")
        row = conn.execute("SELECT pg_total_relation_size('chronicle_events')").fetchone()
    return int(row[0]) if row else 0


def sealing(sealed: bool) -> Any:
    """With ``sealed``, what seals the chat's personal fields (keys in memory), else None."""
    if not sealed:
        return None
    from chronicle.chat.wiring import chat_personal_policy
    from chronicle.personal.keystore.memory import MemoryKeyStore
    from chronicle.personal.protector import PersonalData

    return PersonalData(chat_personal_policy(), MemoryKeyStore())


def measure(backend: str, url: str, events: int, sealed: bool = False) -> dict[str, Any]:
    store = open_store(url, personal=sealing(sealed))
    try:
        started = time.perf_counter()
        written = corpus(store, events)
        print(f"  {backend}: {written:,} events appended in {time.perf_counter() - started:.1f} s")
        blobs = payloads(store)
        logical = sum(map(len, blobs))
        result: dict[str, Any] = {
            "backend": backend,
            "sealed": sealed,
            "events": written,
            "logical_payload_bytes": logical,
            "per_event": per_event_ratios(blobs),
            "intact_before": Verifier(store).verify().intact,
            "disk_before": disk_size(store, backend, url),
            "read_before": read_speed(store),
        }
        started = time.perf_counter()
        report = Compressor(store, after_days=0).run(datetime.now(UTC) + timedelta(seconds=1))
        seconds = time.perf_counter() - started
        result.update(
            compressed=report.events,
            compress_events_per_s=report.events / seconds,
            stored_after=report.bytes_after,
            ratio=report.ratio,
            dictionaries=report.dictionaries_trained,
            disk_after=disk_size(store, backend, url),
            read_after=read_speed(store),
            intact_after=Verifier(store).verify().intact,
        )
        return result
    finally:
        store.close()


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"dictionary size in use: {DICTIONARY_BYTES // 1024} KiB",
        "",
        "| backend | personal fields | events | stored payload bytes | after | ratio | compress events/s "
        "| disk before | disk after | read before (events/s) | read after | read after/before "
        "| verify before/after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {'sealed' if r.get('sealed') else 'clear'} | {r['events']:,} "
            f"| {r['logical_payload_bytes']:,} "
            f"| {r['stored_after']:,} | {r['ratio']:.2f}x | {r['compress_events_per_s']:,.0f} "
            f"| {r['disk_before'] / 2**20:.1f} MiB | {r['disk_after'] / 2**20:.1f} MiB "
            f"| {r['read_before']:,.0f} | {r['read_after']:,.0f} "
            f"| {r['read_after'] / r['read_before']:.2f}x "
            f"| {r['intact_before']}/{r['intact_after']} |"
        )
    lines += ["", "| codec on the same payloads | ratio |", "|---|---|"]
    for name, ratio in results[0]["per_event"].items():
        lines.append(f"| {name} | {ratio:.2f}x |")
    return "\n".join(lines)


def on_each_backend(
    measure: Any, backends: list[str], postgres: str, events: int, sealed: bool = False
) -> list[dict[str, Any]]:
    """``measure(backend, url, events, sealed)`` on a fresh SQLite file or PostgreSQL schema
    each."""
    results = []
    for backend in backends:
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="chronicle-bench-")
            results.append(measure(backend, f"sqlite:///{folder}/bench.db", events, sealed))
            continue
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{postgres}?options={quote(f'-csearch_path={schema}')}"
        try:
            results.append(measure(backend, url, events, sealed))
        finally:
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return results


def bench_main(description: str, measure: Any, report: Any) -> None:
    """The command line both lifecycle benchmarks share: measure on each backend, print the
    table ``report`` makes, optionally keep the results as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--sealed",
        action="store_true",
        help="seal the chat's personal fields (keys in memory), as the chat service stores them",
    )
    args = parser.parse_args()
    results = on_each_backend(
        measure, args.backends.split(","), args.postgres, args.events, args.sealed
    )
    print(report(results))
    if args.output:
        args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


def main() -> None:
    bench_main(__doc__.splitlines()[0], measure, report)


if __name__ == "__main__":
    main()
