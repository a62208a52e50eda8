"""The aggregate base: commands decide (and may raise), events apply (and never raise).

A command method checks the aggregate's rules against its current state and raises a
:class:`~chronicle.errors.DomainError` when they are broken; otherwise it calls :meth:`_record`,
which applies the event and keeps it as pending until the repository saves it. ``apply`` looks the
event's class up in the aggregate's ``{EventClass: method}`` table; it is deterministic (no clock,
no random ids) so replaying the same events always gives the same state.

State is a set of named, JSON-valued attributes (``STATE_FIELDS``): the same dict serves snapshots,
``chronicle state`` and the field-level changes of ``chronicle history``. ``STATE_SCHEMA_VERSION``
is raised whenever the meaning or shape of that dict changes, which invalidates older snapshots.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self

from chronicle.events import JSONObject
from chronicle.registry import DomainEvent, EventRegistry

Applier = Callable[[Any, Any], None]


class Aggregate:
    """Base class of event-sourced aggregates.

    Subclasses set ``aggregate_type`` (the stored aggregate type), ``registry`` (where their event
    classes are registered), ``STATE_FIELDS`` with their initial values in ``initial_state()``, and
    ``appliers``, a ``{EventClass: method}`` table built with
    :func:`chronicle.registry.dispatch_table`.
    """

    aggregate_type: ClassVar[str] = ""
    registry: ClassVar[EventRegistry]
    STATE_SCHEMA_VERSION: ClassVar[int] = 1
    STATE_FIELDS: ClassVar[tuple[str, ...]] = ()
    PERSONAL_STATE: ClassVar[tuple[str, ...]] = ()
    """The state fields that hold personal data: snapshots keep them sealed (see
    :mod:`chronicle.personal`)."""
    appliers: ClassVar[dict[type[Any], Applier]] = {}

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[DomainEvent] = []
        for name, value in self.initial_state().items():
            setattr(self, name, value)

    @classmethod
    def initial_state(cls) -> JSONObject:
        """The state before any event. Subclasses return a value for each of ``STATE_FIELDS``."""
        return {}

    # -- events --------------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        """Apply one event to the state and count it. Never raises for a registered event.

        An event class the aggregate has no method for still counts towards the version: the
        version always equals the number of events the aggregate has seen.
        """
        applier = self.appliers.get(type(event))
        if applier is not None:
            applier(self, event)
        self.version += 1
        self._derive()

    def apply_all(self, events: Iterable[DomainEvent]) -> None:
        """Apply ``events`` in order: the same state as :meth:`apply` on each, with the state
        that :meth:`_derive` keeps derived once at the end instead of after every event."""
        appliers = self.appliers
        for event in events:
            applier = appliers.get(type(event))
            if applier is not None:
                applier(self, event)
            self.version += 1
        self._derive()

    def _derive(self) -> None:
        """Bring derived state (e.g. a message's mentions, found in its content) up to date.

        Runs after each :meth:`apply` and once after :meth:`apply_all`, so an applier may leave
        state that only the last event decides to this hook, instead of computing it again for
        every event of a replay. The base aggregate derives nothing.
        """

    def _record(self, event: DomainEvent) -> None:
        """Apply a new event decided by a command and keep it for the next save."""
        self.apply(event)
        self._pending.append(event)

    @property
    def pending_events(self) -> list[DomainEvent]:
        """Events recorded by commands since the last save, oldest first."""
        return list(self._pending)

    @property
    def saved_version(self) -> int:
        """The version the store holds for this aggregate (the expected version of a save)."""
        return self.version - len(self._pending)

    def mark_saved(self) -> None:
        """Forget the pending events once the store has them."""
        self._pending.clear()

    @classmethod
    def replay(cls, aggregate_id: str, events: Iterable[DomainEvent]) -> Self:
        """A fresh aggregate with ``events`` applied, none of them pending."""
        aggregate = cls(aggregate_id)
        aggregate.apply_all(events)
        return aggregate

    # -- state and snapshots -----------------------------------------------------------------

    def state(self) -> JSONObject:
        """The aggregate's state as a JSON-ready dict (a deep copy: changing it changes nothing)."""
        return {name: copy.deepcopy(getattr(self, name)) for name in self.STATE_FIELDS}

    def snapshot_state(self) -> JSONObject:
        """What a snapshot stores; read back by :meth:`from_snapshot` under the same schema."""
        return self.state()

    @classmethod
    def from_snapshot(cls, aggregate_id: str, version: int, state: JSONObject) -> Self:
        """The aggregate as a snapshot taken at ``version`` left it."""
        aggregate = cls(aggregate_id)
        for name in cls.STATE_FIELDS:
            setattr(aggregate, name, copy.deepcopy(state[name]))
        aggregate.version = version
        return aggregate

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} v{self.version}>"
