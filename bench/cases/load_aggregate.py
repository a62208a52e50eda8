"""Case 4: load one aggregate with 100 and with 100,000 events, with and without snapshots.

- Chronicle: the chat ``Message`` aggregate through ``chronicle.repository``: a repository from
  ``chronicle.bootstrap.open_repository`` (newest valid snapshot, then the tail) and, without
  snapshots, ``load_aggregate(..., use_snapshots=False)`` (every event upcast and applied).
- raw: plain SELECTs of the snapshot row and the tail, folded into a dict.
- peer: its repository, with and without its snapshotting.

Every contender's snapshot sits ``TAIL`` events behind the head, as it would with a snapshot
every 100 events. The long histories are copies of one stored event made inside the database
(``bench.fill``), so their hashes are not a valid chain: loading does not verify them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from bench import fill, payload
from bench.cases import Case, Scale
from bench.contenders import peer_app, raw_connection
from bench.harness import Benchmark, Subject, duration_ms
from bench.peer import Message, events_table
from bench.places import Site
from bench.reads import load_state
from chronicle import EventStore, NewEvent, open_store
from chronicle.bootstrap import open_repository
from chronicle.chat.domain import Message as ChatMessage
from chronicle.chat.domain import chat_events
from chronicle.chat.domain.events import MessageCreated, MessageUpdated
from chronicle.chat.wiring import snapshot_replay
from chronicle.integrity import Sealer
from chronicle.integrity.attestation import SnapshotAttestor
from chronicle.repository import load_aggregate
from chronicle.store.records import Snapshot

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

    # Chronicle: a chat message created, then edited up to ``size`` events, and a snapshot.
    store, chronicle_load = _chronicle(site, size, snapshot_version)

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

        subjects = [
            Subject("chronicle", chronicle_load(with_snapshot)),
            Subject("raw", raw_load),
            Subject("peer", peer_load),
        ]
        benchmarks.append(
            Benchmark(
                case=4,
                key=f"load{size}{'-snapshot' if with_snapshot else ''}",
                title=f"load one aggregate of {size:,} events, "
                + (f"from a snapshot {TAIL} events behind" if with_snapshot else "no snapshot"),
                backend=site.backend,
                unit="ms",
                subjects=subjects,
                notes=["Chronicle: chat Message aggregate (upcast + apply per event)"],
            )
        )
    # The connections are shared by both benchmarks; the last one closes them.
    benchmarks[-1].subjects[0].close = store.close
    benchmarks[-1].subjects[1].close = conn.close

    def close_peer() -> None:
        plain.close()
        snapshotting.close()

    benchmarks[-1].subjects[2].close = close_peer
    return benchmarks


def _chronicle(
    site: Site, size: int, snapshot_version: int
) -> tuple[EventStore, Callable[[bool], Callable[[], float]]]:
    """Chronicle's store holding one ``size``-event message and a snapshot at ``snapshot_version``.

    Returns the store and, for "with snapshot" or not, a measurement loading it.
    """
    place = site.place(f"load{size}_chronicle")
    store = open_store(place.chronicle_url)
    aggregate_id = "message_load"
    to_new = chat_events.to_new_event
    created = MessageCreated(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE)
    store.append(
        aggregate_id,
        [
            to_new(created, metadata=payload.metadata()),
            to_new(MessageUpdated(payload.CONTENT[::-1]), metadata=payload.metadata()),
        ],
        expected_version=0,
        aggregate_type=ChatMessage.aggregate_type,
        user_id=payload.USER_ID,
    )
    conn = place.raw_connect()
    try:
        fill.extend_chronicle_aggregate(conn, site.backend, aggregate_id, size)
    finally:
        conn.close()
    repository = open_repository(store, ChatMessage)
    at = load_aggregate(store, ChatMessage, aggregate_id, to_version=snapshot_version)
    repository.save_snapshot(at)
    # Loads use a snapshot only once it is attested (replayed and found equal, under a seal),
    # as the worker does in a running system: seal, then attest.
    Sealer(store).run_once()
    attested = SnapshotAttestor(store, snapshot_replay(store)).run_once()
    if not attested.attested:
        raise RuntimeError(f"the bench's snapshot was not attested: {attested}")

    def measurement(with_snapshot: bool) -> Callable[[], float]:
        def load() -> None:
            if with_snapshot:
                message = repository.load(aggregate_id)
            else:
                message = load_aggregate(store, ChatMessage, aggregate_id, use_snapshots=False)
            _expect(message.version, size)

        return lambda: duration_ms(load)

    return store, measurement


def _expect(seen: int, size: int) -> None:
    if seen != size:
        raise RuntimeError(f"loaded {seen} events, expected {size}")


CASE = Case(4, "load-aggregate", "load one aggregate, with and without snapshots", build)
