"""Chronicle: an event-sourced, tamper-evident audit trail.

The public surface of the library. ``open_store()`` gives the configured event store;
``NewEvent`` is what you append; ``RecordedEvent`` is what you read back.
"""

from chronicle.bootstrap import open_store
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
from chronicle.store.protocol import EventStore, Snapshot, StoreStats

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
