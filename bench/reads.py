"""Reading as the raw driver does it: plain SELECTs, JSON decoded with orjson, rows as tuples.

Same columns as Chronicle reads, the JSON of ``data`` and ``metadata`` decoded, nothing else
converted: the decode-limited floor for these reads.
"""

from __future__ import annotations

from typing import Any

import orjson

COLUMNS = (
    "position, event_id{cast}, aggregate_id, aggregate_type, event_type, version, timestamp, "
    "user_id, data, metadata, schema_version, partition, hash"
)


def _columns(backend: str) -> str:
    return COLUMNS.format(cast="::text" if backend == "postgresql" else "")


def _rows(conn: Any, backend: str, sql: str, params: list[Any]) -> list[Any]:
    if backend == "postgresql":
        with conn.cursor(binary=True) as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    return conn.execute(sql.replace("%s", "?"), params).fetchall()


def _decoded(rows: list[Any]) -> list[tuple[Any, ...]]:
    loads = orjson.loads
    return [(*row[:8], loads(row[8]), loads(row[9]), *row[10:]) for row in rows]


def aggregate_events(conn: Any, backend: str, aggregate_id: str) -> list[tuple[Any, ...]]:
    sql = (
        f"SELECT {_columns(backend)} FROM chronicle_events WHERE aggregate_id = %s ORDER BY version"
    )
    return _decoded(_rows(conn, backend, sql, [aggregate_id]))


def scan_log(conn: Any, backend: str, page: int) -> int:
    """Read the whole log in position order, page by page (keyset); return the event count."""
    sql = (
        f"SELECT {_columns(backend)} FROM chronicle_events WHERE position > %s "
        "ORDER BY position LIMIT %s"
    )
    after, count = 0, 0
    while events := _decoded(_rows(conn, backend, sql, [after, page])):
        count += len(events)
        after = events[-1][0]
    return count


def load_state(conn: Any, backend: str, aggregate_id: str, *, snapshot: bool) -> dict[str, Any]:
    """Fold an aggregate's events into its state, from the newest snapshot when asked."""
    state: dict[str, Any] = {"content": None, "events_seen": 0}
    after = 0
    if snapshot:
        rows = _rows(
            conn,
            backend,
            "SELECT version, state FROM chronicle_snapshots WHERE aggregate_id = %s "
            "ORDER BY version DESC LIMIT 1",
            [aggregate_id],
        )
        if rows:
            after, state = rows[0][0], orjson.loads(rows[0][1])
    rows = _rows(
        conn,
        backend,
        "SELECT data FROM chronicle_events WHERE aggregate_id = %s AND version > %s "
        "ORDER BY version",
        [aggregate_id, after],
    )
    loads = orjson.loads
    for row in rows:
        data = loads(row[0])
        state["content"] = data["content"]
        state["events_seen"] += 1
    return state
