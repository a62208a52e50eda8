"""The async API over a sync store that has no non-blocking driver: SQLite and the in-memory
store.

SQLite's library blocks the calling thread for every statement, so an async path to it runs
each call on a worker thread (as ``aiosqlite`` does) and awaits the result: the event loop
never blocks, and the work is the sync store's own, checks, statements and all. Workers are the
store's own, not the loop's default executor, so a slow disk cannot starve the application's
other thread-pool work, and each worker keeps its SQLite read connection.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from chronicle.errors import StoreUnavailableError
from chronicle.events import NewEvent, RecordedEvent, Replay
from chronicle.store.ports import EventStore, Wakeup
from chronicle.store.records import Snapshot

T = TypeVar("T")


class ThreadedAsyncStore:
    """``store``'s methods as coroutines, each run on one of ``workers`` threads. ``close``
    closes ``store`` too, unless ``close_store`` is false (a store shared with sync code)."""

    def __init__(self, store: EventStore, *, workers: int = 4, close_store: bool = True) -> None:
        self.store = store
        self._close_store = close_store
        self.backend = store.backend
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="chronicle-store")
        self._waiter = ThreadPoolExecutor(1, thread_name_prefix="chronicle-wakeup")
        self._wakeup: Wakeup | None = None
        self._closed = False

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise StoreUnavailableError("the event store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._workers, functools.partial(call, *args, **kwargs))

    async def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
    ) -> list[RecordedEvent]:
        return await self._run(
            self.store.append,
            aggregate_id,
            events,
            expected_version=expected_version,
            aggregate_type=aggregate_type,
            user_id=user_id,
        )

    async def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        return await self._run(
            self.store.get_events_for_aggregate, aggregate_id, from_version, to_version
        )

    async def get_events_for_aggregates(
        self, aggregate_ids: Sequence[str]
    ) -> dict[str, list[RecordedEvent]]:
        return await self._run(self.store.get_events_for_aggregates, aggregate_ids)

    async def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        return await self._run(self.store.get_replay, aggregate_id, from_version, to_version)

    async def get_event(self, event_id: str) -> RecordedEvent | None:
        return await self._run(self.store.get_event, event_id)

    async def get_aggregate_version(self, aggregate_id: str) -> int:
        return await self._run(self.store.get_aggregate_version, aggregate_id)

    async def get_event_count(self, aggregate_id: str | None = None) -> int:
        return await self._run(self.store.get_event_count, aggregate_id)

    async def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return await self._run(self.store.read_all, after, limit)

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
        return await self._run(
            self.store.search_events,
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

    async def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        return await self._run(self.store.get_all_events, since, until, limit, offset)

    async def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        return await self._run(self.store.get_events_by_type, event_type, since, limit)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await self._run(self.store.save_snapshot, snapshot)

    async def load_snapshot(
        self, aggregate_id: str, max_version: int | None = None
    ) -> Snapshot | None:
        return await self._run(self.store.load_snapshot, aggregate_id, max_version)

    async def wait_for_commits(self, timeout: float) -> None:
        """The sync store's wake-up, waited on by a thread of its own (so a wait never holds
        a worker that a read or an append needs)."""
        if self._wakeup is None:
            self._wakeup = await self._run(self.store.open_wakeup)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._waiter, self._wakeup.wait, timeout)

    async def close(self) -> None:
        """Close the store after the calls in flight end (a close never cuts one off); later
        calls get ``StoreUnavailableError``, as the sync store's do."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        if self._wakeup is not None:
            self._wakeup.close()
        self._waiter.shutdown(wait=True)
        self._workers.shutdown(wait=True)
        if self._close_store:
            self.store.close()
