"""The SQL core: every store operation the SQL backends share, written once.

A backend subclasses :class:`SQLStore` and supplies its dialect, its connections (through the
four session hooks below), its append path, its schema and what only it can do (roles, wake-up).
Argument checks run before any connection is touched; driver errors are translated once, by the
dialect, where a connection is handed out.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from chronicle.errors import (
    DuplicateKeyError,
    ImmutableEventError,
    SealConflictError,
    UnsupportedOperationError,
)
from chronicle.events import RecordedEvent
from chronicle.store.checked import CheckedStore
from chronicle.store.ports import Capabilities, Session
from chronicle.store.prepare import PreparedAppend, matching_retry, now_utc
from chronicle.store.queries import Filters
from chronicle.store.records import Seal, Snapshot, StoreStats
from chronicle.store.sql import checkpoints
from chronicle.store.sql.dialect import Dialect
from chronicle.store.sql.rows import event_reader, seal_reader, snapshot_from
from chronicle.store.sql.statements import FILTERS, Statements


class SQLStore(CheckedStore):
    """The shared half of a SQL event store. Subclasses set ``backend``, ``capabilities`` and
    ``dialect`` and implement the hooks marked below."""

    backend: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    dialect: Dialect

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._sql = Statements().render(dialect)
        self._timestamp = dialect.timestamp()
        self._event = event_reader(self._timestamp)
        self._seal = seal_reader(self._timestamp)

    # -- hooks a backend implements ----------------------------------------------------------

    def session(self) -> AbstractContextManager[Session]:
        """A transaction on the store's database, for read models and their checkpoints."""
        raise NotImplementedError

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only view of the store's database (read-model queries; never blocks writers)."""
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Session]:
        """A connection for reads that need no transaction of their own."""
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Session]:
        """A connection for one write that commits on its own."""
        raise NotImplementedError

    def _size_bytes(self) -> int:
        raise NotImplementedError

    # -- shared helpers ----------------------------------------------------------------------

    def _events(self, statement: str, params: dict[str, Any]) -> list[RecordedEvent]:
        with self._reading() as session:
            rows = session.fetchall(statement, params)
        read = self._event
        return [read(row) for row in rows]

    def _scalar(self, statement: str, params: dict[str, Any] | None = None) -> Any:
        with self._reading() as session:
            row = session.fetchone(statement, params or {})
        return None if row is None else row[0]

    def _stored_in(self, session: Session, batch: PreparedAppend) -> list[RecordedEvent]:
        """The events of ``batch`` (by id) already stored for its aggregate."""
        rows = session.fetchall(
            self._sql.stored_of_batch,
            {
                "aggregate_id": batch.aggregate_id,
                "ids": self.dialect.id_list([event.event_id for event in batch.events]),
            },
        )
        return [self._event(row) for row in rows]

    def _retry_result(self, session: Session, batch: PreparedAppend) -> list[RecordedEvent] | None:
        """The stored events when ``batch`` is a retry of one already appended, else None."""
        stored = self._stored_in(session, batch)
        return matching_retry(batch, stored) if stored else None

    def _filtered(self, template: str, filters: Filters, **params: Any) -> list[RecordedEvent]:
        """``template`` with its ``{filters}`` slot filled from ``filters`` (values as parameters)."""
        instant = self.dialect.instant
        for name, value in filters.items():
            params[name] = instant(value) if name in ("since", "until") else value
        statement = template.replace("{filters}", "".join(FILTERS[name] for name in filters))
        return self._events(statement, params)

    # -- reads -------------------------------------------------------------------------------

    def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        params = {"aggregate_id": aggregate_id, "from_version": from_version}
        if to_version is None:
            return self._events(self._sql.events_of_aggregate, params)
        return self._events(self._sql.events_of_aggregate_to, {**params, "to_version": to_version})

    def _aggregate_version(self, aggregate_id: str) -> int:
        return int(self._scalar(self._sql.aggregate_version, {"aggregate_id": aggregate_id}))

    def _event_count(self, aggregate_id: str | None) -> int:
        if aggregate_id is None:
            return int(self._scalar(self._sql.count_all))
        return int(self._scalar(self._sql.count_of_aggregate, {"aggregate_id": aggregate_id}))

    def _read_all(self, after: int, limit: int, *, gap_free: bool) -> list[RecordedEvent]:
        statement = self._sql.read_all if gap_free else self._sql.read_visible
        return self._events(statement, {"after": after, "limit": limit})

    def _search(self, filters: Filters, after: int, limit: int) -> list[RecordedEvent]:
        # The same cursor and visibility bound as read_all: a page never skips an event that a
        # running transaction commits later.
        return self._filtered(self._sql.search, filters, after=after, limit=limit)

    def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        return self._filtered(self._sql.all_events, filters, limit=limit, offset=offset)

    def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        event_type = {name: value for name, value in filters.items() if name != "event_type"}
        return self._filtered(
            self._sql.events_by_type, event_type, event_type=filters["event_type"], limit=limit
        )

    def _lag(self, after: int) -> tuple[int, datetime | None]:
        with self._reading() as session:
            row = session.fetchone(self._sql.lag, {"after": after})
        count, oldest = row if row is not None else (0, None)
        return int(count), None if oldest is None else self._timestamp(oldest)

    # -- snapshots ---------------------------------------------------------------------------

    def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        with self._writing() as session:
            session.execute(
                self._sql.save_snapshot,
                {
                    "aggregate_id": snapshot.aggregate_id,
                    "version": snapshot.version,
                    "aggregate_type": snapshot.aggregate_type,
                    "state_schema_version": snapshot.state_schema_version,
                    "state": state,
                    "created_at": self.dialect.instant(now_utc()),
                },
            )

    def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        with self._reading() as session:
            if max_version is None:
                row = session.fetchone(self._sql.load_snapshot, {"aggregate_id": aggregate_id})
            else:
                row = session.fetchone(
                    self._sql.load_snapshot_to,
                    {"aggregate_id": aggregate_id, "max_version": max_version},
                )
        return None if row is None else snapshot_from(row, self._timestamp)

    # -- checkpoints -------------------------------------------------------------------------

    def _get_checkpoint(self, name: str) -> int | None:
        with self._reading() as session:
            return checkpoints.get(session, name)

    def _set_checkpoint(self, name: str, position: int) -> None:
        with self._writing() as session:
            checkpoints.put(session, name, position)

    # -- seals -------------------------------------------------------------------------------

    def _append_seal(self, seal: Seal, sealed_at: datetime) -> None:
        params = {
            "number": seal.number,
            "position": seal.position,
            "event_count": seal.event_count,
            "head": seal.head,
            "last_hash": seal.last_hash,
            "sealed_at": self.dialect.instant(sealed_at),
            "public_key": seal.public_key,
            "signature": seal.signature,
        }
        try:
            with self._writing() as session:
                session.execute(self._sql.append_seal, params)
        except (DuplicateKeyError, ImmutableEventError) as exc:
            # SQLite's guard refuses an insert colliding with a stored seal before its key does.
            raise SealConflictError(f"seal {seal.number} is already recorded") from exc

    def _seals(self, after: int, limit: int) -> list[Seal]:
        with self._reading() as session:
            rows = session.fetchall(self._sql.seals_after, {"after": after, "limit": limit})
        return [self._seal(row) for row in rows]

    def latest_seal(self) -> Seal | None:
        with self._reading() as session:
            row = session.fetchone(self._sql.latest_seal, {})
        return None if row is None else self._seal(row)

    # -- administration ----------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._reading() as session:
            if not session.fetchone(self.dialect.schema_table_exists, {})[0]:  # type: ignore[index]
                return 0
            row = session.fetchone(self._sql.schema_version, {})
        return int(row[0]) if row else 0

    def stats(self) -> StoreStats:
        with self._reading() as session:
            totals = session.fetchone(self._sql.stats_totals, {})
            by_type = dict(session.fetchall(self._sql.stats_by_aggregate_type, {}))
            by_event = dict(session.fetchall(self._sql.stats_by_event_type, {}))
        total, aggregates, oldest, newest = totals or (0, 0, None, None)
        return StoreStats(
            backend=self.backend,
            total_events=int(total),
            aggregates=int(aggregates),
            by_aggregate_type=by_type,
            by_event_type=by_event,
            oldest_event=self._timestamp(oldest) if oldest is not None else None,
            newest_event=self._timestamp(newest) if newest is not None else None,
            size_bytes=self._size_bytes(),
            schema_version=self.schema_version(),
        )

    def create_app_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError(f"the {self.backend} store has no database roles")

    def execute_raw(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction (maintenance and tests), errors translated.

        Parameters are the driver's own (positional ``?`` on SQLite, ``%s`` on PostgreSQL).
        """
        with self._raw() as run:
            return run(sql, params)

    def _raw(self) -> AbstractContextManager[Any]:
        raise NotImplementedError
