"""Chronicle: an event-sourced, tamper-evident audit trail.

The public surface of the library. ``open_store()`` gives the configured event store;
``NewEvent`` is what you append; ``RecordedEvent`` is what you read back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chronicle.errors import (
    ChronicleError,
    ConcurrencyError,
    ConfigurationError,
    DuplicateEventError,
    EventTooLargeError,
    ImmutableEventError,
    InvalidEventError,
    SchemaVersionError,
    StoreUnavailableError,
    UnknownAggregateError,
)
from chronicle.events import NewEvent, RecordedEvent
from chronicle.store.ports import EventStore
from chronicle.store.records import Snapshot, StoreStats

if TYPE_CHECKING:
    from chronicle.bootstrap import open_store

__version__ = "0.1.0"

__all__ = [
    "ChronicleError",
    "ConcurrencyError",
    "ConfigurationError",
    "DuplicateEventError",
    "EventStore",
    "EventTooLargeError",
    "ImmutableEventError",
    "InvalidEventError",
    "NewEvent",
    "RecordedEvent",
    "SchemaVersionError",
    "Snapshot",
    "StoreStats",
    "StoreUnavailableError",
    "UnknownAggregateError",
    "__version__",
    "open_store",
]


def __getattr__(name: str) -> Any:
    # The composition root loads settings (pydantic) and whatever it picks adapters from; a
    # program that imports only the domain (`chronicle.events`, `chronicle.chat.domain`) goes
    # through this package and must not load them.
    if name == "open_store":
        from chronicle.bootstrap import open_store

        globals()["open_store"] = open_store
        return open_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "open_store"})
