"""The embedded SQLite event store (the default).

SQLite allows one writer at a time, so the rowid order of events is their commit order and
``read_all`` is gap-free by construction. Everything but the connections, the append path and
the schema comes from the shared SQL core.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from chronicle.errors import UnsupportedOperationError
from chronicle.events import RecordedEvent
from chronicle.store.ports import Capabilities, InlineHandler, Session, Wakeup
from chronicle.store.prepare import PreparedAppend
from chronicle.store.sql import schema
from chronicle.store.sql.store import SQLStore

from . import schema as sqlite_schema
from .append import append_batch
from .connections import Connections, path_from_url
from .session import DIALECT, SQLiteSession
from .wakeup import SQLiteWakeup

log = logging.getLogger(__name__)


class SQLiteEventStore(SQLStore):
    """Event store in one SQLite file. Safe for many threads and several processes."""

    backend = "sqlite"
    capabilities = Capabilities(gap_free_order=True, server_wakeup=True)

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 30_000,
        max_event_bytes: int = 1024 * 1024,
        migrate: bool = True,
    ) -> None:
        super().__init__(DIALECT)
        self.url = url
        self.path = path_from_url(url)
        self._max_event_bytes = max_event_bytes
        self._connections = Connections(
            self.path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms
        )
        if migrate:
            self.migrate()

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction on the store's database (for read models and their checkpoints)."""
        with DIALECT.errors(), self._connections.writing() as conn:
            yield SQLiteSession(conn)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """This thread's reader connection: WAL lets it read while the writer writes."""
        with DIALECT.errors(), self._connections.reading() as conn:
            yield SQLiteSession(conn)

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with DIALECT.errors():
            yield SQLiteSession(self._connections.reader())

    def _writing(self) -> Any:
        return self.session()

    def open_wakeup(self) -> Wakeup:
        """A waiter woken soon after any connection commits (``PRAGMA data_version``)."""
        return SQLiteWakeup(self.path)

    def close(self) -> None:
        self._connections.close()

    # -- append ------------------------------------------------------------------------------

    def _append(self, batch: PreparedAppend, inline: InlineHandler | None) -> list[RecordedEvent]:
        with self.session() as session:
            recorded = append_batch(session, batch, lambda: self._retry_result(session, batch))
            if inline is not None:
                inline(session, recorded)
        return recorded

    # -- administration ----------------------------------------------------------------------

    def migrate(self) -> int:
        current = self.schema_version()
        with self.session() as session:

            def run(script: str) -> None:
                for statement in sqlite_schema.split_script(script):
                    session.execute(statement)

            version = schema.upgrade(
                session,
                sqlite_schema.MIGRATIONS,
                create_table=sqlite_schema.CREATE_SCHEMA_TABLE,
                run_script=run,
                instant=DIALECT.instant,
            )
            # An upgraded store's new indexes get statistics at once. Not a new one: SQLite
            # never refreshes them itself, and those of an empty table would mislead it later.
            if 0 < current < version and session.fetchone(sqlite_schema.EVENTS_EXIST) == (1,):
                session.execute(sqlite_schema.ANALYSIS_LIMIT)
                session.execute(sqlite_schema.ANALYZE)
            return version

    def refresh_statistics(self) -> None:
        with self.session() as session:
            # Never of an empty table: its statistics would mislead the planner as it grows.
            if session.fetchone(sqlite_schema.EVENTS_EXIST) == (1,):
                session.execute(sqlite_schema.ANALYSIS_LIMIT)
                session.execute(sqlite_schema.ANALYZE)

    def create_app_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError(
            "SQLite has no roles or grants: whoever can write the database file can change it. "
            "The guard triggers refuse UPDATE and DELETE of events, and `chronicle verify` "
            "detects any change; protect the file with file-system permissions."
        )

    def _size_bytes(self) -> int:
        return self._connections.size_bytes()

    def scrub(self, tables: Sequence[str] = ()) -> None:
        """Checkpoint and truncate the write-ahead log (see :meth:`CheckedStore.scrub`); with
        ``secure_delete`` on, the file itself keeps no overwritten text."""
        with DIALECT.errors():
            if not self._connections.checkpoint_and_truncate():
                log.warning(
                    "the write-ahead log of %s could not be truncated: a long read holds it; "
                    "it is truncated at the next erasure or checkpoint",
                    self._connections.path,
                )

    @contextmanager
    def _raw(self) -> Iterator[Callable[[str, Any], list[tuple[Any, ...]]]]:
        with DIALECT.errors(), self._connections.writing() as conn:

            def run(sql: str, params: Any) -> list[tuple[Any, ...]]:
                cursor: sqlite3.Cursor = conn.execute(sql, params)
                return cursor.fetchall()

            yield run
