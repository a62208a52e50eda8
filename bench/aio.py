"""Chronicle through its async API, as a contender: the store opened on an event loop that
lives as long as the benchmark, each operation awaited on it.

``asyncio.Runner`` keeps one loop across measurements, as an ASGI server keeps one across
requests (an async pool belongs to the loop it was opened on). What is measured is awaiting
the store from ``async def`` code; the loop itself is there in every figure, as it is in an
application's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chronicle.store.aio import AsyncEventStore, open_async_store


class AsyncContender:
    """The async store on ``url``, and a loop to await it on."""

    def __init__(self, url: str) -> None:
        self._runner = asyncio.Runner()
        self.store: AsyncEventStore = self._runner.run(open_async_store(url))

    def run(self, coroutine: Awaitable[Any]) -> Any:
        return self._runner.run(_awaited(coroutine))

    def throughput(
        self, operation: Callable[[], Awaitable[object]], seconds: float, per_call: int
    ) -> Callable[[], float]:
        """A measurement: events per second of ``operation`` awaited back to back."""

        async def measure() -> float:
            calls, start = 0, time.perf_counter()
            deadline = start + seconds
            while True:
                await operation()
                calls += 1
                now = time.perf_counter()
                if now >= deadline:
                    return calls * per_call / (now - start)

        return lambda: self.run(measure())

    def speed_of(self, read: Callable[[], Awaitable[int]], expected: int) -> Callable[[], float]:
        """A measurement: events per second of one awaited ``read()`` returning ``expected``."""

        async def measure() -> float:
            start = time.perf_counter()
            count = await read()
            elapsed = time.perf_counter() - start
            if count != expected:
                raise RuntimeError(f"read {count:,} events, expected {expected:,}")
            return count / elapsed

        return lambda: self.run(measure())

    def duration_ms(self, operation: Callable[[], Awaitable[object]]) -> Callable[[], float]:
        """A measurement: milliseconds one awaited ``operation()`` takes."""

        async def measure() -> float:
            start = time.perf_counter()
            await operation()
            return (time.perf_counter() - start) * 1000

        return lambda: self.run(measure())

    def close(self) -> None:
        self._runner.run(self.store.close())
        self._runner.close()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
