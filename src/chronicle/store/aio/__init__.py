"""The async API: the event store's contract as coroutines, for FastAPI and other ASGI apps.

    store = await open_async_store("postgresql://…")
    await store.append("message-1", [NewEvent("MessagePosted", {...})],
                       expected_version=0, aggregate_type="Message")
    async for events in follow(store):
        ...

PostgreSQL runs on psycopg's ``AsyncConnectionPool``; SQLite and the in-memory store, which
have no non-blocking driver, on worker threads of the store's own (see :mod:`.threaded`).
"""

from __future__ import annotations

import asyncio

from chronicle.config import EventConfig, get_settings

from .follow import follow
from .ports import AsyncEventStore
from .threaded import ThreadedAsyncStore

__all__ = ["AsyncEventStore", "ThreadedAsyncStore", "follow", "open_async_store"]


async def open_async_store(
    url: str | None = None, *, settings: EventConfig | None = None
) -> AsyncEventStore:
    """The async store for ``url`` (as :func:`chronicle.bootstrap.open_store` takes it), its
    schema created or upgraded first; ``await store.close()`` when done."""
    from chronicle.bootstrap import open_store

    settings = settings or get_settings()
    url = url or settings.store_url
    if not url.startswith(("postgresql://", "postgres://")):
        store = await asyncio.to_thread(open_store, url, settings=settings)
        return ThreadedAsyncStore(store)
    from chronicle.store.postgres.aio import AsyncPostgresEventStore

    # Migrations are the sync store's (one advisory lock, one place): run once, then closed.
    migrated = await asyncio.to_thread(open_store, url, settings=settings)
    migrated.close()
    return await AsyncPostgresEventStore.open(
        url,
        min_connections=settings.pg_pool_min,
        max_connections=settings.pg_pool_max,
        connect_timeout=settings.connect_timeout,
        max_event_bytes=settings.max_event_bytes,
    )
