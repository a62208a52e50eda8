"""The arguments of the store's reads and writes, checked and normalised, written once.

The sync store (:class:`chronicle.store.checked.CheckedStore`) and the async one
(:class:`chronicle.store.aio.checked.AsyncCheckedStore`) both call these before any I/O, so the
same bad input gets the same ``InvalidEventError`` through either API, on every backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from chronicle.errors import InvalidEventError
from chronicle.events import RecordedEvent
from chronicle.store.prepare import check_event_id, check_name, check_version
from chronicle.store.queries import Filters, check_limit, search_filters
from chronicle.store.records import Snapshot

VersionRange = tuple[str, int, int | None]
"""An aggregate id with the first and last version asked for (None: up to its head)."""


def aggregate_range(aggregate_id: str, from_version: int, to_version: int | None) -> VersionRange:
    check_name(aggregate_id, "aggregate_id")
    check_version(from_version, "from_version", allow_none=False)
    check_version(to_version, "to_version", allow_none=True)
    return aggregate_id, from_version, to_version


MAX_AGGREGATES = 1000
"""At most this many aggregate ids in one ``get_events_for_aggregates``."""


def aggregate_ids(aggregate_ids: object) -> tuple[str, ...]:
    """``aggregate_ids`` checked, each once, in the order given."""
    if not isinstance(aggregate_ids, list | tuple) or len(aggregate_ids) > MAX_AGGREGATES:
        raise InvalidEventError(
            f"aggregate_ids must be a list of at most {MAX_AGGREGATES} aggregate ids, "
            f"got {aggregate_ids!r:.60}"
        )
    return tuple(dict.fromkeys(check_name(each, "aggregate_id") for each in aggregate_ids))


def by_aggregate(
    aggregate_ids: tuple[str, ...], events: Iterable[RecordedEvent]
) -> dict[str, list[RecordedEvent]]:
    """``events`` (each aggregate's in version order) under their aggregate's id, every id of
    ``aggregate_ids`` present, in that order (an aggregate with no events has an empty list)."""
    grouped: dict[str, list[RecordedEvent]] = {aggregate_id: [] for aggregate_id in aggregate_ids}
    for event in events:
        grouped[event.aggregate_id].append(event)
    return grouped


def replay_range(aggregate_id: str, from_version: int, to_version: int | None) -> VersionRange:
    """As :func:`aggregate_range`; a replay starts at version 1 at the earliest."""
    aggregate_id, from_version, to_version = aggregate_range(aggregate_id, from_version, to_version)
    return aggregate_id, max(from_version, 1), to_version


def optional_aggregate(aggregate_id: str | None) -> str | None:
    return None if aggregate_id is None else check_name(aggregate_id, "aggregate_id")


def event_id_or_none(event_id: object) -> str | None:
    """The canonical spelling of ``event_id``, or None when it cannot name an event (a lookup
    of it then finds nothing, as a lookup of an id never stored does)."""
    try:
        return check_event_id(event_id)
    except InvalidEventError:
        return None


def log_page(after: int | None, limit: int) -> tuple[int, int]:
    """The cursor (0 before the first event) and page size of a read in commit order."""
    check_version(after, "after", allow_none=True)
    return after or 0, check_limit(limit)


SearchPage = tuple[Filters, int, int, bool]
"""An audit search's filters, cursor, page size and direction (newest first or not)."""


def search_page(
    *,
    user_id: str | None,
    user_ids: Sequence[str] | None,
    aggregate_type: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    after: int | None,
    limit: int,
    newest_first: bool,
) -> SearchPage:
    check_version(after, "after", allow_none=True)
    check_limit(limit)
    if type(newest_first) is not bool:
        raise InvalidEventError(f"newest_first must be True or False, got {newest_first!r:.40}")
    filters = search_filters(
        user_id=user_id,
        user_ids=user_ids,
        aggregate_type=aggregate_type,
        event_type=event_type,
        since=since,
        until=until,
    )
    return filters, after or 0, limit, newest_first


def time_page(
    since: datetime | None, until: datetime | None, limit: int, offset: int
) -> tuple[Filters, int, int]:
    check_limit(limit)
    check_version(offset, "offset", allow_none=False)
    return search_filters(since=since, until=until), limit, offset


def type_page(event_type: str, since: datetime | None, limit: int) -> tuple[Filters, int]:
    check_name(event_type, "event_type")
    check_limit(limit)
    return search_filters(event_type=event_type, since=since), limit


def snapshot_to_save(snapshot: Snapshot) -> Snapshot:
    check_name(snapshot.aggregate_id, "aggregate_id")
    check_version(snapshot.version, "version", allow_none=False)
    return snapshot


def snapshot_to_load(aggregate_id: str, max_version: int | None) -> tuple[str, int | None]:
    check_name(aggregate_id, "aggregate_id")
    check_version(max_version, "max_version", allow_none=True)
    return aggregate_id, max_version
