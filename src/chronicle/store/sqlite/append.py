"""The SQLite append path: one write transaction, hashes chained in Python.

With one writer at a time, the head version read at the start of the transaction cannot move
before it commits, so the expected-version check and the inserts need no further locking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from chronicle.errors import ConcurrencyError, DuplicateEventError
from chronicle.events import RecordedEvent
from chronicle.store.integrity import GENESIS, chain
from chronicle.store.ports import Session
from chronicle.store.prepare import PreparedAppend, recorded_from

_INSERT = (
    "INSERT INTO chronicle_events (event_id, aggregate_id, aggregate_type, event_type, version, "
    "schema_version, partition, timestamp, user_id, data, metadata, hash) VALUES "
)
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_HEAD = (
    "SELECT version, hash FROM chronicle_events WHERE aggregate_id = ? "
    "ORDER BY version DESC LIMIT 1"
)
_KEPT_HEAD = (
    "SELECT version, hash FROM chronicle_retention_heads WHERE aggregate_id = ? "
    "ORDER BY version DESC LIMIT 1"
)
"""The head retention kept for an aggregate whose events were all archived."""
# SQLite binds at most 32,766 parameters per statement: rows of 12 go in chunks below that.
_ROWS_PER_INSERT = 2000


def append_batch(
    session: Session,
    batch: PreparedAppend,
    stored: Callable[[], list[RecordedEvent] | None],
) -> list[RecordedEvent]:
    """Append ``batch`` inside the caller's write transaction; return the recorded events.

    ``stored`` finds the batch's events when it is a retry of one already appended.
    """
    head = session.fetchone(_HEAD, (batch.aggregate_id,))
    if head is None:
        head = _kept_head(session, batch.aggregate_id)
    current, previous = (head[0], head[1]) if head else (0, GENESIS)
    expected = batch.expected_version
    if expected is None or expected != current:
        # Only a batch that does not fit the current version can be a retry.
        retried = stored()
        if retried is not None:
            return retried
        if expected is not None:
            raise ConcurrencyError(batch.aggregate_id, expected, current)
    values: list[object] = []
    positions: list[tuple[int, bytes]] = []
    version = current
    for event in batch.events:
        version += 1
        previous = chain(previous, version, event.digest)
        positions.append((version, previous))
        values += (
            event.event_id, batch.aggregate_id, batch.aggregate_type, event.event_type, version,
            event.schema_version, batch.partition, event.timestamp_text, batch.user_id,
            event.data, event.metadata, previous,
        )  # fmt: skip
    try:
        width = 12 * _ROWS_PER_INSERT
        for start in range(0, len(values), width):
            chunk = values[start : start + width]
            session.execute(_INSERT + ",".join([_ROW] * (len(chunk) // 12)), chunk)
    except sqlite3.IntegrityError as exc:
        # A unique key, or the guard that refuses an insert colliding with a stored event.
        raise DuplicateEventError(
            f"an event id of this append is already stored for {batch.aggregate_id!r}: {exc}"
        ) from exc
    row = session.fetchone("SELECT last_insert_rowid()")
    assert row is not None
    last = row[0]
    first = last - len(positions) + 1
    return recorded_from(
        batch,
        [(first + index, ver, digest) for index, (ver, digest) in enumerate(positions)],
    )


def _kept_head(session: Session, aggregate_id: str) -> tuple[int, bytes] | None:
    """The head retention kept for the aggregate; none on a schema older than retention's
    (a store opened without migrating has no such table, and no archived events either)."""
    try:
        return session.fetchone(_KEPT_HEAD, (aggregate_id,))
    except sqlite3.OperationalError as exc:
        if "no such table: chronicle_retention_heads" not in str(exc):
            raise
        return None
