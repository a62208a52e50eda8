"""Typed domain events and the one registry that maps stable names to their classes.

A domain event is a frozen dataclass deriving from :class:`DomainEvent`. It is registered under
an explicit, stable name (never its module path, so moving the class breaks nothing) with the
schema version of its current shape. Events stored under an older schema version are brought up
to date on read by upcasters registered per ``(name, from_version)``; stored events are never
rewritten. Everywhere else the code dispatches on the classes this registry resolves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, TypeVar

from chronicle.errors import UnknownEventTypeError, UpcastError
from chronicle.events import JSONObject, NewEvent, RecordedEvent

E = TypeVar("E", bound="DomainEvent")
Upcaster = Callable[[JSONObject], JSONObject]


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of typed events. Subclasses are frozen dataclasses whose fields are JSON values."""

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def to_data(self) -> JSONObject:
        """The event's fields as the JSON object stored as its ``data``."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


class EventRegistry:
    """Stable event names to classes, and upcasters per (name, schema version)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, name: str, *, schema_version: int = 1) -> Callable[[type[E]], type[E]]:
        """Class decorator: store instances of the class under ``name``."""

        def decorate(cls: type[E]) -> type[E]:
            existing = self._classes.get(name)
            if existing is not None and existing is not cls:
                raise ValueError(
                    f"event type {name!r} is already registered to {existing.__name__}"
                )
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{cls.__name__} must be a dataclass to be a domain event")
            cls.event_type = name
            cls.schema_version = schema_version
            self._classes[name] = cls
            return cls

        return decorate

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Function decorator: turn ``data`` of ``name`` at ``from_version`` into the next version."""

        def decorate(function: Upcaster) -> Upcaster:
            key = (name, from_version)
            if key in self._upcasters:
                raise ValueError(f"an upcaster for {name!r} v{from_version} is already registered")
            self._upcasters[key] = function
            return function

        return decorate

    def class_for(self, name: str) -> type[DomainEvent]:
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownEventTypeError(
                f"no event class is registered under {name!r}; known: {sorted(self._classes)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def names(self) -> list[str]:
        return sorted(self._classes)

    def upcast(self, name: str, data: JSONObject, from_version: int) -> JSONObject:
        """``data`` stored at ``from_version`` brought to the registered class's version."""
        target = self.class_for(name).schema_version
        version = from_version
        while version < target:
            step = self._upcasters.get((name, version))
            if step is None:
                raise UpcastError(f"no upcaster takes {name!r} from schema version {version}")
            data = step(dict(data))
            version += 1
        if version > target:
            raise UpcastError(
                f"{name!r} is stored at schema version {from_version}, newer than this code's "
                f"{target}: upgrade Chronicle"
            )
        return data

    def to_domain(self, recorded: RecordedEvent) -> DomainEvent:
        """The typed event for a stored one, upcast to the current schema."""
        return self.domain_event(
            recorded.event_type,
            recorded.schema_version,
            recorded.data,
            recorded.aggregate_id,
            recorded.version,
        )

    def domain_event(
        self, name: str, schema_version: int, data: JSONObject, aggregate_id: str, version: int
    ) -> DomainEvent:
        """The typed event for ``data`` stored as ``name`` at ``schema_version``, upcast to the
        current schema (``aggregate_id`` and ``version`` say where it is stored, in errors)."""
        cls = self._classes.get(name) or self.class_for(name)
        if schema_version != cls.schema_version:
            data = self.upcast(name, data, schema_version)
        try:
            return cls(**data)
        except TypeError as exc:
            raise UpcastError(
                f"stored {name} v{schema_version} at {aggregate_id}@{version} "
                f"does not fit {cls.__name__}: {exc}"
            ) from exc

    def domain_events(
        self, changes: Iterable[tuple[str, int, JSONObject]], aggregate_id: str, first: int
    ) -> Iterator[DomainEvent]:
        """The typed events for a replay's ``(event_type, schema_version, data)`` changes, the
        first stored at version ``first``: :meth:`domain_event` for each, with the common case
        (a registered class at its current schema) inline, as a long replay spends its time here.
        """
        classes = self._classes
        for version, (name, schema_version, data) in enumerate(changes, first):
            cls = classes.get(name)
            if cls is not None and schema_version == cls.schema_version:
                try:
                    event = cls(**data)
                except TypeError:
                    pass  # domain_event raises the error that names the event
                else:
                    yield event
                    continue
            yield self.domain_event(name, schema_version, data, aggregate_id, version)

    def to_new_event(
        self,
        event: DomainEvent,
        *,
        metadata: JSONObject | None = None,
        event_id: str | None = None,
    ) -> NewEvent:
        """The :class:`NewEvent` to append for a typed event."""
        cls = type(event)
        if self._classes.get(cls.event_type) is not cls:
            raise UnknownEventTypeError(f"{cls.__name__} is not registered in this registry")
        return NewEvent(
            cls.event_type,
            event.to_data(),
            metadata=metadata,
            event_id=event_id,
            schema_version=cls.schema_version,
        )


def dispatch_table(
    handlers: dict[type[Any], Callable[..., Any]],
) -> dict[type[Any], Callable[..., Any]]:
    """A copy of a ``{EventClass: handler}`` table, checked to hold only domain event classes."""
    for cls in handlers:
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
            raise TypeError(f"{cls!r} is not a domain event class")
    return dict(handlers)
