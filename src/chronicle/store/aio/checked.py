"""The async store's public face: the sync store's checks, then the hooks a driver awaits.

Every argument goes through the same function of :mod:`chronicle.store.arguments` that the sync
:class:`~chronicle.store.checked.CheckedStore` calls, before any connection is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chronicle.events import NewEvent, RecordedEvent, Replay
from chronicle.store import arguments
from chronicle.store.codec import canonical_object
from chronicle.store.prepare import PreparedAppend, check_name, prepare_append
from chronicle.store.queries import Filters
from chronicle.store.records import Snapshot


class AsyncCheckedStore:
    """Checks arguments, then awaits the ``_hooks`` an async driver implements."""

    backend: str
    _max_event_bytes: int = 1024 * 1024

    # -- hooks -------------------------------------------------------------------------------

    async def _append(self, batch: PreparedAppend) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _events_of_aggregates(self, aggregate_ids: tuple[str, ...]) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _replay(self, aggregate_id: str, from_version: int, to_version: int | None) -> Replay:
        raise NotImplementedError

    async def _event_by_id(self, event_id: str) -> RecordedEvent | None:
        raise NotImplementedError

    async def _aggregate_version(self, aggregate_id: str) -> int:
        raise NotImplementedError

    async def _event_count(self, aggregate_id: str | None) -> int:
        raise NotImplementedError

    async def _read_all(self, after: int, limit: int) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _search(
        self, filters: Filters, after: int, limit: int, *, newest_first: bool
    ) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        raise NotImplementedError

    async def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        raise NotImplementedError

    async def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        raise NotImplementedError

    # -- the event log -----------------------------------------------------------------------

    async def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
    ) -> list[RecordedEvent]:
        batch = prepare_append(
            aggregate_id,
            events,
            expected_version=expected_version,
            aggregate_type=aggregate_type,
            user_id=user_id,
            max_event_bytes=self._max_event_bytes,
            personal=None,
        )
        return await self._append(batch)

    async def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        checked = arguments.aggregate_range(aggregate_id, from_version, to_version)
        return await self._aggregate_events(*checked)

    async def get_events_for_aggregates(
        self, aggregate_ids: Sequence[str]
    ) -> dict[str, list[RecordedEvent]]:
        ids = arguments.aggregate_ids(aggregate_ids)
        return arguments.by_aggregate(ids, await self._events_of_aggregates(ids) if ids else [])

    async def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        return await self._replay(*arguments.replay_range(aggregate_id, from_version, to_version))

    async def get_event(self, event_id: str) -> RecordedEvent | None:
        canonical = arguments.event_id_or_none(event_id)
        return None if canonical is None else await self._event_by_id(canonical)

    async def get_aggregate_version(self, aggregate_id: str) -> int:
        return await self._aggregate_version(check_name(aggregate_id, "aggregate_id"))

    async def get_event_count(self, aggregate_id: str | None = None) -> int:
        return await self._event_count(arguments.optional_aggregate(aggregate_id))

    # -- the log in commit order -------------------------------------------------------------

    async def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return await self._read_all(*arguments.log_page(after, limit))

    async def search_events(
        self,
        *,
        user_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        aggregate_type: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[RecordedEvent]:
        filters, cursor, limit, newest_first = arguments.search_page(
            user_id=user_id,
            user_ids=user_ids,
            aggregate_type=aggregate_type,
            event_type=event_type,
            since=since,
            until=until,
            after=after,
            limit=limit,
            newest_first=newest_first,
        )
        return await self._search(filters, cursor, limit, newest_first=newest_first)

    async def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        return await self._all_events(*arguments.time_page(since, until, limit, offset))

    async def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        return await self._newest_of_type(*arguments.type_page(event_type, since, limit))

    # -- snapshots ---------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        arguments.snapshot_to_save(snapshot)
        await self._save_snapshot(snapshot, canonical_object(snapshot.state, "snapshot state"))

    async def load_snapshot(
        self, aggregate_id: str, max_version: int | None = None
    ) -> Snapshot | None:
        return await self._load_snapshot(*arguments.snapshot_to_load(aggregate_id, max_version))
