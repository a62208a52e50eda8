"""Retention: events archived and pruned per second, beside the raw driver doing the same move.

Run on demand (never in the test suite):

    .venv/bin/python bench/retention_bench.py [--events 100000] [--backends sqlite,postgresql]

The corpus is the compression benchmark's chat system (bench/compression_bench.py), sealed.
One run measures, side by side on the same store:

- Chronicle: ``Retention.run`` with a ``now`` two years on, so every event is past the limit:
  segments written and read back, the tree recomputed against the stored one, a snapshot per
  aggregate, the receipt, the guarded deletes;
- the raw driver's shape of the same move, on a copy of the events table without triggers:
  read every row in position order, write them as zstd NDJSON (the same level), flush, delete
  them by position in batches of 1,000 in one transaction each. No check, no snapshot, no
  receipt: the floor of what moving the rows costs;
- the store's size on disk before and after (each after ``VACUUM``) and the archive's size;
- ``Verifier`` after (must say intact).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import zstandard

from bench.compression_bench import bench_main, corpus, disk_size, sealing
from chronicle.bootstrap import open_store
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.integrity import Sealer, Verifier
from chronicle.retention.run import Retention

TWO_YEARS = timedelta(days=730)


def raw_move(backend: str, url: str, folder: Path) -> tuple[int, float]:
    """The raw driver's archive-and-delete of a trigger-free copy of the events."""
    copy = "CREATE TABLE bench_raw AS SELECT * FROM chronicle_events"
    index = "CREATE UNIQUE INDEX bench_raw_position ON bench_raw (position)"
    select = "SELECT * FROM bench_raw ORDER BY position"
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute(copy)
        conn.execute(index)
        mark = "?"
    else:
        conn = psycopg.connect(url, autocommit=True)  # type: ignore[assignment]
        conn.execute(copy)
        conn.execute(index)
        mark = "%s"
    try:
        started = time.perf_counter()
        rows = conn.execute(select).fetchall()
        path = folder / "raw.ndjson.zst"
        with open(path, "wb") as out:
            with zstandard.ZstdCompressor(level=9).stream_writer(out, closefd=False) as writer:
                for row in rows:
                    writer.write(orjson.dumps([_plain(v) for v in row]) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        positions = [row[0] for row in rows]
        for start in range(0, len(positions), 1000):
            batch = [(p,) for p in positions[start : start + 1000]]
            if backend == "sqlite":
                conn.execute("BEGIN")
                conn.executemany(f"DELETE FROM bench_raw WHERE position = {mark}", batch)
                conn.execute("COMMIT")
            else:
                with conn.transaction():  # type: ignore[attr-defined]
                    conn.cursor().executemany(  # type: ignore[attr-defined]
                        f"DELETE FROM bench_raw WHERE position = {mark}", batch
                    )
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw")
        return len(rows), seconds
    finally:
        conn.close()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, int | float | str | type(None)) else str(value)


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measure(backend: str, url: str, events: int, sealed: bool = False) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chronicle-retention-"))
    store = open_store(url, personal=sealing(sealed))
    try:
        written = corpus(store, events)
        Sealer(store).run_once()
        disk_before = disk_size(store, backend, url)
        raw_events, raw_seconds = raw_move(backend, url, work)
        retention = Retention(
            store,
            retention_days=365,
            archive_dir=work / "archive",
            aggregates=CHAT_AGGREGATES,
            default_folder=True,
        )
        started = time.perf_counter()
        report = retention.run(datetime.now(UTC) + TWO_YEARS, force=True)
        seconds = time.perf_counter() - started
        outcome = Verifier(store).verify()
        return {
            "backend": backend,
            "events": written,
            "archived": report.archived,
            "removed": report.removed,
            "snapshots": report.snapshots,
            "seconds": seconds,
            "events_per_s": report.archived / seconds,
            "raw_events_per_s": raw_events / raw_seconds,
            "ratio_to_raw": (report.archived / seconds) / (raw_events / raw_seconds),
            "disk_before": disk_before,
            "disk_after": disk_size(store, backend, url),
            "archive_bytes": folder_size(work / "archive"),
            "intact_after": outcome.intact,
        }
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | events | archived and removed | snapshots | Chronicle events/s "
        "| raw driver events/s | Chronicle/raw | disk before | disk after | archive "
        "| verify after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['events']:,} | {r['removed']:,} | {r['snapshots']:,} "
            f"| {r['events_per_s']:,.0f} | {r['raw_events_per_s']:,.0f} "
            f"| {r['ratio_to_raw']:.2f}x | {r['disk_before'] / 2**20:.1f} MiB "
            f"| {r['disk_after'] / 2**20:.1f} MiB | {r['archive_bytes'] / 2**20:.1f} MiB "
            f"| {r['intact_after']} |"
        )
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__.splitlines()[0], measure, report)


if __name__ == "__main__":
    main()
