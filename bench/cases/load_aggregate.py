"""Case 4: load one aggregate with 100 and with 100,000 events, with and without snapshots.

Loading an aggregate (state from a snapshot plus the events after it) needs Chronicle's domain
layer (aggregate base and repository), which lands with the domain issue. Until then this case
measures the raw driver and the peer only; Chronicle plugs in as one more ``Subject`` built in
``_subjects`` (marked below) on the same data shape: the snapshot sits ``TAIL`` events behind
the head, as it would with a snapshot every 100 events.
"""

from __future__ import annotations

import uuid

from bench import fill, payload
from bench.cases import Case, Scale
from bench.contenders import peer_app, raw_connection
from bench.harness import Benchmark, Subject, duration_ms
from bench.peer import Message, events_table
from bench.places import Site
from bench.reads import load_state
from chronicle import NewEvent, open_store
from chronicle.store.protocol import Snapshot

TAIL = 50
SMALL = 100


def build(site: Site, scale: Scale) -> list[Benchmark]:
    benchmarks = []
    for size in (SMALL, scale.big_aggregate):
        benchmarks += _benchmarks(site, size)
    return benchmarks


def _benchmarks(site: Site, size: int) -> list[Benchmark]:
    snapshot_version = size - TAIL
    aggregate_id = "conversation-1"

    # raw: Chronicle's tables filled with copies of one event, plus one snapshot row.
    conn, raw_place = raw_connection(site, f"load{size}")
    writer = open_store(raw_place.chronicle_url)
    writer.append(
        aggregate_id,
        [NewEvent(payload.EVENT_TYPE, payload.data(), payload.metadata())],
        expected_version=0,
        aggregate_type=payload.AGGREGATE_TYPE,
        user_id=payload.USER_ID,
    )
    fill.extend_chronicle_aggregate(conn, site.backend, aggregate_id, size)
    writer.save_snapshot(
        Snapshot(
            aggregate_id,
            payload.AGGREGATE_TYPE,
            snapshot_version,
            1,
            {"content": payload.CONTENT, "events_seen": snapshot_version},
        )
    )
    writer.close()

    # peer: its own aggregate, extended by copies of its second event, and its own snapshot.
    plain, peer_place = peer_app(site, f"load{size}")
    message = Message(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata())
    message.note(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata())
    plain.save(message)
    peer_conn = peer_place.raw_connect()
    originator = message.id if site.backend == "postgresql" else message.id.hex
    fill.extend_peer_aggregate(peer_conn, site.backend, events_table(plain), originator, size)
    peer_conn.close()
    snapshotting, _ = peer_app(site, f"load{size}", snapshots=True, place=peer_place)
    snapshotting.take_snapshot(message.id, version=snapshot_version)
    peer_id: uuid.UUID = message.id

    benchmarks = []
    for with_snapshot in (False, True):
        app = snapshotting if with_snapshot else plain

        def raw_load(with_snapshot: bool = with_snapshot) -> float:
            return duration_ms(
                lambda: _expect(
                    load_state(conn, site.backend, aggregate_id, snapshot=with_snapshot)[
                        "events_seen"
                    ],
                    size,
                )
            )

        def peer_load(app: object = app) -> float:
            return duration_ms(lambda: _expect(app.repository.get(peer_id).events_seen, size))  # type: ignore[attr-defined]

        subjects = [Subject("raw", raw_load), Subject("peer", peer_load)]
        # Plug point: Subject("chronicle", ...) loading through Chronicle's repository.
        benchmarks.append(
            Benchmark(
                case=4,
                key=f"load{size}{'-snapshot' if with_snapshot else ''}",
                title=f"load one aggregate of {size:,} events, "
                + (f"from a snapshot {TAIL} events behind" if with_snapshot else "no snapshot"),
                backend=site.backend,
                unit="ms",
                subjects=subjects,
                notes=[
                    "Chronicle: needs the domain layer (aggregate + repository), not landed yet"
                ],
            )
        )
    # The connections are shared by both benchmarks; the last one closes them.
    benchmarks[-1].subjects[0].close = conn.close

    def close_peer() -> None:
        plain.close()
        snapshotting.close()

    benchmarks[-1].subjects[1].close = close_peer
    return benchmarks


def _expect(seen: int, size: int) -> None:
    if seen != size:
        raise RuntimeError(f"loaded {seen} events, expected {size}")


CASE = Case(4, "load-aggregate", "load one aggregate, with and without snapshots", build)
