"""Case 3: 8 concurrent writers on distinct aggregates, one event per transaction.

Each contender gets 8 threads: Chronicle shares one store (its connection pool); the raw driver
gives each thread its own PostgreSQL connection (on SQLite, threads queue on one connection,
since SQLite takes one writer at a time); the peer shares one application.

After the timed runs, a check runs the 8 Chronicle writers once more while a follower reads the
log with ``read_all``; every appended event must be seen exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bench.cases import Case, Scale
from bench.contenders import chronicle_store, peer_app, raw_connection
from bench.harness import Benchmark, Subject, concurrent_throughput
from bench.places import Site
from bench.writers import chronicle_append, peer_append, raw_append
from chronicle import EventStore

FOLLOWER_PAGE = 1000
# read_all holds back events above the oldest running transaction of the whole server, so on a
# shared server the follower may lag; it waits this long for the last events before judging.
CATCH_UP_SECONDS = 30.0


def _gap_free_check(store: EventStore, writers: int, seconds: float) -> str:
    """Run the writers with a follower; say whether it saw every appended event once."""
    # The log already holds the timed runs' events; follow only what this check appends.
    start_after = 0
    while page := store.read_all(after=start_after, limit=FOLLOWER_PAGE * 10):
        start_after = page[-1].position
    appended: list[str] = []
    appended_lock = threading.Lock()
    seen: list[str] = []
    done = threading.Event()

    def follow() -> None:
        cursor = start_after
        deadline = None
        while True:
            if deadline is None and done.is_set():
                deadline = time.monotonic() + CATCH_UP_SECONDS
            page = store.read_all(after=cursor, limit=FOLLOWER_PAGE)
            seen.extend(event.event_id for event in page)
            if page:
                cursor = page[-1].position
                continue
            # Caught up with everything appended (a skipped event would never come), or late.
            if deadline is not None and (len(seen) >= len(appended) or time.monotonic() > deadline):
                return
            time.sleep(0.002)

    def recording(index: int) -> Callable[[], None]:
        append = chronicle_append(store, 1, prefix=f"check{index}")

        def op() -> None:
            recorded = append()
            with appended_lock:
                appended.extend(event.event_id for event in recorded)

        return op

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        concurrent_throughput([recording(i) for i in range(writers)], seconds, 1)
    finally:
        done.set()
        follower.join()
    missing = len(set(appended) - set(seen))
    duplicates = len(seen) - len(set(seen))
    verdict = "gap-free" if missing == 0 and duplicates == 0 else "NOT gap-free"
    return (
        f"read_all {verdict}: a follower saw {len(set(seen)):,} of {len(appended):,} events "
        f"appended by {writers} writers ({missing} missing, {duplicates} duplicates)"
    )


def build(site: Site, scale: Scale) -> list[Benchmark]:
    writers = scale.writers
    seconds = scale.seconds
    store, _ = chronicle_store(site, "writers")
    raw_connections = []
    shared_lock = threading.Lock()
    if site.backend == "postgresql":
        first, place = raw_connection(site, "writers")
        raw_connections = [first] + [place.raw_connect() for _ in range(writers - 1)]
        raw_ops = [
            raw_append(conn, site.backend, 1, prefix=f"w{i}")
            for i, conn in enumerate(raw_connections)
        ]
    else:
        conn, _ = raw_connection(site, "writers")
        raw_connections = [conn]
        raw_ops = [
            raw_append(conn, site.backend, 1, prefix=f"w{i}", lock=shared_lock)
            for i in range(writers)
        ]
    app, _ = peer_app(site, "writers")
    chronicle_ops = [chronicle_append(store, 1, prefix=f"w{i}") for i in range(writers)]
    peer_ops = [peer_append(app, 1) for _ in range(writers)]

    def close_raw() -> None:
        for conn in raw_connections:
            conn.close()

    return [
        Benchmark(
            case=3,
            key="writers8",
            title=f"append, {writers} concurrent writers, 1 event per transaction",
            backend=site.backend,
            unit="events/s",
            subjects=[
                Subject(
                    "chronicle",
                    lambda: concurrent_throughput(chronicle_ops, seconds, 1),
                    store.close,
                ),
                Subject("raw", lambda: concurrent_throughput(raw_ops, seconds, 1), close_raw),
                Subject("peer", lambda: concurrent_throughput(peer_ops, seconds, 1), app.close),
            ],
            check=lambda: _gap_free_check(store, writers, seconds),
        )
    ]


CASE = Case(3, "concurrent-writers", "append, 8 concurrent writers", build)
