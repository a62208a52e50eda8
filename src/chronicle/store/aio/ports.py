"""The async store's port: the sync contract's event log, queries, snapshots and following,
each method a coroutine.

Same arguments, same results, same errors as the sync port (:mod:`chronicle.store.ports`): the
checks are the same functions (:mod:`chronicle.store.arguments`), the statements and row readers
the same objects. What the async port leaves out is the sync store's administration (migrations,
seals, retention, roles): operators run those from the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chronicle.events import NewEvent, RecordedEvent, Replay
from chronicle.store.records import Snapshot


class AsyncEventStore(Protocol):
    """An event store used from ``async def`` code (FastAPI, any ASGI app, asyncio workers)."""

    backend: str

    async def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version`` (None: after whatever is there), all or
        nothing; ``ConcurrencyError`` when another writer got there first."""
        ...

    async def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]: ...

    async def get_events_for_aggregates(
        self, aggregate_ids: Sequence[str]
    ) -> dict[str, list[RecordedEvent]]: ...

    async def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay: ...

    async def get_event(self, event_id: str) -> RecordedEvent | None: ...

    async def get_aggregate_version(self, aggregate_id: str) -> int: ...

    async def get_event_count(self, aggregate_id: str | None = None) -> int: ...

    async def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """The next events after the cursor in commit order, never skipping one that commits
        later behind it."""
        ...

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
    ) -> list[RecordedEvent]: ...

    async def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]: ...

    async def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]: ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def load_snapshot(
        self, aggregate_id: str, max_version: int | None = None
    ) -> Snapshot | None: ...

    async def wait_for_commits(self, timeout: float) -> None:
        """Return soon after other appends commit, or after ``timeout`` seconds at most."""
        ...

    async def close(self) -> None: ...
