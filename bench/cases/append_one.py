"""Case 1: append, one event per transaction, one writer (synchronous commit on)."""

from __future__ import annotations

from bench.cases import Case, Scale
from bench.contenders import async_contender, chronicle_store, peer_app, raw_connection
from bench.harness import Benchmark, Subject, throughput
from bench.places import Site
from bench.writers import chronicle_append, peer_append, raw_append


def append_benchmark(
    site: Site, scale: Scale, *, case: int, key: str, title: str, batch: int
) -> Benchmark:
    """One writer appending ``batch`` events per transaction, each to a new aggregate."""
    store, _ = chronicle_store(site, key)
    aio = async_contender(site, key)
    conn, _ = raw_connection(site, key)
    app, _ = peer_app(site, key)
    chronicle_op = chronicle_append(store, batch)
    async_op = chronicle_append(aio.store, batch)
    raw_op = raw_append(conn, site.backend, batch)
    peer_op = peer_append(app, batch)
    seconds = scale.seconds
    return Benchmark(
        case=case,
        key=key,
        title=title,
        backend=site.backend,
        unit="events/s",
        subjects=[
            Subject("chronicle", lambda: throughput(chronicle_op, seconds, batch), store.close),
            Subject("async", aio.throughput(async_op, seconds, batch), aio.close),
            Subject("raw", lambda: throughput(raw_op, seconds, batch), conn.close),
            Subject("peer", lambda: throughput(peer_op, seconds, batch), app.close),
        ],
    )


def build(site: Site, scale: Scale) -> list[Benchmark]:
    return [
        append_benchmark(
            site,
            scale,
            case=1,
            key="append1",
            title="append, 1 event per transaction, 1 writer",
            batch=1,
        )
    ]


CASE = Case(1, "append-one", "append, 1 event per transaction", build)
