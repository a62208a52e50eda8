"""The async API in its own right: many tasks on one event loop, following new commits, and
both APIs on one store at once. (Its contract, call by call, is the sync contract suite's: see
ASYNC_API_MODULES in tests/conftest.py.)"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from chronicle import ConcurrencyError, EventStore, NewEvent
from chronicle.store.aio import AsyncEventStore, ThreadedAsyncStore, follow, open_async_store
from chronicle.store.postgres.aio import AsyncPostgresEventStore


def posted(text: str) -> NewEvent:
    return NewEvent("MessageCreated", {"content": text, "username": "alice"})


async def opened(url: str, store: EventStore) -> AsyncEventStore:
    # The in-memory store lives in one process object: the async API goes over that one.
    return (
        ThreadedAsyncStore(store, close_store=False)
        if url == "memory://"
        else await open_async_store(url)
    )


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=60))


def test_postgresql_is_served_by_the_async_driver_and_the_others_by_worker_threads(
    store_url: str, store: EventStore
) -> None:
    async def scenario() -> type:
        aio = await opened(store_url, store)
        await aio.close()
        return type(aio)

    expected = AsyncPostgresEventStore if store_url.startswith("postgresql") else ThreadedAsyncStore
    assert run(scenario()) is expected


def test_concurrent_tasks_appending_to_one_aggregate_lose_nothing(
    store_url: str, store: EventStore
) -> None:
    async def scenario() -> list[int]:
        aio = await opened(store_url, store)
        try:
            await asyncio.gather(
                *(
                    aio.append("message_a", [posted(f"m{n}")], expected_version=None,
                               aggregate_type="Message")
                    for n in range(30)
                )
            )  # fmt: skip
            return [event.version for event in await aio.get_events_for_aggregate("message_a")]
        finally:
            await aio.close()

    assert run(scenario()) == list(range(1, 31))
    assert sorted(e.data["content"] for e in store.read_all()) == sorted(f"m{n}" for n in range(30))


def test_of_tasks_expecting_the_same_version_exactly_one_wins(
    store_url: str, store: EventStore
) -> None:
    async def scenario() -> list[object]:
        aio = await opened(store_url, store)
        try:
            return await asyncio.gather(
                *(
                    aio.append("message_a", [posted(f"m{n}")], expected_version=0,
                               aggregate_type="Message")
                    for n in range(8)
                ),
                return_exceptions=True,
            )  # fmt: skip
        finally:
            await aio.close()

    outcomes = run(scenario())
    assert sum(isinstance(outcome, list) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, ConcurrencyError) for outcome in outcomes) == 7
    assert store.get_aggregate_version("message_a") == 1


def test_following_yields_the_backlog_then_what_the_sync_api_commits_later(
    store_url: str, store: EventStore
) -> None:
    store.append("message_a", [posted("before")], expected_version=0, aggregate_type="Message")

    def later() -> None:
        time.sleep(0.3)
        store.append("message_a", [posted("after")], expected_version=1, aggregate_type="Message")

    async def scenario() -> list[str]:
        aio = await opened(store_url, store)
        seen: list[str] = []
        writer = threading.Thread(target=later)
        try:
            async for events in follow(aio, batch_size=10, idle_wait=5.0):
                seen += [event.data["content"] for event in events]
                if len(seen) == 1:
                    writer.start()
                if len(seen) == 2:
                    return seen
        finally:
            writer.join()
            await aio.close()
        return seen

    started = time.monotonic()
    assert run(scenario()) == ["before", "after"]
    # Woken by the commit (LISTEN, SQLite's data version, the memory store's condition), not by
    # the five-second polling fallback.
    assert time.monotonic() - started < 4.0


def test_following_resumes_after_the_position_it_is_given(
    store_url: str, store: EventStore
) -> None:
    for n in range(5):
        store.append("message_a", [posted(f"m{n}")], expected_version=n, aggregate_type="Message")
    third = store.read_all()[2].position

    async def scenario() -> list[str]:
        aio = await opened(store_url, store)
        try:
            async for events in follow(aio, after=third, batch_size=2):
                return [event.data["content"] for event in events]
        finally:
            await aio.close()
        return []

    assert run(scenario()) == ["m3", "m4"]


def test_a_batch_size_that_is_not_a_positive_whole_number_is_refused(
    store_url: str, store: EventStore
) -> None:
    from chronicle import InvalidEventError

    async def scenario() -> None:
        aio = await opened(store_url, store)
        try:
            async for _ in follow(aio, batch_size=0):
                pass
        finally:
            await aio.close()

    with pytest.raises(InvalidEventError):
        run(scenario())
