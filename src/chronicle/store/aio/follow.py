"""Following the log from ``async def`` code: batches in commit order, then new commits as
they come.

The async counterpart of :class:`chronicle.follower.LogFollower` for an application's own
consumers (a websocket feed, a cache to keep warm): the same reads (``read_all``, which never
skips an event that commits later behind the cursor), the same wake-up (PostgreSQL ``LISTEN``,
SQLite's data version, polling as the fallback) and the same jittered back-off while the store
is unreachable. The consumer keeps its own position: pass the last one it finished as ``after``
when it starts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from chronicle.errors import InvalidEventError, StoreUnavailableError
from chronicle.events import RecordedEvent
from chronicle.follower import Backoff

from .ports import AsyncEventStore

log = logging.getLogger(__name__)


async def follow(
    store: AsyncEventStore,
    after: int | None = None,
    *,
    batch_size: int = 500,
    idle_wait: float = 0.5,
    backoff: Backoff | None = None,
) -> AsyncIterator[list[RecordedEvent]]:
    """Yield the events after ``after`` in commit order, ``batch_size`` at most at a time,
    forever: once caught up, wait for new commits (``idle_wait`` seconds at most between looks).
    Stop by leaving the ``async for`` or cancelling the task."""
    if type(batch_size) is not int or batch_size < 1:
        raise InvalidEventError(f"batch_size must be a whole number from 1, got {batch_size!r}")
    backoff = backoff or Backoff()
    position = after
    while True:
        try:
            events = await store.read_all(after=position, limit=batch_size)
        except StoreUnavailableError as exc:
            delay = backoff.next_delay()
            log.warning("following the log failed, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        if events:
            position = events[-1].position
            yield events
            if len(events) == batch_size:
                continue
        await store.wait_for_commits(idle_wait)
