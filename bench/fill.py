"""Filling logs fast: one real event written by its contender, then copied inside the database.

Writing a million events through each contender would take longer than measuring them; the read
cases only need the stored rows to be what the contender itself writes. So each contender stores
one event through its own API, and the database copies that row under fresh ids (and versions).
Copied rows carry the template's integrity hash: the read cases do not verify hashes.
"""

from __future__ import annotations

from typing import Any

_CHUNK = 100_000
_CHRONICLE_COLUMNS = (
    "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, partition, "
    "timestamp, user_id, data, metadata, hash"
)
# A random UUID in SQLite: every randomblob() call is fresh, so each group is random.
_SQLITE_UUID = (
    "lower(substr(hex(randomblob(4)), 1, 8) || '-' || substr(hex(randomblob(2)), 1, 4) || '-4' "
    "|| substr(hex(randomblob(2)), 1, 3) || '-a' || substr(hex(randomblob(2)), 1, 3) || '-' "
    "|| substr(hex(randomblob(6)), 1, 12))"
)


def _series(backend: str, first: int, last: int) -> tuple[str, str, list[Any]]:
    """(WITH prefix, FROM item, params) producing the integers ``first..last`` as ``n``."""
    if backend == "postgresql":
        return "", "generate_series(%s::bigint, %s::bigint) AS g(n)", [first, last]
    return (
        "WITH RECURSIVE g(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM g WHERE n < ?) ",
        "g",
        [first, last],
    )


def _params(backend: str, series: list[Any], others: list[Any]) -> list[Any]:
    """Parameters in text order: SQLite's series is a WITH clause before the statement."""
    return [*others, *series] if backend == "postgresql" else [*series, *others]


def _modulo(backend: str) -> str:
    return "%%" if backend == "postgresql" else "%"  # psycopg reads a bare % as a placeholder


def _uuid(backend: str) -> str:
    return "gen_random_uuid()" if backend == "postgresql" else _SQLITE_UUID


def _peer_uuid(backend: str) -> str:
    # The peer stores UUIDs on SQLite as 32 hex digits, without dashes.
    return "gen_random_uuid()" if backend == "postgresql" else "lower(hex(randomblob(16)))"


def _chunks(first: int, last: int) -> list[tuple[int, int]]:
    return [(start, min(start + _CHUNK - 1, last)) for start in range(first, last + 1, _CHUNK)]


def _marker(backend: str) -> str:
    return "%s" if backend == "postgresql" else "?"


def copy_chronicle_aggregates(conn: Any, backend: str, count: int) -> None:
    """Add ``count`` one-event aggregates ``scan-N``, copies of the log's first event."""
    for first, last in _chunks(1, count):
        prefix, series, params = _series(backend, first, last)
        conn.execute(
            f"{prefix}INSERT INTO chronicle_events ({_CHRONICLE_COLUMNS}) "
            f"SELECT {_uuid(backend)}, 'scan-' || n, t.aggregate_type, t.event_type, 1, "
            f"t.schema_version, n {_modulo(backend)} 256, t.timestamp, t.user_id, t.data, t.metadata, t.hash "
            "FROM (SELECT * FROM chronicle_events ORDER BY position LIMIT 1) AS t, "
            f"{series}",
            params,
        )


def extend_chronicle_aggregate(conn: Any, backend: str, aggregate_id: str, last: int) -> None:
    """Copy the aggregate's last event as versions after it, up to version ``last``."""
    marker = _marker(backend)
    head = conn.execute(
        f"SELECT max(version) FROM chronicle_events WHERE aggregate_id = {marker}",
        (aggregate_id,),
    ).fetchone()[0]
    for first, stop in _chunks(head + 1, last):
        prefix, series, params = _series(backend, first, stop)
        conn.execute(
            f"{prefix}INSERT INTO chronicle_events ({_CHRONICLE_COLUMNS}) "
            f"SELECT {_uuid(backend)}, t.aggregate_id, t.aggregate_type, t.event_type, n, "
            "t.schema_version, t.partition, t.timestamp, t.user_id, t.data, t.metadata, t.hash "
            f"FROM (SELECT * FROM chronicle_events WHERE aggregate_id = {marker} "
            f"AND version = {marker}) AS t, {series}",
            _params(backend, params, [aggregate_id, head]),
        )


def copy_peer_aggregates(conn: Any, backend: str, table: str, count: int) -> None:
    """Add ``count`` one-event aggregates to the peer's table, copies of its first event."""
    for first, last in _chunks(1, count):
        prefix, series, params = _series(backend, first, last)
        conn.execute(
            f"{prefix}INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"SELECT {_peer_uuid(backend)}, 1, t.topic, t.state "
            f"FROM (SELECT * FROM {table} WHERE originator_version = 1 LIMIT 1) AS t, {series}",
            params,
        )


def extend_peer_aggregate(
    conn: Any, backend: str, table: str, originator_id: Any, last: int
) -> None:
    """Copy the aggregate's last event as versions after it, up to version ``last``."""
    marker = _marker(backend)
    head = conn.execute(
        f"SELECT max(originator_version) FROM {table} WHERE originator_id = {marker}",
        (originator_id,),
    ).fetchone()[0]
    for first, stop in _chunks(head + 1, last):
        prefix, series, params = _series(backend, first, stop)
        conn.execute(
            f"{prefix}INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT t.originator_id, n, t.topic, t.state "
            f"FROM (SELECT * FROM {table} WHERE originator_id = {marker} "
            f"AND originator_version = {marker}) AS t, {series}",
            _params(backend, params, [originator_id, head]),
        )
