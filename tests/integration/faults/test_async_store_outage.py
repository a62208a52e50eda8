"""A PostgreSQL outage under the async API (the store reaches the server through a proxy this
test cuts): appends fail with a typed error and store nothing, then work again when the server
is back, and a follower carries on from where it was without losing or repeating an event."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from chronicle import NewEvent, StoreUnavailableError
from chronicle.config import load_settings
from chronicle.follower import Backoff
from chronicle.store.aio import follow, open_async_store
from tests.integration.faults.service import through
from tests.support.tcp_proxy import TcpProxy


def posted(text: str) -> NewEvent:
    return NewEvent("MessageCreated", {"content": text, "username": "alice"})


def test_an_outage_fails_appends_cleanly_and_a_follower_resumes_without_a_gap(
    postgres_schema_url: str,
) -> None:
    target = urlsplit(postgres_schema_url)
    settings = load_settings(connect_timeout=2.0)

    async def scenario(proxy: TcpProxy) -> tuple[list[str], list[str]]:
        store = await open_async_store(through(proxy, postgres_schema_url), settings=settings)
        seen: list[str] = []
        failures: list[str] = []

        async def consume() -> None:
            backoff = Backoff(initial=0.05, maximum=0.2)
            async for events in follow(store, idle_wait=0.1, backoff=backoff):
                seen.extend(event.data["content"] for event in events)
                if len(seen) == 6:
                    return

        follower = asyncio.create_task(consume())
        for n in range(3):
            await store.append("message_a", [posted(f"m{n}")], expected_version=n,
                               aggregate_type="Message")  # fmt: skip
        while len(seen) < 3:
            await asyncio.sleep(0.02)
        proxy.cut()
        try:
            await store.append("message_a", [posted("lost")], expected_version=3,
                               aggregate_type="Message")  # fmt: skip
        except StoreUnavailableError as exc:
            failures.append(type(exc).__name__)
        await asyncio.sleep(0.5)  # the follower meets the outage too, and backs off
        proxy.restore()
        for n in range(3, 6):
            await store.append("message_a", [posted(f"m{n}")], expected_version=n,
                               aggregate_type="Message")  # fmt: skip
        await asyncio.wait_for(follower, timeout=30)
        await store.close()
        return seen, failures

    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        seen, failures = asyncio.run(asyncio.wait_for(scenario(proxy), timeout=90))

    assert failures == ["StoreUnavailableError"]
    assert seen == [f"m{n}" for n in range(6)]  # "lost" was never stored, nothing twice


@pytest.fixture(autouse=True)
def _quiet_pool_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="psycopg.pool")
