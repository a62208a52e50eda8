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
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.bootstrap import ChatContext, open_repository
from chronicle.chat.read_models import queries
from chronicle.errors import ConcurrencyError, UnknownAggregateError
from chronicle.events import RecordedEvent, new_event_id
from chronicle.repository import Repository
from chronicle.store.protocol import InlineHandler
from chronicle.store.session import Session

A = TypeVar("A", bound=Aggregate)

ID_SHAPE = re.compile(r"^[a-z]+_[0-9a-f]{32}$")
"""The shape of every chat aggregate id; anything else cannot name a stored aggregate."""

# Attempts when no expected version was given and another writer got there first.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Written(Generic[A]):
    """The aggregate after the command, and the events it recorded (none if nothing changed)."""

    aggregate: A
    events: list[RecordedEvent]


class Writer:
    """Runs commands for the API and the CLI, in the mode the settings choose."""

    def __init__(self, chat: ChatContext) -> None:
        self.chat = chat
        self.event_sourcing = chat.settings.enabled

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
        events = self._repository(type(aggregate), also).save(
            aggregate, user_id=user_id, correlation_id=correlation_id
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
        repository = self._repository(cls, also)
        for attempt in range(1, _ATTEMPTS + 1):
            aggregate = repository.load(aggregate_id)
            _check_expected(aggregate, expected_version)
            command(aggregate)
            try:
                events = repository.save(aggregate, user_id=user_id, correlation_id=correlation_id)
            except ConcurrencyError:
                if expected_version is not None or attempt == _ATTEMPTS:
                    raise
                continue
            return Written(aggregate, events)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- event-sourced -------------------------------------------------------------------------

    def _repository(self, cls: type[A], also: InlineHandler | None) -> Repository[A]:
        inline: InlineHandler | None = self.chat.inline or None
        if also is not None:
            inline = _both(inline, also)
        return open_repository(self.chat.store, cls, settings=self.chat.settings, inline=inline)

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
            _check_expected(aggregate, expected_version)
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
        with self.chat.store.session() as session:
            if load is not None:
                aggregate = load(session)
            assert aggregate is not None
            recorded = self._unstored_events(session, aggregate, user_id, correlation_id)
            if recorded:
                if self.chat.inline:
                    self.chat.inline(session, recorded)
                if also is not None:
                    also(session, recorded)
        aggregate.mark_saved()
        return Written(aggregate, recorded)

    def _unstored_events(
        self, session: Session, aggregate: A, user_id: str, correlation_id: str | None
    ) -> list[RecordedEvent]:
        """The aggregate's pending events in the shape projections take; never stored."""
        pending = aggregate.pending_events
        if not pending:
            return []
        registry = type(aggregate).registry
        position = queries.last_message_position(session)
        now = datetime.now(UTC)
        first_id = new_event_id()
        recorded = []
        for index, event in enumerate(pending, start=1):
            new = registry.to_new_event(event, event_id=first_id if index == 1 else None)
            recorded.append(
                RecordedEvent(
                    event_id=new.event_id,
                    aggregate_id=aggregate.id,
                    aggregate_type=type(aggregate).aggregate_type,
                    event_type=new.event_type,
                    version=aggregate.saved_version + index,
                    position=position + index,
                    timestamp=now,
                    user_id=user_id,
                    data=new.data,
                    metadata={
                        "correlation_id": correlation_id or first_id,
                        "causation_id": None,
                    },
                    schema_version=new.schema_version,
                )
            )
        return recorded


def _check_expected(aggregate: Aggregate, expected_version: int | None) -> None:
    if expected_version is not None and aggregate.version != expected_version:
        raise ConcurrencyError(aggregate.id, expected_version, aggregate.version)


def _both(first: InlineHandler | None, second: InlineHandler) -> InlineHandler:
    def run(session: Session, recorded: list[RecordedEvent]) -> None:
        if first is not None:
            first(session, recorded)
        second(session, recorded)

    return run
