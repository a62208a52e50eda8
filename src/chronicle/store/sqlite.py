"""The embedded SQLite event store (the default).

SQLite allows one writer at a time, so the rowid order of events is their commit order and
``read_all`` is gap-free by construction. Within a process, writers queue on a lock in front of a
single write connection (cheaper than letting SQLite's busy handler sleep); across processes,
``BEGIN IMMEDIATE`` and a busy timeout serialise them. WAL mode lets readers proceed during writes.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chronicle.errors import (
    ConcurrencyError,
    ConfigurationError,
    DuplicateEventError,
    ImmutableEventError,
    SchemaVersionError,
    SealConflictError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from chronicle.events import NewEvent, RecordedEvent
from chronicle.store import sqlite_schema
from chronicle.store.codec import canonical_object, decode
from chronicle.store.integrity import GENESIS, chain, format_timestamp
from chronicle.store.prepare import (
    PreparedAppend,
    check_name,
    check_version,
    matching_retry,
    prepare_append,
)
from chronicle.store.protocol import InlineHandler, Seal, Snapshot, StoreStats
from chronicle.store.queries import check_instant, check_limit, search_conditions
from chronicle.store.session import Session, SQLiteSession
from chronicle.store.wakeup import SQLiteWakeup, Wakeup

_COLUMNS = (
    "position, event_id, aggregate_id, aggregate_type, event_type, version, timestamp, "
    "user_id, data, metadata, schema_version, partition, hash"
)
_SEAL_COLUMNS = "number, position, event_count, head, last_hash, sealed_at, public_key, signature"
_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}


def path_from_url(url: str) -> str:
    """The file of ``sqlite:///relative/path`` or ``sqlite:////absolute/path``.

    In-memory databases are refused: each connection would see a database of its own, and an
    audit trail that vanishes with the process is not one.
    """
    if not url.startswith("sqlite:///"):
        raise ConfigurationError("EVENT_STORE_URL", f"not a SQLite URL (sqlite:///path): {url!r}")
    path = url.removeprefix("sqlite:///")
    if path in ("", ":memory:") or path.startswith("file::memory:"):
        raise ConfigurationError(
            "EVENT_STORE_URL", "an in-memory SQLite store is not supported; give a file path"
        )
    return path


def _row_to_event(row: tuple[Any, ...]) -> RecordedEvent:
    return RecordedEvent(
        position=row[0],
        event_id=row[1],
        aggregate_id=row[2],
        aggregate_type=row[3],
        event_type=row[4],
        version=row[5],
        timestamp=datetime.fromisoformat(row[6]),
        user_id=row[7],
        data=decode(row[8]),
        metadata=decode(row[9]),
        schema_version=row[10],
        partition=row[11],
        hash=row[12],
    )


def _row_to_seal(row: tuple[Any, ...]) -> Seal:
    return Seal(
        number=row[0],
        position=row[1],
        event_count=row[2],
        head=row[3],
        last_hash=row[4],
        sealed_at=datetime.fromisoformat(row[5]),
        public_key=row[6],
        signature=row[7],
    )


class _Reader:
    """A thread's read connection; closed when the thread (and so this object) goes away."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        with suppress(sqlite3.Error):
            self.conn.close()


class SQLiteEventStore:
    """Event store in one SQLite file. Safe for many threads and several processes."""

    backend = "sqlite"

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 30_000,
        max_event_bytes: int = 1024 * 1024,
        migrate: bool = True,
    ) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}")
        self.url = url
        self.path = path_from_url(url)
        self._synchronous = synchronous.upper()
        self._busy_timeout_ms = busy_timeout_ms
        self._max_event_bytes = max_event_bytes
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(
                f"cannot create the folder of the SQLite store {self.path!r}: {exc}"
            ) from exc
        self._writer = self._connect()
        if migrate:
            self.migrate()

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError("the store is closed")
        reader = getattr(self._local, "reader", None)
        if reader is None:
            # Held by the thread alone: when the thread ends, the connection closes with it.
            reader = _Reader(self._connect())
            self._local.reader = reader
            with self._readers_lock:
                self._readers.add(reader)
        return reader.conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the single writer connection."""
        if self._closed:
            raise StoreUnavailableError("the store is closed")
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreUnavailableError(
                    f"cannot start a write on {self.path!r}: {exc}"
                ) from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction on the store's database (for read models and their checkpoints)."""
        with self._write() as conn:
            yield SQLiteSession(conn)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """This thread's reader connection: WAL lets it read while the writer writes."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield SQLiteSession(conn)
        finally:
            conn.execute("ROLLBACK")

    def open_wakeup(self) -> Wakeup:
        """A waiter woken soon after any connection commits (``PRAGMA data_version``)."""
        return SQLiteWakeup(self.path)

    def close(self) -> None:
        self._closed = True
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            for reader in list(self._readers):
                reader.conn.close()
            self._readers.clear()

    # -- schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        conn = self._reader()
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chronicle_schema'"
        ).fetchone()
        if not exists:
            return 0
        row = conn.execute("SELECT max(version) FROM chronicle_schema").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> int:
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS chronicle_schema "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            current = conn.execute("SELECT max(version) FROM chronicle_schema").fetchone()[0] or 0
            if current > sqlite_schema.LATEST:
                raise SchemaVersionError(
                    f"the store has schema version {current}; this Chronicle knows up to "
                    f"{sqlite_schema.LATEST}: upgrade Chronicle"
                )
            for version, script in sqlite_schema.MIGRATIONS:
                if version <= current:
                    continue
                for statement in _split_script(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO chronicle_schema (version, applied_at) VALUES (?, datetime('now'))",
                    (version,),
                )
                current = version
        return current

    # -- append ------------------------------------------------------------------------------

    def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
        inline: InlineHandler | None = None,
    ) -> list[RecordedEvent]:
        batch = prepare_append(
            aggregate_id,
            events,
            expected_version=expected_version,
            aggregate_type=aggregate_type,
            user_id=user_id,
            max_event_bytes=self._max_event_bytes,
        )
        with self._write() as conn:
            head = conn.execute(
                "SELECT version, hash FROM chronicle_events WHERE aggregate_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (aggregate_id,),
            ).fetchone()
            current, previous = (head[0], head[1]) if head else (0, GENESIS)
            if expected_version is None or expected_version != current:
                # Only a batch that does not fit the current version can be a retry.
                stored = self._already_stored(conn, batch)
                if stored is not None:
                    return stored
                if expected_version is not None:
                    raise ConcurrencyError(aggregate_id, expected_version, current)
            rows = []
            version = current
            for event in batch.events:
                version += 1
                previous = chain(previous, version, event.digest)
                rows.append(
                    (
                        event.event_id,
                        aggregate_id,
                        aggregate_type,
                        event.event_type,
                        version,
                        event.schema_version,
                        batch.partition,
                        event.timestamp_text,
                        user_id,
                        event.data,
                        event.metadata,
                        previous,
                    )
                )
            try:
                cursor = conn.executemany(
                    "INSERT INTO chronicle_events (event_id, aggregate_id, aggregate_type, "
                    "event_type, version, schema_version, partition, timestamp, user_id, data, "
                    "metadata, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateEventError(
                    f"an event id of this append is already stored for {aggregate_id!r}: {exc}"
                ) from exc
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            del cursor
            first = last - len(rows) + 1
            recorded = [
                RecordedEvent(
                    event_id=event.event_id,
                    aggregate_id=aggregate_id,
                    aggregate_type=aggregate_type,
                    event_type=event.event_type,
                    version=row[4],
                    position=first + index,
                    timestamp=event.timestamp,
                    user_id=user_id,
                    data=decode(event.data),
                    metadata=decode(event.metadata),
                    schema_version=event.schema_version,
                    partition=batch.partition,
                    hash=row[11],
                )
                for index, (event, row) in enumerate(zip(batch.events, rows, strict=True))
            ]
            if inline is not None:
                inline(SQLiteSession(conn), recorded)
        return recorded

    def _already_stored(
        self, conn: sqlite3.Connection, batch: PreparedAppend
    ) -> list[RecordedEvent] | None:
        """The stored events when this batch is a retry of one already appended, else None."""
        ids = [event.event_id for event in batch.events]
        placeholders = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM chronicle_events WHERE aggregate_id = ? "
            f"AND event_id IN ({placeholders}) ORDER BY version",
            (batch.aggregate_id, *ids),
        ).fetchall()
        if not rows:
            return None
        return matching_retry(batch, [_row_to_event(row) for row in rows])

    # -- reads -------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[RecordedEvent]:
        rows = self._reader().execute(sql, params).fetchall()
        return [_row_to_event(row) for row in rows]

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        check_name(aggregate_id, "aggregate_id")
        check_version(from_version, "from_version", allow_none=False)
        check_version(to_version, "to_version", allow_none=True)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE aggregate_id = ? AND version >= ?"
        params: list[Any] = [aggregate_id, from_version]
        if to_version is not None:
            sql += " AND version <= ?"
            params.append(to_version)
        return self._query(sql + " ORDER BY version", params)

    def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        check_name(event_type, "event_type")
        check_limit(limit)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE event_type = ?"
        params: list[Any] = [event_type]
        if since is not None:
            sql += " AND timestamp >= ?"
            params.append(format_timestamp(check_instant(since, "since")))
        return self._query(sql + " ORDER BY position DESC LIMIT ?", [*params, limit])

    def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        check_version(offset, "offset", allow_none=False)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE 1 = 1"
        params: list[Any] = []
        if since is not None:
            sql += " AND timestamp >= ?"
            params.append(format_timestamp(check_instant(since, "since")))
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(format_timestamp(check_instant(until, "until")))
        return self._query(sql + " ORDER BY position LIMIT ? OFFSET ?", [*params, limit, offset])

    def get_aggregate_version(self, aggregate_id: str) -> int:
        check_name(aggregate_id, "aggregate_id")
        row = (
            self._reader()
            .execute(
                "SELECT max(version) FROM chronicle_events WHERE aggregate_id = ?", (aggregate_id,)
            )
            .fetchone()
        )
        return int(row[0] or 0)

    def get_event_count(self, aggregate_id: str | None = None) -> int:
        if aggregate_id is None:
            row = self._reader().execute("SELECT count(*) FROM chronicle_events").fetchone()
        else:
            check_name(aggregate_id, "aggregate_id")
            row = (
                self._reader()
                .execute(
                    "SELECT count(*) FROM chronicle_events WHERE aggregate_id = ?", (aggregate_id,)
                )
                .fetchone()
            )
        return int(row[0])

    def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        check_version(after, "after", allow_none=True)
        check_limit(limit)
        return self._query(
            f"SELECT {_COLUMNS} FROM chronicle_events WHERE position > ? ORDER BY position LIMIT ?",
            (after or 0, limit),
        )

    def search_events(
        self,
        *,
        user_id: str | None = None,
        aggregate_type: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        check_version(after, "after", allow_none=True)
        check_limit(limit)
        filters, params = search_conditions(
            user_id=user_id,
            aggregate_type=aggregate_type,
            event_type=event_type,
            since=since,
            until=until,
            placeholder="?",
            instant=format_timestamp,
        )
        return self._query(
            f"SELECT {_COLUMNS} FROM chronicle_events WHERE position > ?{filters} "
            "ORDER BY position LIMIT ?",
            [after or 0, *params, limit],
        )

    def read_visible(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        # One writer at a time: everything committed is already in commit order.
        return self.read_all(after, limit)

    def lag(self, after: int | None) -> tuple[int, float]:
        check_version(after, "after", allow_none=True)
        count, oldest = (
            self._reader()
            .execute(
                "SELECT count(*), min(timestamp) FROM chronicle_events WHERE position > ?",
                (after or 0,),
            )
            .fetchone()
        )
        return int(count), _seconds_since(oldest and datetime.fromisoformat(oldest))

    # -- snapshots ---------------------------------------------------------------------------

    def save_snapshot(self, snapshot: Snapshot) -> None:
        state = canonical_object(snapshot.state, "snapshot state")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO chronicle_snapshots (aggregate_id, version, aggregate_type, "
                "state_schema_version, state, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (aggregate_id, version) DO NOTHING",
                (
                    snapshot.aggregate_id,
                    snapshot.version,
                    snapshot.aggregate_type,
                    snapshot.state_schema_version,
                    state,
                    format_timestamp(datetime.now().astimezone()),
                ),
            )

    def load_snapshot(self, aggregate_id: str, max_version: int | None = None) -> Snapshot | None:
        check_name(aggregate_id, "aggregate_id")
        sql = (
            "SELECT aggregate_id, aggregate_type, version, state_schema_version, state, created_at "
            "FROM chronicle_snapshots WHERE aggregate_id = ?"
        )
        params: list[Any] = [aggregate_id]
        if max_version is not None:
            sql += " AND version <= ?"
            params.append(max_version)
        row = self._reader().execute(sql + " ORDER BY version DESC LIMIT 1", params).fetchone()
        if row is None:
            return None
        return Snapshot(
            aggregate_id=row[0],
            aggregate_type=row[1],
            version=row[2],
            state_schema_version=row[3],
            state=decode(row[4]),
            created_at=datetime.fromisoformat(row[5]),
        )

    # -- checkpoints -------------------------------------------------------------------------

    def get_checkpoint(self, name: str) -> int | None:
        check_name(name, "checkpoint name")
        row = (
            self._reader()
            .execute("SELECT position FROM chronicle_checkpoints WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else int(row[0])

    def set_checkpoint(self, name: str, position: int) -> None:
        check_name(name, "checkpoint name")
        check_version(position, "position", allow_none=False)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO chronicle_checkpoints (name, position, updated_at) "
                "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
                "updated_at = excluded.updated_at",
                (name, position),
            )

    # -- seals -------------------------------------------------------------------------------

    def append_seal(self, seal: Seal) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO chronicle_seals (number, position, event_count, head, last_hash, "
                    "sealed_at, public_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        seal.number,
                        seal.position,
                        seal.event_count,
                        seal.head,
                        seal.last_hash,
                        format_timestamp(check_instant(seal.sealed_at, "sealed_at")),
                        seal.public_key,
                        seal.signature,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise SealConflictError(f"seal {seal.number} is already recorded: {exc}") from exc

    def get_seals(self, after: int = 0, limit: int = 1000) -> list[Seal]:
        check_version(after, "after", allow_none=False)
        check_limit(limit)
        rows = (
            self._reader()
            .execute(
                f"SELECT {_SEAL_COLUMNS} FROM chronicle_seals WHERE number > ? "
                "ORDER BY number LIMIT ?",
                (after, limit),
            )
            .fetchall()
        )
        return [_row_to_seal(row) for row in rows]

    def latest_seal(self) -> Seal | None:
        row = (
            self._reader()
            .execute(f"SELECT {_SEAL_COLUMNS} FROM chronicle_seals ORDER BY number DESC LIMIT 1")
            .fetchone()
        )
        return None if row is None else _row_to_seal(row)

    def create_app_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError(
            "SQLite has no roles or grants: whoever can write the database file can change it. "
            "The guard triggers refuse UPDATE and DELETE of events, and `chronicle verify` "
            "detects any change; protect the file with file-system permissions."
        )

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        conn = self._reader()
        total, aggregates, oldest, newest = conn.execute(
            "SELECT count(*), count(DISTINCT aggregate_id), min(timestamp), max(timestamp) "
            "FROM chronicle_events"
        ).fetchone()
        by_type = dict(
            conn.execute(
                "SELECT aggregate_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        by_event = dict(
            conn.execute(
                "SELECT event_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        size = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(self.path + suffix)
            if candidate.exists():
                size += candidate.stat().st_size
        return StoreStats(
            backend=self.backend,
            total_events=total,
            aggregates=aggregates,
            by_aggregate_type=by_type,
            by_event_type=by_event,
            oldest_event=datetime.fromisoformat(oldest) if oldest else None,
            newest_event=datetime.fromisoformat(newest) if newest else None,
            size_bytes=size,
            schema_version=self.schema_version(),
        )

    # -- raw access for maintenance and tests ------------------------------------------------

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction, translating immutability refusals."""
        try:
            with self._write() as conn:
                return conn.execute(sql, params).fetchall()
        except sqlite3.IntegrityError as exc:
            if "immutable" in str(exc):
                raise ImmutableEventError(str(exc)) from exc
            raise


def _seconds_since(instant: datetime | None) -> float:
    if instant is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - instant).total_seconds())


def _split_script(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
