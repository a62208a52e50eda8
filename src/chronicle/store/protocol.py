"""The event store contract every backend fulfils (the contract test suite holds them to it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from chronicle.events import NewEvent, RecordedEvent
from chronicle.store.session import Session
from chronicle.store.wakeup import Wakeup

InlineHandler = Callable[[Session, list[RecordedEvent]], None]
"""Called inside an append's transaction with the events just recorded (inline projections)."""


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What ``chronicle stats`` prints."""

    backend: str
    total_events: int
    aggregates: int
    by_aggregate_type: dict[str, int]
    by_event_type: dict[str, int]
    oldest_event: datetime | None
    newest_event: datetime | None
    size_bytes: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "total_events": self.total_events,
            "aggregates": self.aggregates,
            "by_aggregate_type": self.by_aggregate_type,
            "by_event_type": self.by_event_type,
            "oldest_event": self.oldest_event.isoformat() if self.oldest_event else None,
            "newest_event": self.newest_event.isoformat() if self.newest_event else None,
            "size_bytes": self.size_bytes,
            "schema_version": self.schema_version,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An aggregate's state at ``version``, written under ``state_schema_version``."""

    aggregate_id: str
    aggregate_type: str
    version: int
    state_schema_version: int
    state: dict[str, Any]
    created_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Seal:
    """A numbered integrity checkpoint recorded by the sealer.

    ``head`` is the log chain over every event in commit order up to and including the event at
    ``position``; ``event_count`` is how many events that chain covers; ``last_hash`` is the
    integrity hash of that last event (so a verifier finds it again even if positions moved). ``signature`` is the
    Ed25519 signature of the seal's canonical payload (see :mod:`chronicle.integrity.seals`),
    made with the private key whose public half is ``public_key``; both are None when unsigned.
    """

    number: int
    position: int
    event_count: int
    head: bytes
    last_hash: bytes
    sealed_at: datetime
    public_key: bytes | None = None
    signature: bytes | None = None


@runtime_checkable
class EventStore(Protocol):
    """An append-only log of events, per aggregate and in global commit order."""

    backend: str

    def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
        inline: InlineHandler | None = None,
    ) -> list[RecordedEvent]:
        """Append all events or none, at versions ``expected_version + 1, + 2, …``.

        ``expected_version=None`` appends at whatever the current version is; ``0`` requires that
        the aggregate does not exist yet. A stale expected version raises ``ConcurrencyError``.
        Re-sending a batch whose event ids are already stored at those versions returns the
        stored events and writes nothing. ``inline`` runs inside the append's transaction (an
        exception there rolls the append back).
        """
        ...

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        """The aggregate's events with ``from_version <= version <= to_version``, in order."""
        ...

    def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        """The newest ``limit`` events of a type (newest first), optionally at or after ``since``."""
        ...

    def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        """A page of events in commit order, optionally within ``[since, until]``."""
        ...

    def get_aggregate_version(self, aggregate_id: str) -> int:
        """The aggregate's current version; 0 when it has no events."""
        ...

    def get_event_count(self, aggregate_id: str | None = None) -> int: ...

    def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """The whole log in commit order, continuing after the event at position ``after``.

        Never skips an event committed by a concurrent writer: an event that is not yet safe to
        hand out is held back until every earlier transaction has finished.
        """
        ...

    def search_events(
        self,
        *,
        user_id: str | None = None,
        aggregate_type: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """A page of the events matching every filter given, in commit order after ``after``.

        The cursor works as in ``read_all`` (pass the last event's ``position``), so paging never
        skips nor repeats an event while writers go on. ``since``/``until`` are inclusive,
        timezone-aware bounds on the timestamp. Bad arguments raise ``InvalidEventError``.
        """
        ...

    def read_visible(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """Like ``read_all`` but without holding back events behind running transactions.

        Only for idempotent catch-up (a read-model swap): a transaction still running may later
        commit events *before* these in commit order, so never move a follower's checkpoint
        past what ``read_all`` returned.
        """
        ...

    def lag(self, after: int | None) -> tuple[int, float]:
        """Events stored after the cursor, and the age in seconds of the oldest of them."""
        ...

    def session(self) -> AbstractContextManager[Session]:
        """A transaction on the store's database, for read models and their checkpoints."""
        ...

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only view of the store's database (read-model queries; never blocks writers)."""
        ...

    def open_wakeup(self) -> Wakeup:
        """A waiter for log followers, woken soon after new events commit."""

    def save_snapshot(self, snapshot: Snapshot) -> None: ...

    def load_snapshot(self, aggregate_id: str, max_version: int | None = None) -> Snapshot | None:
        """The newest snapshot of the aggregate at or below ``max_version``."""
        ...

    def get_checkpoint(self, name: str) -> int | None:
        """The position a named follower (relay, sealer, …) has processed up to, if any."""
        ...

    def set_checkpoint(self, name: str, position: int) -> None:
        """Record that the named follower has processed everything up to ``position``."""
        ...

    def append_seal(self, seal: Seal) -> None:
        """Record a seal; ``SealConflictError`` when its number is taken (nothing is written)."""
        ...

    def get_seals(self, after: int = 0, limit: int = 1000) -> list[Seal]:
        """Seals with ``number > after``, in number order."""
        ...

    def latest_seal(self) -> Seal | None: ...

    def create_app_role(self, role: str) -> list[str]:
        """Create (or update) a role that may only INSERT and SELECT events; return the SQL run.

        ``UnsupportedOperationError`` where the backend has no roles (SQLite).
        """
        ...

    def stats(self) -> StoreStats: ...

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in force. Idempotent."""
        ...

    def close(self) -> None: ...
