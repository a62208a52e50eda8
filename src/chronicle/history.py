"""Time travel and audit history of aggregates, as library functions.

``state_at_version`` and ``state_at`` answer "what did this look like then?" (at a version, or at
a timezone-aware instant: the state after the newest event at or before it). ``history`` answers
"who changed what, when": each event with its envelope and the state fields it changed, from what
to what (for the creating event: every field's initial value). ``compare`` answers "what differs
between version N and version M". Text fields named by the caller carry a word-level ``diff``
(:func:`chronicle.word_diff.word_diff`). The aggregate class is chosen from the aggregate type
stored with the events, through a ``{aggregate_type: class}`` mapping such as
``chronicle.chat.domain.CHAT_AGGREGATES``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chronicle.aggregate import Aggregate
from chronicle.errors import (
    AggregateNotYetCreatedError,
    AggregateTypeError,
    ArchivedHistoryError,
    InvalidEventError,
    UnknownAggregateError,
)
from chronicle.events import JSONObject, RecordedEvent
from chronicle.repository import load_aggregate, valid_snapshot
from chronicle.store.ports import EventStore
from chronicle.store.records import RetentionHead
from chronicle.word_diff import word_diff

AggregateClasses = Mapping[str, type[Aggregate]]


@dataclass(frozen=True, slots=True)
class StateAt:
    """An aggregate's state after the event at ``version`` (recorded at ``timestamp``)."""

    aggregate_id: str
    aggregate_type: str
    version: int
    timestamp: datetime
    state: JSONObject

    def to_dict(self) -> JSONObject:
        return {
            "aggregate_id": self.aggregate_id,
            "aggregate_type": self.aggregate_type,
            "version": self.version,
            "timestamp": self.timestamp.isoformat(),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One state field an event changed; for a text field changed from text to text, ``diff``
    holds its word-level parts (None otherwise, and left out of the dict)."""

    field: str
    old: Any
    new: Any
    diff: list[dict[str, str]] | None = None

    def to_dict(self) -> JSONObject:
        change: JSONObject = {"field": self.field, "old": self.old, "new": self.new}
        if self.diff is not None:
            change["diff"] = self.diff
        return change


def field_change(name: str, old: Any, new: Any, text_fields: Collection[str]) -> FieldChange:
    """The change of field ``name``, with a word diff when it is a text field edited."""
    diff = None
    if name in text_fields and isinstance(old, str) and isinstance(new, str):
        diff = word_diff(old, new)
    return FieldChange(name, old, new, diff)


def changes_between(
    before: JSONObject, after: JSONObject, fields: Collection[str], text_fields: Collection[str]
) -> list[FieldChange]:
    """The fields whose value differs between two states, in ``fields`` order."""
    return [
        field_change(name, before[name], after[name], text_fields)
        for name in fields
        if before[name] != after[name]
    ]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of an aggregate's history: who, when, which event, what it changed.

    The event that created the aggregate is ``created``: its changes are the aggregate's
    initial values (``old`` is None), not differences from the class's defaults.
    """

    version: int
    position: int
    event_id: str
    event_type: str
    schema_version: int
    timestamp: datetime
    user_id: str | None
    correlation_id: str | None
    causation_id: str | None
    data: JSONObject
    changes: list[FieldChange]
    created: bool = False

    def to_dict(self) -> JSONObject:
        return {
            "version": self.version,
            "position": self.position,
            "created": self.created,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "timestamp": self.timestamp.isoformat(),
            "user_id": self.user_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": self.data,
            "changes": [change.to_dict() for change in self.changes],
        }


def aggregate_class(
    store: EventStore, aggregates: AggregateClasses, aggregate_id: str
) -> tuple[type[Aggregate], RecordedEvent | None]:
    """The class for ``aggregate_id`` (from its stored aggregate type) and its first event, or
    None when retention archived it (the type is then the snapshot's at the cut)."""
    first = store.get_events_for_aggregate(aggregate_id, 1, 1)
    kind = first[0].aggregate_type if first else None
    if not first and archived_up_to(store, aggregate_id):
        snapshot = store.load_attested_snapshot(aggregate_id, archived_up_to(store, aggregate_id))
        kind = snapshot.aggregate_type if snapshot is not None else None
    if kind is None:
        raise UnknownAggregateError(aggregate_id)
    cls = aggregates.get(kind)
    if cls is None:
        raise AggregateTypeError(aggregate_id, " or ".join(sorted(aggregates)), kind)
    return cls, first[0] if first else None


def archived_up_to(store: EventStore, aggregate_id: str) -> int:
    """The version up to which retention moved the aggregate's events to the archive (0: none);
    the store's history starts at the version after."""
    head = _kept_head(store, aggregate_id)
    return 0 if head is None else head.version


def _kept_head(store: EventStore, aggregate_id: str) -> RetentionHead | None:
    if not getattr(store.capabilities, "retention", False):
        return None
    head: RetentionHead | None = store.retention_head(aggregate_id)  # type: ignore[attr-defined]
    return head


def state_at_version(
    store: EventStore, aggregates: AggregateClasses, aggregate_id: str, version: int | None = None
) -> StateAt:
    """The state after the first ``version`` events (default: all of them).

    Starts from the newest valid snapshot at or below ``version``. A version below 1 or beyond
    the aggregate's newest raises ``InvalidEventError``.
    """
    cls, _ = aggregate_class(store, aggregates, aggregate_id)
    head = _kept_head(store, aggregate_id)
    if head is not None and version is not None and version < head.version:
        raise ArchivedHistoryError(aggregate_id, head.version)
    aggregate = load_aggregate(store, cls, aggregate_id, to_version=version)
    if head is not None and aggregate.version == head.version:
        timestamp = head.timestamp  # the event itself is archived; the store kept its instant
    else:
        stored = store.get_events_for_aggregate(aggregate_id, aggregate.version, aggregate.version)
        timestamp = stored[0].timestamp
    return StateAt(
        aggregate_id, cls.aggregate_type, aggregate.version, timestamp, aggregate.state()
    )


def state_at(
    store: EventStore, aggregates: AggregateClasses, aggregate_id: str, instant: datetime
) -> StateAt:
    """The state after the newest event recorded at or before ``instant`` (timezone-aware),
    rebuilt from the newest valid snapshot at or below that event's version.

    Raises ``AggregateNotYetCreatedError`` when ``instant`` is before the first event.
    """
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise InvalidEventError(
            f"an instant must be timezone-aware (e.g. 2024-01-01T10:00:00+00:00), not {instant!r}"
        )
    cls, first = aggregate_class(store, aggregates, aggregate_id)
    head = _kept_head(store, aggregate_id)
    if head is not None and instant < head.timestamp:
        raise ArchivedHistoryError(aggregate_id, head.version)
    if first is not None and instant < first.timestamp:
        raise AggregateNotYetCreatedError(
            aggregate_id, instant.isoformat(), first.timestamp.isoformat()
        )
    recorded = {event.version: event for event in store.get_events_for_aggregate(aggregate_id)}
    instants = {version: event.timestamp for version, event in recorded.items()}
    if head is not None:
        instants[head.version] = head.timestamp  # the last archived event, kept with its instant
    # The newest event at or before the instant, by version: a clock that stepped back between
    # two appends cannot make a later event count as earlier than one already counted.
    version = max(version for version, at in instants.items() if at <= instant)
    # From the newest valid snapshot at or below that version, as ``state_at_version``.
    aggregate = load_aggregate(store, cls, aggregate_id, to_version=version)
    return StateAt(aggregate_id, cls.aggregate_type, version, instants[version], aggregate.state())


def history(
    store: EventStore,
    aggregates: AggregateClasses,
    aggregate_id: str,
    text_fields: Collection[str] = (),
) -> list[HistoryEntry]:
    """Every event of the aggregate, oldest first, with the state fields each one changed (a
    word diff for each of ``text_fields`` edited)."""
    cls, _ = aggregate_class(store, aggregates, aggregate_id)
    archived = archived_up_to(store, aggregate_id)
    start = None
    if archived:  # the store's history starts after the cut, from the snapshot taken there
        snapshot = valid_snapshot(store, cls, aggregate_id, archived)
        if snapshot is None or snapshot.version != archived:
            raise ArchivedHistoryError(aggregate_id, archived)
        start = cls.from_snapshot(aggregate_id, snapshot.version, snapshot.state)
    return history_of_events(
        cls, aggregate_id, store.get_events_for_aggregate(aggregate_id), text_fields, start
    )


def history_of_events(
    cls: type[Aggregate],
    aggregate_id: str,
    events: Iterable[RecordedEvent],
    text_fields: Collection[str] = (),
    start: Aggregate | None = None,
) -> list[HistoryEntry]:
    """:func:`history` over the aggregate's events as given, in version order, from version 1
    (the archive's events then the store's: ``chronicle history --include-archive``) or after
    ``start``, the aggregate as it was before the first of them."""
    aggregate = start if start is not None else cls(aggregate_id)
    to_domain = cls.registry.to_domain
    entries = []
    before = aggregate.state()
    for recorded in events:
        event = to_domain(recorded)
        aggregate.apply(event)
        after = aggregate.state()
        created = recorded.version == 1
        if created:
            changes = [FieldChange(name, None, after[name]) for name in cls.STATE_FIELDS]
        else:
            changes = changes_between(before, after, cls.STATE_FIELDS, text_fields)
        entries.append(
            HistoryEntry(
                version=recorded.version,
                position=recorded.position,
                event_id=recorded.event_id,
                event_type=recorded.event_type,
                schema_version=recorded.schema_version,
                timestamp=recorded.timestamp,
                user_id=recorded.user_id,
                correlation_id=recorded.correlation_id,
                causation_id=recorded.causation_id,
                data=event.to_data(),
                changes=changes,
                created=created,
            )
        )
        before = after
    return entries


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two versions of one aggregate: both states and the fields that differ between them."""

    older: StateAt
    newer: StateAt
    changes: list[FieldChange]

    def to_dict(self) -> JSONObject:
        return {
            "aggregate_id": self.older.aggregate_id,
            "aggregate_type": self.older.aggregate_type,
            "from": self.older.to_dict(),
            "to": self.newer.to_dict(),
            "changes": [change.to_dict() for change in self.changes],
        }


def compare(
    store: EventStore,
    aggregates: AggregateClasses,
    aggregate_id: str,
    from_version: int,
    to_version: int,
    text_fields: Collection[str] = (),
) -> Comparison:
    """The states after ``from_version`` and after ``to_version`` events, and what differs.

    Either order is allowed (``changes`` go from the first to the second); a version below 1 or
    beyond the aggregate's newest raises ``InvalidEventError``.
    """
    cls, _ = aggregate_class(store, aggregates, aggregate_id)
    newest = store.get_aggregate_version(aggregate_id)
    for name, version in (("from", from_version), ("to", to_version)):
        if not 1 <= version <= newest:
            raise InvalidEventError(
                f"{name}={version} is not a version of {aggregate_id} (it has 1 to {newest})"
            )
    older = state_at_version(store, aggregates, aggregate_id, from_version)
    newer = state_at_version(store, aggregates, aggregate_id, to_version)
    return Comparison(
        older, newer, changes_between(older.state, newer.state, cls.STATE_FIELDS, text_fields)
    )
