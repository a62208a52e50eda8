"""The PostgreSQL event store (production).

Connections come from a ``psycopg_pool`` pool in autocommit mode, so an append is one round trip
in its own transaction: a single event goes in through one ``INSERT … SELECT`` that checks the
expected version and chains the hash (``_APPEND_ONE``); a batch through the server-side function
``chronicle_append(…)``. ``read_all`` walks the log in ``(transaction_id, position)`` order below
``pg_snapshot_xmin``: see ``postgres_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from chronicle.errors import (
    ConcurrencyError,
    ConfigurationError,
    ImmutableEventError,
    InvalidEventError,
    SchemaVersionError,
    SealConflictError,
    StoreUnavailableError,
)
from chronicle.events import NewEvent, RecordedEvent
from chronicle.store import postgres_schema
from chronicle.store.codec import canonical_object, decode
from chronicle.store.prepare import (
    PreparedAppend,
    check_name,
    check_version,
    matching_retry,
    prepare_append,
)
from chronicle.store.protocol import InlineHandler, Seal, Snapshot, StoreStats
from chronicle.store.queries import check_instant, check_limit, search_conditions
from chronicle.store.session import PostgresSession, Session
from chronicle.store.wakeup import PostgresNotifier, PostgresWakeup, Wakeup

_COLUMNS = (
    "position, event_id::text, aggregate_id, aggregate_type, event_type, version, timestamp, "
    "user_id, data, metadata, schema_version, partition, hash"
)
_APPEND = (
    "SELECT out_position, out_version, out_hash FROM chronicle_append("
    "%s, %s, %s, %s, %s::smallint, %s, %s::uuid[], %s::text[], %s::smallint[], %s::bytea[], "
    "%s::bytea[], %s::bytea[])"
)
# The (transaction id, position) pair of the event at a caller's position. When that event is no
# longer stored (retention), start over from the oldest transaction: events may be re-delivered,
# never skipped.
_CURSOR = (
    "coalesce((SELECT transaction_id FROM chronicle_events WHERE position = %s), '0'::xid8), %s"
)

_SEAL_COLUMNS = "number, position, event_count, head, last_hash, sealed_at, public_key, signature"
_ROLE_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# One event, one statement: about 1.6x the rate of calling the function (profiled in bench/), as
# PL/pgSQL's per-call overhead is the largest server-side cost of a one-event append. It inserts
# only when the head version is the expected one (or any, for None); when it inserts nothing, the
# function path runs to tell a conflict from a retry. The hash is the same chain as
# ``integrity.chain``: SHA-256(previous hash ‖ version as int8 ‖ content digest). Positional
# parameters (see ``_single_event_params``): psycopg maps them without reordering a dict.
_APPEND_ONE = (
    "WITH head AS ("
    "  SELECT e.version, e.hash FROM chronicle_events e WHERE e.aggregate_id = %s"
    "  ORDER BY e.version DESC LIMIT 1"
    "), previous AS ("
    "  SELECT coalesce((SELECT version FROM head), 0) AS version,"
    "         coalesce((SELECT hash FROM head), '\\x" + "00" * 32 + "'::bytea) AS hash"
    ") "
    "INSERT INTO chronicle_events AS e (event_id, aggregate_id, aggregate_type, event_type, "
    "version, schema_version, partition, timestamp, user_id, data, metadata, hash) "
    "SELECT %s::uuid, %s, %s, %s, p.version + 1, %s::smallint, %s::smallint, %s, %s, %s, %s, "
    "sha256(p.hash || int8send(p.version + 1) || %s::bytea) "
    "FROM previous p WHERE %s::bigint IS NULL OR p.version = %s::bigint "
    "RETURNING e.position, e.version, e.hash"
)
# What the application role may write into an event row (never transaction_id, position, codec).
_APP_INSERT_COLUMNS = (
    "event_id", "aggregate_id", "aggregate_type", "event_type", "version", "schema_version",
    "partition", "timestamp", "user_id", "data", "metadata", "hash",
)  # fmt: skip
_MIGRATION_LOCK = 0x6368726F6E69636C  # "chronicl": one advisory lock key for schema changes
_ANY_VERSION_RETRIES = 20


def _row_to_event(row: tuple[Any, ...], loads: Any = orjson.loads) -> RecordedEvent:
    # The hot loop of every read: positional arguments in field order, and the binary cursor's
    # bytea values (bytes) straight into orjson (profiled in bench/: about 12% faster).
    return RecordedEvent(
        row[1],  # event_id
        row[2],  # aggregate_id
        row[3],  # aggregate_type
        row[4],  # event_type
        row[5],  # version
        row[0],  # position
        row[6],  # timestamp
        row[7],  # user_id
        loads(row[8]),  # data
        loads(row[9]),  # metadata
        row[10],  # schema_version
        row[11],  # partition
        bytes(row[12]),  # hash
    )


def _row_to_seal(row: tuple[Any, ...]) -> Seal:
    return Seal(
        number=row[0],
        position=row[1],
        event_count=row[2],
        head=bytes(row[3]),
        last_hash=bytes(row[4]),
        sealed_at=row[5],
        public_key=None if row[6] is None else bytes(row[6]),
        signature=None if row[7] is None else bytes(row[7]),
    )


class PostgresEventStore:
    """Event store in PostgreSQL. Thread-safe; writers on different aggregates run in parallel."""

    backend = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        max_event_bytes: int = 1024 * 1024,
        migrate: bool = True,
        notify: bool = True,
    ) -> None:
        self.url = url
        self._max_event_bytes = max_event_bytes
        _probe(url, connect_timeout)
        self._pool = ConnectionPool(
            url,
            min_size=min_connections,
            max_size=max_connections,
            kwargs={"autocommit": True},
            timeout=connect_timeout,
            open=False,
            name="chronicle",
            configure=_configure_connection,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL at {_redact(url)} within {connect_timeout:g}s; "
                "is the server running and EVENT_STORE_URL right?"
            ) from exc
        self._notifier = PostgresNotifier(url) if notify else None
        if migrate:
            self.migrate()

    def close(self) -> None:
        if self._notifier is not None:
            self._notifier.close()
        self._pool.close()

    def open_wakeup(self) -> Wakeup:
        """A waiter woken soon after other processes' appends commit (LISTEN, or polling)."""
        return PostgresWakeup(self.url)

    def _fetch(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), *, binary: bool = True
    ) -> list[Any]:
        try:
            with self._pool.connection() as conn, conn.cursor(binary=binary) as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc

    def _events(self, sql: str, params: Sequence[Any] = ()) -> list[RecordedEvent]:
        return [_row_to_event(row) for row in self._fetch(sql, params)]

    # -- schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        # Two statements: a table named in a CASE branch is resolved even when it does not exist.
        if self._fetch("SELECT to_regclass('chronicle_schema')", binary=False)[0][0] is None:
            return 0
        rows = self._fetch("SELECT coalesce(max(version), 0) FROM chronicle_schema", binary=False)
        return int(rows[0][0])

    def migrate(self) -> int:
        # Up to date: take no lock and run no DDL, so a least-privilege role can open the store.
        current = self.schema_version()
        if current == postgres_schema.LATEST:
            return current
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS chronicle_schema "
                    "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                row = conn.execute(
                    "SELECT coalesce(max(version), 0) FROM chronicle_schema"
                ).fetchone()
                current = int(row[0]) if row else 0
                if current > postgres_schema.LATEST:
                    raise SchemaVersionError(
                        f"the store has schema version {current}; this Chronicle knows up to "
                        f"{postgres_schema.LATEST}: upgrade Chronicle"
                    )
                for version, script in postgres_schema.MIGRATIONS:
                    if version > current:
                        conn.execute(script)
                        conn.execute(
                            "INSERT INTO chronicle_schema (version) VALUES (%s)", (version,)
                        )
                        current = version
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc
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
        one = _single_event_params(batch) if len(batch.events) == 1 else None
        for _attempt in range(_ANY_VERSION_RETRIES):
            try:
                if inline is None:
                    rows = self._fetch(_APPEND_ONE, one) if one is not None else []
                    if not rows:
                        # A batch, or a single event whose expected version did not match: the
                        # function tells a conflict (CH409) from a retry of a stored batch (CH200).
                        rows = self._fetch(_APPEND, _batch_params(batch))
                    recorded = self._recorded(batch, rows)
                else:
                    recorded = self._append_with_inline(batch, one, inline)
                if self._notifier is not None:
                    self._notifier.appended()
                return recorded
            except pg_errors.UniqueViolation as exc:
                constraint = exc.diag.constraint_name
                if constraint == "chronicle_events_aggregate_version":
                    # A retry racing its own first attempt loses on the version first: when the
                    # batch's ids are stored now, it is that retry and gets the stored events.
                    stored = self._stored(batch)
                    if stored:
                        return matching_retry(batch, stored)
                    if expected_version is None:
                        continue  # "any version": another writer won this one; take the next
                    actual = self.get_aggregate_version(aggregate_id)
                    raise ConcurrencyError(aggregate_id, expected_version, actual) from exc
                return self._retry_result(batch)
            except psycopg.Error as exc:
                sqlstate = exc.sqlstate
                if sqlstate == "CH409":
                    actual = int(exc.diag.message_primary or 0)
                    raise ConcurrencyError(aggregate_id, expected_version, actual) from exc
                if sqlstate == "CH200":
                    return self._retry_result(batch)
                raise
        raise ConcurrencyError(
            aggregate_id, expected_version, self.get_aggregate_version(aggregate_id)
        )

    def _append_with_inline(
        self,
        batch: PreparedAppend,
        one: Sequence[Any] | None,
        inline: InlineHandler,
    ) -> list[RecordedEvent]:
        """The append and the inline read-model changes, in one transaction."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                with conn.cursor(binary=True) as cur:
                    rows = []
                    if one is not None:
                        cur.execute(_APPEND_ONE, one)
                        rows = cur.fetchall()
                    if not rows:
                        cur.execute(_APPEND, _batch_params(batch))
                        rows = cur.fetchall()
                    recorded = self._recorded(batch, rows)
                inline(PostgresSession(conn), recorded)
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc
        return recorded

    @staticmethod
    def _recorded(batch: PreparedAppend, rows: list[Any]) -> list[RecordedEvent]:
        by_version = sorted(rows, key=lambda row: row[1])
        return [
            RecordedEvent(
                event_id=event.event_id,
                aggregate_id=batch.aggregate_id,
                aggregate_type=batch.aggregate_type,
                event_type=event.event_type,
                version=row[1],
                position=row[0],
                timestamp=event.timestamp,
                user_id=batch.user_id,
                data=decode(event.data),
                metadata=decode(event.metadata),
                schema_version=event.schema_version,
                partition=batch.partition,
                hash=bytes(row[2]),
            )
            for event, row in zip(batch.events, by_version, strict=True)
        ]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the store's database (for read models and their checkpoints)."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield PostgresSession(conn)
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction on a pooled connection."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                yield PostgresSession(conn)
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc

    def _stored(self, batch: PreparedAppend) -> list[RecordedEvent]:
        """The events of ``batch`` (by id) already stored for its aggregate."""
        return self._events(
            f"SELECT {_COLUMNS} FROM chronicle_events WHERE aggregate_id = %s "
            "AND event_id = ANY(%s::uuid[]) ORDER BY version",
            (batch.aggregate_id, [event.event_id for event in batch.events]),
        )

    def _retry_result(self, batch: PreparedAppend) -> list[RecordedEvent]:
        return matching_retry(batch, self._stored(batch))

    # -- reads -------------------------------------------------------------------------------

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        check_name(aggregate_id, "aggregate_id")
        check_version(from_version, "from_version", allow_none=False)
        check_version(to_version, "to_version", allow_none=True)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE aggregate_id = %s AND version >= %s"
        params: list[Any] = [aggregate_id, from_version]
        if to_version is not None:
            sql += " AND version <= %s"
            params.append(to_version)
        return self._events(sql + " ORDER BY version", params)

    def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        check_name(event_type, "event_type")
        check_limit(limit)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE event_type = %s"
        params: list[Any] = [event_type]
        if since is not None:
            sql += " AND timestamp >= %s"
            params.append(check_instant(since, "since"))
        return self._events(sql + " ORDER BY position DESC LIMIT %s", [*params, limit])

    def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        check_version(offset, "offset", allow_none=False)
        sql = f"SELECT {_COLUMNS} FROM chronicle_events WHERE true"
        params: list[Any] = []
        if since is not None:
            sql += " AND timestamp >= %s"
            params.append(check_instant(since, "since"))
        if until is not None:
            sql += " AND timestamp <= %s"
            params.append(check_instant(until, "until"))
        sql += " ORDER BY transaction_id, position LIMIT %s OFFSET %s"
        return self._events(sql, [*params, limit, offset])

    def get_aggregate_version(self, aggregate_id: str) -> int:
        check_name(aggregate_id, "aggregate_id")
        rows = self._fetch(
            "SELECT coalesce(max(version), 0) FROM chronicle_events WHERE aggregate_id = %s",
            (aggregate_id,),
        )
        return int(rows[0][0])

    def get_event_count(self, aggregate_id: str | None = None) -> int:
        if aggregate_id is None:
            rows = self._fetch("SELECT count(*) FROM chronicle_events")
        else:
            check_name(aggregate_id, "aggregate_id")
            rows = self._fetch(
                "SELECT count(*) FROM chronicle_events WHERE aggregate_id = %s", (aggregate_id,)
            )
        return int(rows[0][0])

    def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        check_version(after, "after", allow_none=True)
        check_limit(limit)
        after = after or 0
        # The cursor is the pair (transaction id, position) of the event at `after`. When that
        # event is no longer stored (retention), start over from the oldest transaction: events
        # may be re-delivered, never skipped.
        return self._events(
            f"SELECT {_COLUMNS} FROM chronicle_events "
            f"WHERE (transaction_id, position) > ({_CURSOR}) "
            "  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY transaction_id, position LIMIT %s",
            (after, after, limit),
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
            placeholder="%s",
            instant=lambda value: value,
        )
        # The same cursor and visibility bound as read_all: a page never skips an event that a
        # running transaction commits later.
        return self._events(
            f"SELECT {_COLUMNS} FROM chronicle_events "
            f"WHERE (transaction_id, position) > ({_CURSOR}) "
            f"  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()){filters} "
            "ORDER BY transaction_id, position LIMIT %s",
            [after or 0, after or 0, *params, limit],
        )

    def read_visible(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        check_version(after, "after", allow_none=True)
        check_limit(limit)
        after = after or 0
        return self._events(
            f"SELECT {_COLUMNS} FROM chronicle_events "
            f"WHERE (transaction_id, position) > ({_CURSOR}) "
            "ORDER BY transaction_id, position LIMIT %s",
            (after, after, limit),
        )

    def lag(self, after: int | None) -> tuple[int, float]:
        check_version(after, "after", allow_none=True)
        after = after or 0
        count, oldest = self._fetch(
            "SELECT count(*), min(timestamp) FROM chronicle_events "
            f"WHERE (transaction_id, position) > ({_CURSOR})",
            (after, after),
        )[0]
        if oldest is None:
            return int(count), 0.0
        return int(count), max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    # -- snapshots ---------------------------------------------------------------------------

    def save_snapshot(self, snapshot: Snapshot) -> None:
        state = canonical_object(snapshot.state, "snapshot state")
        self._fetch(
            "INSERT INTO chronicle_snapshots (aggregate_id, version, aggregate_type, "
            "state_schema_version, state) VALUES (%s, %s, %s, %s, %s) "
            # Insert only (the application role may not update snapshots); one snapshot per
            # version is enough, a later interval writes the next.
            "ON CONFLICT (aggregate_id, version) DO NOTHING RETURNING version",
            (
                snapshot.aggregate_id,
                snapshot.version,
                snapshot.aggregate_type,
                snapshot.state_schema_version,
                state,
            ),
        )

    def load_snapshot(self, aggregate_id: str, max_version: int | None = None) -> Snapshot | None:
        check_name(aggregate_id, "aggregate_id")
        sql = (
            "SELECT aggregate_id, aggregate_type, version, state_schema_version, state, created_at "
            "FROM chronicle_snapshots WHERE aggregate_id = %s"
        )
        params: list[Any] = [aggregate_id]
        if max_version is not None:
            sql += " AND version <= %s"
            params.append(max_version)
        rows = self._fetch(sql + " ORDER BY version DESC LIMIT 1", params)
        if not rows:
            return None
        row = rows[0]
        return Snapshot(
            aggregate_id=row[0],
            aggregate_type=row[1],
            version=row[2],
            state_schema_version=row[3],
            state=decode(row[4]),
            created_at=row[5],
        )

    # -- checkpoints -------------------------------------------------------------------------

    def get_checkpoint(self, name: str) -> int | None:
        check_name(name, "checkpoint name")
        rows = self._fetch("SELECT position FROM chronicle_checkpoints WHERE name = %s", (name,))
        return int(rows[0][0]) if rows else None

    def set_checkpoint(self, name: str, position: int) -> None:
        check_name(name, "checkpoint name")
        check_version(position, "position", allow_none=False)
        self._fetch(
            "INSERT INTO chronicle_checkpoints (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now() "
            "RETURNING position",
            (name, position),
        )

    # -- seals -------------------------------------------------------------------------------

    def append_seal(self, seal: Seal) -> None:
        try:
            self._fetch(
                "INSERT INTO chronicle_seals (number, position, event_count, head, last_hash, "
                "sealed_at, public_key, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING number",
                (
                    seal.number,
                    seal.position,
                    seal.event_count,
                    seal.head,
                    seal.last_hash,
                    check_instant(seal.sealed_at, "sealed_at"),
                    seal.public_key,
                    seal.signature,
                ),
            )
        except pg_errors.UniqueViolation as exc:
            raise SealConflictError(f"seal {seal.number} is already recorded") from exc

    def get_seals(self, after: int = 0, limit: int = 1000) -> list[Seal]:
        check_version(after, "after", allow_none=False)
        check_limit(limit)
        rows = self._fetch(
            f"SELECT {_SEAL_COLUMNS} FROM chronicle_seals WHERE number > %s "
            "ORDER BY number LIMIT %s",
            (after, limit),
        )
        return [_row_to_seal(row) for row in rows]

    def latest_seal(self) -> Seal | None:
        rows = self._fetch(
            f"SELECT {_SEAL_COLUMNS} FROM chronicle_seals ORDER BY number DESC LIMIT 1"
        )
        return _row_to_seal(rows[0]) if rows else None

    def create_app_role(self, role: str) -> list[str]:
        """A NOLOGIN group role for the application: INSERT and SELECT on events and seals only.

        Login roles join it (``CREATE ROLE app LOGIN PASSWORD '…' IN ROLE <role>``). It owns
        nothing, so it cannot drop or disable the guard triggers either.
        """
        if type(role) is not str or _ROLE_PATTERN.fullmatch(role) is None:
            raise InvalidEventError(
                f"a role name is 1-63 characters of a-z, 0-9 and '_', not starting with a "
                f"digit; got {role!r:.80}"
            )
        name = sql.Identifier(role)
        statements = [
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            ).format(name),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(self._current_schema()), name
            ),
            sql.SQL(
                "REVOKE ALL ON chronicle_events, chronicle_seals, chronicle_snapshots, "
                "chronicle_checkpoints, chronicle_schema FROM {}"
            ).format(name),
            sql.SQL("GRANT SELECT ON chronicle_events, chronicle_seals TO {}").format(name),
            # Column by column: the role cannot choose a row's transaction id or position, so a
            # row it writes can never hide behind the commit-order cursor of log followers.
            sql.SQL("GRANT INSERT ({}) ON chronicle_events TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, _APP_INSERT_COLUMNS)), name
            ),
            sql.SQL("GRANT INSERT ON chronicle_seals TO {}").format(name),
            sql.SQL("GRANT SELECT ON chronicle_schema TO {}").format(name),
            sql.SQL("GRANT SELECT, INSERT ON chronicle_snapshots TO {}").format(name),
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON chronicle_checkpoints TO {}").format(name),
            sql.SQL(
                "GRANT EXECUTE ON FUNCTION chronicle_append(text, text, bigint, text, smallint, "
                "timestamptz, uuid[], text[], smallint[], bytea[], bytea[], bytea[]) TO {}"
            ).format(name),
        ]
        done = []
        try:
            with self._pool.connection() as conn, conn.transaction():
                for statement in statements:
                    conn.execute(statement)
                    done.append(statement.as_string(conn))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreUnavailableError(
                f"cannot create the role {role!r}: {exc}; run this as the schema's owner"
            ) from exc
        return done

    def _current_schema(self) -> str:
        return str(self._fetch("SELECT current_schema()", binary=False)[0][0])

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        total, aggregates, oldest, newest, size = self._fetch(
            "SELECT count(*), count(DISTINCT aggregate_id), min(timestamp), max(timestamp), "
            "pg_total_relation_size('chronicle_events') FROM chronicle_events"
        )[0]
        by_type = dict(
            self._fetch(
                "SELECT aggregate_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
            )
        )
        by_event = dict(
            self._fetch("SELECT event_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1")
        )
        return StoreStats(
            backend=self.backend,
            total_events=total,
            aggregates=aggregates,
            by_aggregate_type=by_type,
            by_event_type=by_event,
            oldest_event=oldest,
            newest_event=newest,
            size_bytes=size,
            schema_version=self.schema_version(),
        )

    # -- raw access for maintenance and tests ------------------------------------------------

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction, translating immutability refusals."""
        try:
            with self._pool.connection() as conn:
                cur = conn.execute(sql, params)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            if exc.sqlstate == "CH403":
                raise ImmutableEventError(str(exc)) from exc
            raise


def _single_event_params(batch: PreparedAppend) -> tuple[Any, ...]:
    """``_APPEND_ONE``'s parameters, in the order of its placeholders."""
    event = batch.events[0]
    expected = batch.expected_version
    return (
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


def _batch_params(batch: PreparedAppend) -> tuple[Any, ...]:
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


def _probe(url: str, timeout: float) -> None:
    """Connect once before building the pool: a bad URL or a server that is down is reported at
    once with the driver's reason, instead of after the pool's whole timeout."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))):
            return
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(
            "EVENT_STORE_URL", f"{_redact(url)} is not a valid PostgreSQL URL: {exc}"
        ) from exc
    except psycopg.OperationalError as exc:
        reason = str(exc).strip()
        if "invalid" in reason:  # libpq's word for a malformed option (port, sslmode…)
            raise ConfigurationError(
                "EVENT_STORE_URL", f"{_redact(url)} is not a valid PostgreSQL URL: {reason}"
            ) from exc
        raise StoreUnavailableError(
            f"cannot connect to PostgreSQL at {_redact(url)}: {reason}; is the server running "
            "and EVENT_STORE_URL right?"
        ) from exc


def _configure_connection(conn: psycopg.Connection[Any]) -> None:
    # Timestamps come back as UTC whatever the server's or the role's time zone.
    conn.execute("SET timezone TO 'UTC'")


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    info.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in info.items())
