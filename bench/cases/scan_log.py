"""Case 6: read the whole log in commit order, decoded into events.

Chronicle pages through ``read_all`` (on PostgreSQL in ``(transaction_id, position)`` order below
the oldest event writer still running); the raw driver pages through the same rows by position; the peer
reads its notification log and maps each notification to its domain event.
"""

from __future__ import annotations

from typing import Any

from bench import fill, payload
from bench.aio import AsyncContender
from bench.cases import Case, Scale
from bench.contenders import chronicle_store, peer_app
from bench.harness import Benchmark, Subject, speed_of
from bench.peer import Message, events_table
from bench.places import Site
from bench.reads import scan_log
from chronicle import EventStore
from chronicle.store.aio import AsyncEventStore


def _chronicle_scan(store: EventStore, page: int) -> int:
    after: int | None = None
    count = 0
    while events := store.read_all(after=after, limit=page):
        count += len(events)
        after = events[-1].position
    return count


async def _async_scan(store: AsyncEventStore, page: int) -> int:
    after: int | None = None
    count = 0
    while events := await store.read_all(after=after, limit=page):
        count += len(events)
        after = events[-1].position
    return count


def _peer_scan(app: Any, page: int) -> int:
    start, count = 1, 0
    to_event = app.mapper.to_domain_event
    while notifications := app.recorder.select_notifications(start, page):
        events = [to_event(notification) for notification in notifications]
        count += len(events)
        start = notifications[-1].id + 1
    return count


def build(site: Site, scale: Scale) -> list[Benchmark]:
    total, page = scale.scan_events, scale.page
    store, place = chronicle_store(site, "scan")
    store.append(
        "scan-0",
        [payload.new_event()],
        expected_version=0,
        aggregate_type=payload.AGGREGATE_TYPE,
        user_id=payload.USER_ID,
    )
    conn = place.raw_connect()  # the raw driver reads Chronicle's own rows
    fill.copy_chronicle_aggregates(conn, site.backend, total - 1)
    aio = AsyncContender(place.chronicle_url)  # the same rows, through the async API

    app, peer_place = peer_app(site, "scan")
    app.save(Message(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata()))
    with_peer = peer_place.raw_connect()
    fill.copy_peer_aggregates(with_peer, site.backend, events_table(app), total - 1)
    for filled in (conn, with_peer):
        filled.execute("ANALYZE")
    with_peer.close()

    return [
        Benchmark(
            case=6,
            key="scan",
            title=f"read the whole log in commit order ({total:,} events), decoded",
            backend=site.backend,
            unit="events/s",
            subjects=[
                Subject(
                    "chronicle", speed_of(lambda: _chronicle_scan(store, page), total), store.close
                ),
                Subject(
                    "async", aio.speed_of(lambda: _async_scan(aio.store, page), total), aio.close
                ),
                Subject(
                    "raw", speed_of(lambda: scan_log(conn, site.backend, page), total), conn.close
                ),
                Subject("peer", speed_of(lambda: _peer_scan(app, page), total), app.close),
            ],
            # A quick run has time for one pass per contender; a full run repeats as asked.
            repeat=1 if scale.quick else None,
            notes=["quick run: one pass per contender"] if scale.quick else [],
        )
    ]


CASE = Case(6, "scan-log", "read the whole log in commit order", build)
