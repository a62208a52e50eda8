"""Loading and saving aggregates through an event store.

Load: the newest valid snapshot, then only the events after it. A snapshot is valid when it is
attested (the snapshot attestor replayed its events, sealed, to the same state, and the stored
state still has the attested digest: see :mod:`chronicle.integrity.attestation`) and was written
for the same aggregate type under the class's current ``STATE_SCHEMA_VERSION``. Snapshots are
caches, never evidence: any other snapshot (not attested yet, forged, changed, of an older
shape) is ignored, never mis-loaded, and the aggregate is rebuilt from its events.

Save: the aggregate's pending events in ONE append (all or none) with the version the aggregate
was loaded at as the expected version; a stale one raises ``ConcurrencyError`` and writes nothing.
Every ``snapshot_interval`` events the repository also stores a snapshot (0 turns them off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.errors import (
    AggregateTypeError,
    ArchivedHistoryError,
    ChronicleError,
    ConcurrencyError,
    InvalidEventError,
    UnknownAggregateError,
)
from chronicle.events import JSONObject, RecordedEvent
from chronicle.store.ports import AggregateStore, InlineHandler, Session
from chronicle.store.prepare import check_version
from chronicle.store.records import Snapshot

A = TypeVar("A", bound=Aggregate)

# How many older snapshots to try when the newest one is not valid for the current code.
_SNAPSHOT_FALLBACKS = 3


def valid_snapshot(
    store: AggregateStore, cls: type[Aggregate], aggregate_id: str, max_version: int | None = None
) -> Snapshot | None:
    """The newest attested snapshot at or below ``max_version`` that ``cls`` can load, if any."""
    snapshot = store.load_attested_snapshot(aggregate_id, max_version)
    for _ in range(_SNAPSHOT_FALLBACKS):
        if snapshot is None:
            return None
        if (
            snapshot.aggregate_type == cls.aggregate_type
            and snapshot.state_schema_version == cls.STATE_SCHEMA_VERSION
        ):
            return snapshot
        if snapshot.version <= 1:
            return None
        snapshot = store.load_attested_snapshot(aggregate_id, snapshot.version - 1)
    return None


def load_aggregate(
    store: AggregateStore,
    cls: type[A],
    aggregate_id: str,
    *,
    to_version: int | None = None,
    use_snapshots: bool = True,
    snapshots_up_to: int | None = None,
) -> A:
    """``aggregate_id`` rebuilt as ``cls``, up to ``to_version`` (default: its newest version).

    ``snapshots_up_to``: use no snapshot newer than this version (checking a snapshot against
    an older one). Raises ``UnknownAggregateError`` when nothing is stored for it,
    ``AggregateTypeError`` when its events belong to another aggregate type.
    """
    if to_version is not None and (type(to_version) is not int or to_version < 1):
        raise InvalidEventError(f"a version is a whole number from 1, not {to_version!r}")
    newest = (
        to_version
        if snapshots_up_to is None
        else min(to_version or snapshots_up_to, snapshots_up_to)
    )
    snapshot = valid_snapshot(store, cls, aggregate_id, newest) if use_snapshots else None
    if snapshot is not None:
        aggregate = cls.from_snapshot(aggregate_id, snapshot.version, snapshot.state)
    else:
        aggregate = cls(aggregate_id)
    if to_version is not None and aggregate.version == to_version:
        return aggregate
    first = aggregate.version + 1
    replay = store.get_replay(aggregate_id, first, to_version)
    changes = replay.changes
    if not changes and aggregate.version == 0:
        missing = _first_missing(store, aggregate_id, 1)
        raise (
            missing
            if isinstance(missing, ArchivedHistoryError)
            else UnknownAggregateError(aggregate_id)
        )
    if changes and replay.aggregate_type is None:  # the first version asked for is not stored
        raise _first_missing(store, aggregate_id, first)
    if changes and replay.aggregate_type != cls.aggregate_type:
        raise AggregateTypeError(aggregate_id, cls.aggregate_type, str(replay.aggregate_type))
    aggregate.apply_all(cls.registry.domain_events(changes, aggregate_id, first))
    if to_version is not None and aggregate.version < to_version:
        raise InvalidEventError(
            f"aggregate {aggregate_id!r} has {aggregate.version} events, "
            f"so it has no version {to_version}"
        )
    return aggregate


def _first_missing(store: AggregateStore, aggregate_id: str, version: int) -> ChronicleError:
    """Why a load found the aggregate's events from a later version on only: retention archived
    the earlier ones and no snapshot at the cut loads for this code (say, after its state schema
    changed), or they are missing."""
    head = getattr(store, "retention_head", None)
    kept = head(aggregate_id) if head is not None and _retains(store) else None
    if kept is not None:
        return ArchivedHistoryError(aggregate_id, kept.version)
    return InvalidEventError(f"version {version} of {aggregate_id!r} is not stored")


def _retains(store: object) -> bool:
    return bool(getattr(getattr(store, "capabilities", None), "retention", False))


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[A]):
    """What :meth:`Repository.execute` gives back: the aggregate as saved and its new events."""

    aggregate: A
    events: list[RecordedEvent]
    attempts: int


class Repository(Generic[A]):
    """Loads and saves aggregates of one class through an event store.

    ``snapshot_interval``: store a snapshot each time an aggregate's version crosses a multiple of
    it; ``0`` turns snapshots off (loading still uses snapshots already stored). The composition
    root passes ``EVENT_STORE_SNAPSHOT_INTERVAL``. ``inline``: applied inside each save's
    transaction (the inline projections).
    """

    def __init__(
        self,
        store: AggregateStore,
        cls: type[A],
        *,
        snapshot_interval: int = 0,
        inline: InlineHandler | None = None,
    ) -> None:
        if type(snapshot_interval) is not int or snapshot_interval < 0:
            raise InvalidEventError("snapshot_interval is a whole number from 0 (0: off)")
        self.store = store
        self.cls = cls
        self.snapshot_interval = snapshot_interval
        self.inline = inline

    def load(self, aggregate_id: str) -> A:
        """The aggregate at its newest version (``UnknownAggregateError`` when absent)."""
        return load_aggregate(self.store, self.cls, aggregate_id)

    def save(
        self,
        aggregate: A,
        *,
        user_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        metadata: JSONObject | None = None,
        also: InlineHandler | None = None,
    ) -> list[RecordedEvent]:
        """Append the aggregate's pending events atomically; return them as stored.

        The expected version is the one the aggregate was loaded at (0 for a new one), so a
        concurrent writer makes this raise ``ConcurrencyError`` and nothing is written. Without
        a ``correlation_id`` the events of one save share the first event's id as theirs.
        ``also`` runs in the append's transaction after the repository's ``inline`` (a write
        that belongs to this one command, e.g. a user's credentials).
        """
        pending = aggregate.pending_events
        if not pending:
            return []
        if not isinstance(aggregate, self.cls):
            raise AggregateTypeError(
                aggregate.id, self.cls.aggregate_type, type(aggregate).__name__
            )
        envelope: JSONObject = dict(metadata or {})
        if correlation_id is not None:
            envelope["correlation_id"] = correlation_id
        if causation_id is not None:
            envelope["causation_id"] = causation_id
        to_new_event = self.cls.registry.to_new_event
        expected = aggregate.saved_version
        recorded = self.store.append(
            aggregate.id,
            [to_new_event(event, metadata=dict(envelope)) for event in pending],
            expected_version=expected,
            aggregate_type=self.cls.aggregate_type,
            user_id=user_id,
            inline=combined(self.inline, also),
        )
        aggregate.mark_saved()
        interval = self.snapshot_interval
        if interval and expected // interval < aggregate.version // interval:
            self.save_snapshot(aggregate)
        return recorded

    def save_snapshot(self, aggregate: A) -> None:
        """Store the state of a saved aggregate (one without pending events) at its version."""
        if aggregate.pending_events:
            raise InvalidEventError(f"save {aggregate.id} before taking a snapshot of it")
        self.store.save_snapshot(
            Snapshot(
                aggregate_id=aggregate.id,
                aggregate_type=self.cls.aggregate_type,
                version=aggregate.version,
                state_schema_version=self.cls.STATE_SCHEMA_VERSION,
                state=aggregate.snapshot_state(),
            )
        )

    def execute(
        self,
        aggregate_id: str,
        command: Callable[[A], Any],
        *,
        attempts: int = 3,
        expected_version: int | None = None,
        **save_options: Any,
    ) -> CommandResult[A]:
        """Load, run ``command(aggregate)``, save; after a conflict, do it all again.

        The command runs on a fresh load each time, so it decides against the state the other
        writer left. After ``attempts`` conflicts the last ``ConcurrencyError`` is raised. Domain
        errors raised by the command are not retried. ``save_options`` go to :meth:`save`.

        With ``expected_version`` the caller decided against that version: an aggregate loaded
        at any other raises ``ConcurrencyError`` before the command runs, and a conflict on save
        is raised at once, since a fresh load could only be at another version.
        """
        if type(attempts) is not int or attempts < 1:
            raise InvalidEventError("attempts is a whole number from 1")
        check_version(expected_version, "expected_version", allow_none=True)
        for attempt in range(1, attempts + 1):
            aggregate = self.load(aggregate_id)
            check_expected_version(aggregate, expected_version)
            command(aggregate)
            try:
                events = self.save(aggregate, **save_options)
            except ConcurrencyError:
                if expected_version is not None or attempt == attempts:
                    raise
                continue
            return CommandResult(aggregate, events, attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def check_expected_version(aggregate: Aggregate, expected_version: int | None) -> None:
    """``ConcurrencyError`` unless the aggregate is at ``expected_version`` (None: any version)."""
    if expected_version is not None and aggregate.version != expected_version:
        raise ConcurrencyError(aggregate.id, expected_version, aggregate.version)


def combined(first: InlineHandler | None, second: InlineHandler | None) -> InlineHandler | None:
    """One inline handler that runs ``first`` then ``second`` (either may be None)."""
    if second is None:
        return first
    if first is None:
        return second

    def both(session: Session, recorded: list[RecordedEvent]) -> None:
        first(session, recorded)
        second(session, recorded)

    return both
