"""The PostgreSQL append path: one round trip per append, writers on different aggregates in
parallel.

A single event goes in through one ``INSERT … SELECT`` (:data:`APPEND_ONE`) that checks the
expected version and chains the hash; a batch, or a single event whose expected version did not
match, through the server-side function ``chronicle_append``, which tells a conflict (CH409) from
a retry of a stored batch (CH200). Concurrent writers that pass the version check together are
settled by the unique ``(aggregate_id, version)`` index: the loser's transaction writes nothing.
"""

from __future__ import annotations

from typing import Any

from chronicle.errors import DuplicateKeyError
from chronicle.store.prepare import PreparedAppend

CONFLICT = "CH409"
ALREADY_STORED = "CH200"
VERSION_KEY = "chronicle_events_aggregate_version"

APPEND_BATCH = (
    "SELECT out_position, out_version, out_hash FROM chronicle_append("
    "%s, %s, %s, %s, %s::smallint, %s, %s::uuid[], %s::text[], %s::smallint[], %b::bytea[], "
    "%b::bytea[], %b::bytea[])"
)

# One event, one statement: about 1.6x the rate of calling the function (profiled in bench/), as
# PL/pgSQL's per-call overhead is the largest server-side cost of a one-event append. It inserts
# only when the head version is the expected one (or any, for None); when it inserts nothing, the
# function path runs. It runs on a pooled connection, which holds the writer lock for its whole
# session (see ``horizon``). Positional parameters (see ``single_event_params``): psycopg maps
# them without reordering a dict.
APPEND_ONE = (
    "WITH head AS ("
    "  SELECT e.version, e.hash FROM chronicle_events e WHERE e.aggregate_id = %s"
    "  ORDER BY e.version DESC LIMIT 1"
    # An aggregate whose events were all archived chains onto the head retention kept; as a
    # second operand of coalesce it is read only when the aggregate has no stored event.
    "), kept AS ("
    "  SELECT h.version, h.hash FROM chronicle_retention_heads h WHERE h.aggregate_id = %s"
    "  ORDER BY h.version DESC LIMIT 1"
    "), previous AS ("
    "  SELECT coalesce((SELECT version FROM head), (SELECT version FROM kept), 0) AS version,"
    "         coalesce((SELECT hash FROM head), (SELECT hash FROM kept),"
    "                  '\\x" + "00" * 32 + "'::bytea) AS hash"
    ") "
    "INSERT INTO chronicle_events AS e (event_id, aggregate_id, aggregate_type, event_type, "
    "version, schema_version, partition, timestamp, user_id, data, metadata, hash) "
    "SELECT %s::uuid, %s, %s, %s, p.version + 1, %s::smallint, %s::smallint, %s, %s, %s, %s, "
    "chronicle_chain(p.hash, p.version + 1, %s::bytea) "
    "FROM previous p WHERE %s::bigint IS NULL OR p.version = %s::bigint "
    "RETURNING e.position, e.version, e.hash"
)


def single_event_params(batch: PreparedAppend) -> tuple[Any, ...]:
    """``APPEND_ONE``'s parameters, in the order of its placeholders."""
    event = batch.events[0]
    expected = batch.expected_version
    return (
        batch.aggregate_id,
        batch.aggregate_id,
        event.event_id,
        batch.aggregate_id,
        batch.aggregate_type,
        event.event_type,
        event.schema_version,
        batch.partition,
        event.timestamp,
        batch.user_id,
        event.data,
        event.metadata,
        event.digest,
        expected,
        expected,
    )


def batch_params(batch: PreparedAppend) -> tuple[Any, ...]:
    """``chronicle_append``'s parameters (built only when a batch, or a mismatch, needs it)."""
    events = batch.events
    return (
        batch.aggregate_id,
        batch.aggregate_type,
        batch.expected_version,
        batch.user_id,
        batch.partition,
        events[0].timestamp,
        [event.event_id for event in events],
        [event.event_type for event in events],
        [event.schema_version for event in events],
        [event.data for event in events],
        [event.metadata for event in events],
        [event.digest for event in events],
    )


def run_append(cursor: Any, batch: PreparedAppend) -> list[tuple[int, int, bytes]]:
    """Insert ``batch`` with ``cursor``; return each event's (position, version, hash) in order."""
    rows: list[Any] = []
    if len(batch.events) == 1:
        cursor.execute(APPEND_ONE, single_event_params(batch))
        rows = cursor.fetchall()
    if not rows:
        cursor.execute(APPEND_BATCH, batch_params(batch))
        rows = cursor.fetchall()
    return sorted(((row[0], row[1], row[2]) for row in rows), key=lambda row: row[1])


STORED = "stored"
"""The batch's event ids are stored already: this append is a retry; read them back."""
RACED = "raced"
"""Another writer took the next version first (a retry may be racing its own first attempt)."""


def settle(exc: Exception) -> str | int | None:
    """What a failed append means, for the sync and the async driver alike: :data:`STORED`,
    :data:`RACED`, the aggregate's actual version (an expected version that did not match), or
    None (a failure of another kind, to be raised as it is)."""
    if isinstance(exc, DuplicateKeyError):
        return RACED if exc.constraint == VERSION_KEY else STORED
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == CONFLICT:
        return int(exc.diag.message_primary or 0)  # type: ignore[attr-defined]
    if sqlstate == ALREADY_STORED:
        return STORED
    return None


async def run_append_async(cursor: Any, batch: PreparedAppend) -> list[tuple[int, int, bytes]]:
    """:func:`run_append` on an async cursor: the same statements, the same parameters."""
    rows: list[Any] = []
    if len(batch.events) == 1:
        await cursor.execute(APPEND_ONE, single_event_params(batch))
        rows = await cursor.fetchall()
    if not rows:
        await cursor.execute(APPEND_BATCH, batch_params(batch))
        rows = await cursor.fetchall()
    return sorted(((row[0], row[1], row[2]) for row in rows), key=lambda row: row[1])
