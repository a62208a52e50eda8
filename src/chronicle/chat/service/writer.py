"""Carrying out a command on a chat aggregate: load, check the expected version, decide, store.

With ``EVENT_SOURCING_ENABLED=true`` (the default) the aggregate is loaded from its events and
its new events are appended; the inline read models change in the append's transaction. With
``false`` (the seed's switch) no event is recorded: the aggregate is rebuilt from its read-model
row, the same projection handlers are applied directly to the read models with events that are
never stored, and the audit trail stays empty.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.ids import ID_SHAPE
from chronicle.chat.read_models import queries
from chronicle.errors import UnknownAggregateError
from chronicle.events import JSONObject, RecordedEvent
from chronicle.repository import Repository, check_expected_version, combined
from chronicle.store.ports import AggregateStore, InlineHandler, Session, SessionFactory
from chronicle.store.prepare import prepare_append, recorded_from

A = TypeVar("A", bound=Aggregate)


class WriterStore(AggregateStore, SessionFactory, Protocol):
    """What the writer needs of a store: aggregates' events and snapshots, and sessions."""


@dataclass(frozen=True, slots=True)
class Written(Generic[A]):
    """The aggregate after the command, and the events it recorded (none if nothing changed).

    ``row`` is the aggregate's read-model row as the write left it, read in the write's own
    transaction (behind the aggregate, or None, when its read model is async; None for a
    creation, whose events say it all). ``created`` is the event that created the aggregate when
    ``row`` is None and the write did not create it.
    """

    aggregate: A
    events: list[RecordedEvent]
    row: queries.Row | None = None
    created: RecordedEvent | None = None


class _RowCapture:
    """An inline handler, run last in a write's transaction, that reads the aggregate's
    read-model row as the write left it (nothing when that read model is not inline)."""

    def __init__(self, aggregate_type: str, aggregate_id: str, inline_tables: Collection[str]):
        inline = queries.TABLES.get(aggregate_type) in inline_tables
        self.reader = queries.ROW_READERS.get(aggregate_type) if inline else None
        self.aggregate_id = aggregate_id
        self.row: queries.Row | None = None

    def read(self, session: Session) -> queries.Row | None:
        return None if self.reader is None else self.reader(session, self.aggregate_id)

    def __call__(self, session: Session, recorded: list[RecordedEvent]) -> None:
        self.row = self.read(session)


class Writer:
    """Runs commands for the API and the CLI, in the mode the settings choose.

    ``inline`` is applied in each write's transaction (the inline read models, whose tables are
    ``inline_tables``); with ``event_sourcing=False`` nothing is appended and ``max_event_bytes``
    still bounds each event, so a write is refused exactly when an append would be.
    """

    def __init__(
        self,
        store: WriterStore,
        *,
        inline: InlineHandler | None,
        snapshot_interval: int,
        event_sourcing: bool,
        max_event_bytes: int,
        inline_tables: Collection[str] = (),
    ) -> None:
        self.store = store
        self.inline = inline
        self.snapshot_interval = snapshot_interval
        self.event_sourcing = event_sourcing
        self.max_event_bytes = max_event_bytes
        self.inline_tables = frozenset(inline_tables)
        self._repositories: dict[type[Aggregate], Repository[Any]] = {}

    # -- public ------------------------------------------------------------------------------

    def create(
        self,
        aggregate: A,
        *,
        user_id: str,
        correlation_id: str | None = None,
        also: InlineHandler | None = None,
    ) -> Written[A]:
        """Store a new aggregate (its creation pending). ``also`` runs in the same transaction.

        With events, the answer is made from the new aggregate and its creating event, as the
        inline read model's row is (a read of that row back would cost a statement per write);
        without them, the row is all there is."""
        if not self.event_sourcing:
            rows = _RowCapture(aggregate.aggregate_type, aggregate.id, self.inline_tables)
            return self._with_row(
                self._direct(aggregate, None, user_id, correlation_id, combined(also, rows)), rows
            )
        events = self.repository(type(aggregate)).save(
            aggregate, user_id=user_id, correlation_id=correlation_id, also=also
        )
        return Written(aggregate, events)

    def change(
        self,
        cls: type[A],
        aggregate_id: str,
        command: Callable[[A], Any],
        *,
        user_id: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        also: InlineHandler | None = None,
    ) -> Written[A]:
        """Run ``command`` on the aggregate and store what it decided.

        With ``expected_version`` the aggregate must be at exactly that version (else
        ``ConcurrencyError``, nothing written). Without one, a conflict re-runs the command on a
        fresh load (up to 3 times).
        """
        if ID_SHAPE.fullmatch(aggregate_id) is None:
            raise UnknownAggregateError(aggregate_id)
        rows = _RowCapture(cls.aggregate_type, aggregate_id, self.inline_tables)
        if not self.event_sourcing:
            return self._with_row(
                self._change_direct(
                    cls,
                    aggregate_id,
                    command,
                    user_id,
                    expected_version,
                    correlation_id,
                    combined(also, rows),
                ),
                rows,
            )
        result = self.repository(cls).execute(
            aggregate_id,
            command,
            expected_version=expected_version,
            user_id=user_id,
            correlation_id=correlation_id,
            also=combined(also, rows),
        )
        return self._with_row(Written(result.aggregate, result.events), rows)

    def repository(self, cls: type[A]) -> Repository[A]:
        """The one repository the writer keeps for aggregates of ``cls``."""
        repository = self._repositories.get(cls)
        if repository is None:
            repository = Repository(
                self.store, cls, snapshot_interval=self.snapshot_interval, inline=self.inline
            )
            self._repositories[cls] = repository
        return repository

    def _with_row(self, result: Written[A], rows: _RowCapture) -> Written[A]:
        """``result`` with the aggregate's read-model row (read now if the write appended
        nothing), and its creating event when that row is missing."""
        row = rows.row
        if not result.events:
            with self.store.read_session() as session:
                row = rows.read(session)
        created = None
        if row is None and not (result.events and result.events[0].version == 1):
            created = next(
                iter(self.store.get_events_for_aggregate(result.aggregate.id, 1, 1)), None
            )
        return Written(result.aggregate, result.events, row, created)

    # -- direct (event sourcing disabled) ------------------------------------------------------

    def _change_direct(
        self,
        cls: type[A],
        aggregate_id: str,
        command: Callable[[A], Any],
        user_id: str,
        expected_version: int | None,
        correlation_id: str | None,
        also: InlineHandler | None,
    ) -> Written[A]:
        def load(session: Session) -> A:
            table = queries.TABLES[cls.aggregate_type]
            version = queries.row_version(session, table, aggregate_id, lock=True)
            row = queries.ROW_READERS[cls.aggregate_type](session, aggregate_id)
            if version is None or row is None:
                raise UnknownAggregateError(aggregate_id)
            initial = cls.initial_state()
            state = {name: row.get(name, initial[name]) for name in cls.STATE_FIELDS}
            aggregate = cls.from_snapshot(aggregate_id, version, state)
            check_expected_version(aggregate, expected_version)
            command(aggregate)
            return aggregate

        return self._direct(None, load, user_id, correlation_id, also)

    def _direct(
        self,
        aggregate: A | None,
        load: Callable[[Session], A] | None,
        user_id: str,
        correlation_id: str | None,
        also: InlineHandler | None,
    ) -> Written[A]:
        with self.store.session() as session:
            if load is not None:
                aggregate = load(session)
            assert aggregate is not None
            recorded = self._unstored_events(session, aggregate, user_id, correlation_id)
            handler = combined(self.inline, also)
            if recorded and handler is not None:
                handler(session, recorded)
        aggregate.mark_saved()
        return Written(aggregate, recorded)

    def _unstored_events(
        self, session: Session, aggregate: A, user_id: str, correlation_id: str | None
    ) -> list[RecordedEvent]:
        """The aggregate's pending events as an append would record them; never stored.

        They are validated and enveloped by the store's own code, so a write refused with event
        sourcing on is refused with it off too.
        """
        pending = aggregate.pending_events
        if not pending:
            return []
        cls = type(aggregate)
        envelope: JSONObject = {} if correlation_id is None else {"correlation_id": correlation_id}
        batch = prepare_append(
            aggregate.id,
            [cls.registry.to_new_event(event, metadata=dict(envelope)) for event in pending],
            expected_version=aggregate.saved_version,
            aggregate_type=cls.aggregate_type,
            user_id=user_id,
            max_event_bytes=self.max_event_bytes,
        )
        # Positions continue the messages' creation order, which is what the read models sort by.
        position = queries.last_message_position(session)
        version = aggregate.saved_version
        return recorded_from(
            batch,
            [(position + index, version + index, b"") for index in range(1, len(pending) + 1)],
        )
