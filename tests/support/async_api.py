"""The async API behind the sync port's method names, so the contract suite runs on both APIs.

Each call of a method the async API has runs its coroutine on an event loop in a thread of the
facade's own and waits for the result (the test reads as a sync test; the code under test is
the async store's). What the async API leaves out (administration, seals, the raw access a test
uses to tamper with rows) goes to the sync store on the same database.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from chronicle.store.aio import open_async_store
from chronicle.store.ports import EventStore

ASYNC_METHODS = frozenset(
    {
        "append",
        "get_events_for_aggregate",
        "get_events_for_aggregates",
        "get_replay",
        "get_event",
        "get_aggregate_version",
        "get_event_count",
        "read_all",
        "search_events",
        "get_all_events",
        "get_events_by_type",
        "save_snapshot",
        "load_snapshot",
    }
)


class AsyncFacade:
    def __init__(self, url: str, sync_store: EventStore) -> None:
        self.sync = sync_store
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.aio = self.wait(open_async_store(url))
        if url == "memory://":  # the in-memory store is the one the sync calls see
            self.aio = self.wait(self._over(sync_store))

    async def _over(self, store: EventStore) -> Any:
        from chronicle.store.aio import ThreadedAsyncStore

        await self.aio.close()
        return ThreadedAsyncStore(store)

    def wait(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    def __getattr__(self, name: str) -> Any:
        if name not in ASYNC_METHODS:
            return getattr(self.sync, name)
        method: Callable[..., Coroutine[Any, Any, Any]] = getattr(self.aio, name)
        return lambda *args, **kwargs: self.wait(method(*args, **kwargs))

    def close(self) -> None:
        """Close both stores, as a test's ``store.close()`` closes the one it has."""
        self.wait(self.aio.close())
        self.sync.close()

    def shut_down(self) -> None:
        self.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
