"""The PostgreSQL event store (production).

What is PostgreSQL's own lives beside this module: the pool, the append path, the visibility
rule of ``read_all`` (the dialect), the schema, roles and wake-up. Everything else comes from
the shared SQL core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from chronicle.errors import ConcurrencyError, DuplicateKeyError
from chronicle.events import RecordedEvent
from chronicle.store.ports import Capabilities, InlineHandler, Session, Wakeup
from chronicle.store.prepare import PreparedAppend, matching_retry, recorded_from
from chronicle.store.sql import schema
from chronicle.store.sql.store import SQLStore

from . import roles
from . import schema as pg_schema
from .append import RACED, STORED, run_append, settle
from .connections import open_pool
from .dialect import DIALECT
from .session import PostgresSession
from .wakeup import PostgresNotifier, PostgresWakeup

_MIGRATION_LOCK = 0x6368726F6E69636C  # "chronicl": one advisory lock key for schema changes
_ANY_VERSION_RETRIES = 20


_OWN_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"


class PostgresEventStore(SQLStore):
    """Event store in PostgreSQL. Thread-safe; writers on different aggregates run in parallel."""

    backend = "postgresql"
    capabilities = Capabilities(gap_free_order=True, server_wakeup=True, roles=True)

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
        super().__init__(DIALECT)
        self.url = url
        self._max_event_bytes = max_event_bytes
        self._pool = open_pool(
            url, min_size=min_connections, max_size=max_connections, timeout=connect_timeout
        )
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

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the store's database (for read models and their checkpoints)."""
        with DIALECT.errors(), self._pool.connection() as conn, conn.transaction():
            yield PostgresSession(conn)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction on a pooled connection, begun by one ``BEGIN READ ONLY``
        (not ``BEGIN`` then ``SET TRANSACTION READ ONLY``: a round trip less per read)."""
        with DIALECT.errors(), self._pool.connection() as conn:
            conn.read_only = True
            try:
                with conn.transaction():
                    yield PostgresSession(conn)
            finally:
                if conn.info.transaction_status == TransactionStatus.IDLE:
                    conn.read_only = None
                else:  # broken: closed, so the pool never hands a writer a read-only one
                    conn.close()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with DIALECT.errors(), self._pool.connection() as conn:
            yield PostgresSession(conn, binary=True)

    def _writing(self) -> Any:
        return self._reading()  # autocommit: the one statement is its own transaction

    # -- append ------------------------------------------------------------------------------

    def _append(self, batch: PreparedAppend, inline: InlineHandler | None) -> list[RecordedEvent]:
        for _attempt in range(_ANY_VERSION_RETRIES):
            try:
                recorded = self._append_once(batch, inline)
            except (DuplicateKeyError, psycopg.Error) as exc:
                outcome = settle(exc)
                if outcome is None:
                    raise
                if outcome == STORED:
                    return self._stored_retry(batch)  # an event id of the batch is stored
                if outcome == RACED:
                    # A retry racing its own first attempt loses on the version first: when
                    # the batch's ids are stored now, it is that retry and gets those events.
                    with self._reading() as session:
                        stored = self._stored_in(session, batch)
                    if stored:
                        return matching_retry(batch, stored)
                    if batch.expected_version is None:
                        continue  # "any version": another writer won this one; take the next
                    outcome = self.get_aggregate_version(batch.aggregate_id)
                actual = int(outcome)  # what an expected version that did not match found
                raise ConcurrencyError(batch.aggregate_id, batch.expected_version, actual) from exc
            if self._notifier is not None:
                self._notifier.appended()
            return recorded
        raise ConcurrencyError(
            batch.aggregate_id,
            batch.expected_version,
            self.get_aggregate_version(batch.aggregate_id),
        )

    def _append_once(
        self, batch: PreparedAppend, inline: InlineHandler | None
    ) -> list[RecordedEvent]:
        if inline is None:
            with DIALECT.errors(), self._pool.connection() as conn, conn.cursor(binary=True) as cur:
                return recorded_from(batch, run_append(cur, batch))
        # The append and the inline read-model changes, in one transaction.
        with DIALECT.errors(), self._pool.connection() as conn, conn.transaction():
            session = PostgresSession(conn)
            with conn.cursor(binary=True) as cur:
                recorded = recorded_from(batch, run_append(cur, batch))
            inline(session, recorded)
        return recorded

    def _stored_retry(self, batch: PreparedAppend) -> list[RecordedEvent]:
        with self._reading() as session:
            return matching_retry(batch, self._stored_in(session, batch))

    # -- administration ----------------------------------------------------------------------

    def migrate(self) -> int:
        # Up to date: take no lock and run no DDL, so a least-privilege role can open the store.
        current = self.schema_version()
        if current == pg_schema.LATEST:
            return current
        with self.session() as session:
            session.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _MIGRATION_LOCK})
            version = schema.upgrade(
                session,
                pg_schema.MIGRATIONS,
                create_table=pg_schema.CREATE_SCHEMA_TABLE,
                run_script=session.execute,
                instant=DIALECT.instant,
            )
            # New indexes have no statistics yet: plan with fresh ones from the first query.
            session.execute(pg_schema.ANALYZE)
            return version

    def refresh_statistics(self) -> None:
        with self.session() as session:
            session.execute(pg_schema.ANALYZE)

    def create_app_role(self, role: str) -> list[str]:
        return roles.create_app_role(self._pool, role)

    def create_sealer_role(self, role: str) -> list[str]:
        return roles.create_sealer_role(self, role)

    def _size_bytes(self) -> int:
        return int(self._scalar("SELECT pg_total_relation_size('chronicle_events')"))

    def scrub(self, tables: Sequence[str] = ()) -> None:
        """VACUUM (ANALYZE) ``tables`` (every table of the store's schema when none are named):
        the row versions an erasure's redaction left behind are removed, and the planner's
        sampled values (``pg_statistic``, which held some of the redacted text) are taken again
        from what is left."""
        with DIALECT.errors(), self._pool.connection() as conn:
            own = [row[0] for row in conn.execute(_OWN_TABLES).fetchall()]
            for table in [name for name in own if name in tables] if tables else own:
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))

    @contextmanager
    def _raw(self) -> Iterator[Callable[[str, Any], list[tuple[Any, ...]]]]:
        with DIALECT.errors(), self._pool.connection() as conn:

            def run(sql: str, params: Any) -> list[tuple[Any, ...]]:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

            yield run
