"""A projection: a named read model kept up to date from events, with handlers by event class.

Read-model tables are declared once (columns and indexes, written for both SQLite and
PostgreSQL) under logical names; an instance maps them to physical names, so a rebuild can fill
``<table>__rebuild`` while readers keep using ``<table>``. Handlers are methods marked with
:func:`handles` and looked up by the event's class, never by comparing type names.

Handlers of per-aggregate read models guard every write with the aggregate's version
(``… WHERE version < :version``), which makes applying an event twice harmless; a projection
declares that with ``idempotent = True``, and only then may a rebuild catch up past a running
writer's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from chronicle.events import RecordedEvent
from chronicle.registry import DomainEvent, EventRegistry
from chronicle.store.ports import Session

Mode = Literal["inline", "async"]
F = TypeVar("F", bound=Callable[..., Any])
REBUILD_SUFFIX = "__rebuild"


@dataclass(frozen=True)
class Table:
    """A read-model table: ``columns`` is the body of CREATE TABLE; indexes are column lists."""

    name: str
    columns: str
    indexes: tuple[tuple[str, str], ...] = ()


def handles(*event_classes: type[DomainEvent]) -> Callable[[F], F]:
    """Mark a projection method as the handler of these event classes."""

    def mark(function: F) -> F:
        function.__chronicle_handles__ = event_classes  # type: ignore[attr-defined]
        return function

    return mark


class Projection:
    """Base of read-model projections. Subclasses set ``name``, ``tables`` and handlers."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]] = ()
    default_mode: ClassVar[Mode] = "async"
    idempotent: ClassVar[bool] = False
    _handlers: ClassVar[dict[type[DomainEvent], str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type[DomainEvent], str] = {}
        for base in reversed(cls.__mro__):
            for attribute, value in vars(base).items():
                for event_class in getattr(value, "__chronicle_handles__", ()):
                    handlers[event_class] = attribute
        cls._handlers = handlers

    def __init__(self, registry: EventRegistry, *, suffix: str = "") -> None:
        self.registry = registry
        self.suffix = suffix
        self._physical = {table.name: table.name + suffix for table in self.tables}

    @property
    def checkpoint_name(self) -> str:
        return f"projection.{self.name}{'.rebuild' if self.suffix else ''}"

    def t(self, logical: str) -> str:
        """The physical name of a logical table for this instance."""
        return self._physical[logical]

    def handled_types(self) -> set[str]:
        return {cls.event_type for cls in self._handlers}

    # -- schema ------------------------------------------------------------------------------

    def create_tables(self, session: Session, *, with_indexes: bool = True) -> None:
        """Create missing tables (and their secondary indexes unless told not to)."""
        for table in self.tables:
            physical = self.t(table.name)
            session.execute(f"CREATE TABLE IF NOT EXISTS {physical} ({table.columns})")
            if not with_indexes:
                continue
            for index_name, columns in table.indexes:
                session.execute(
                    f"CREATE INDEX IF NOT EXISTS {table.name}_{index_name}{self.suffix} "
                    f"ON {physical} ({columns})"
                )

    def drop_tables(self, session: Session) -> None:
        for table in self.tables:
            session.execute(f"DROP TABLE IF EXISTS {self.t(table.name)}")

    # -- applying ----------------------------------------------------------------------------

    def apply(self, session: Session, recorded: RecordedEvent) -> bool:
        """Apply one stored event; False when this projection does not handle its type."""
        if recorded.event_type not in self.registry:
            return False
        # Find the handler by class before decoding: an event this projection ignores must
        # never stop it, even one that no longer decodes.
        handler = self._handlers.get(self.registry.class_for(recorded.event_type))
        if handler is None:
            return False
        getattr(self, handler)(session, self.registry.to_domain(recorded), recorded)
        return True
