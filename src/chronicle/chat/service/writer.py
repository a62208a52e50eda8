"""Carrying out a command on a chat aggregate: load, check the expected version, decide, store.

With ``EVENT_SOURCING_ENABLED=true`` (the default) the aggregate is loaded from its events and
its new events are appended; the inline read models change in the append's transaction. With
``false`` (the seed's switch) no event is recorded: the aggregate is rebuilt from its read-model
row, the same projection handlers are applied directly to the read models with events that are
never stored, and the audit trail stays empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.chat.read_models import queries
from chronicle.errors import UnknownAggregateError
from chronicle.events import JSONObject, RecordedEvent
from chronicle.repository import Repository, check_expected_version, combined
from chronicle.store.ports import AggregateStore, InlineHandler, Session, SessionFactory
from chronicle.store.prepare import prepare_append, recorded_from

A = TypeVar("A", bound=Aggregate)

ID_SHAPE = re.compile(r"^[a-z]+_[0-9a-f]{32}$")
"""The shape of every chat aggregate id; anything else cannot name a stored aggregate."""


class WriterStore(AggregateStore, SessionFactory, Protocol):
    """What the writer needs of a store: aggregates' events and snapshots, and sessions."""


@dataclass(frozen=True, slots=True)
class Written(Generic[A]):
    """The aggregate after the command, and the events it recorded (none if nothing changed)."""

    aggregate: A
    events: list[RecordedEvent]


class Writer:
    """Runs commands for the API and the CLI, in the mode the settings choose.

    ``inline`` is applied in each write's transaction (the inline read models); with
    ``event_sourcing=False`` nothing is appended and ``max_event_bytes`` still bounds each event,
    so a write is refused exactly when an append would be.
    """

    def __init__(
        self,
        store: WriterStore,
        *,
        inline: InlineHandler | None,
        snapshot_interval: int,
        event_sourcing: bool,
        max_event_bytes: int,
    ) -> None:
        self.store = store
        self.inline = inline
        self.snapshot_interval = snapshot_interval
        self.event_sourcing = event_sourcing
        self.max_event_bytes = max_event_bytes
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
        """Store a new aggregate (its creation pending). ``also`` runs in the same transaction."""
        if not self.event_sourcing:
            return self._direct(aggregate, None, user_id, correlation_id, also)
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
        if not ID_SHAPE.match(aggregate_id):
            raise UnknownAggregateError(aggregate_id)
        if not self.event_sourcing:
            return self._change_direct(
                cls, aggregate_id, command, user_id, expected_version, correlation_id, also
            )
        result = self.repository(cls).execute(
            aggregate_id,
            command,
            expected_version=expected_version,
            user_id=user_id,
            correlation_id=correlation_id,
            also=also,
        )
        return Written(result.aggregate, result.events)

    def repository(self, cls: type[A]) -> Repository[A]:
        """The one repository the writer keeps for aggregates of ``cls``."""
        repository = self._repositories.get(cls)
        if repository is None:
            repository = Repository(
                self.store, cls, snapshot_interval=self.snapshot_interval, inline=self.inline
            )
            self._repositories[cls] = repository
        return repository

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
