"""The audit event search behind ``GET /audit/events`` and ``GET /audit/export``.

The store answers one filter set at a time in commit order, or newest first (``search_events``);
a search that stands for several (a username that several user ids had, message content in two
event types) asks each and merges their first pages by position, so the ``after`` cursor pages
exactly as for one: nothing skipped, nothing repeated while writers go on.

The content search (``q``) has no index: it reads the MessageCreated and MessageUpdated events
matching the other filters and keeps those whose content holds ``q`` (case-insensitive), reading
at most ``SCAN_LIMIT`` events per page. A page cut short by that limit still has a ``next``
cursor (the last event read), so paging on goes on scanning from there. The correlation search
(``correlation_id``: every event one request or command caused) scans the same way, keeping the
events whose metadata names that correlation id; a date range bounds it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from itertools import product
from typing import Any

from chronicle.chat.actors import SYSTEM_PREFIX, Actors
from chronicle.chat.domain.events import MessageCreated, MessageUpdated, chat_events
from chronicle.errors import InvalidEventError
from chronicle.events import JSONObject, RecordedEvent
from chronicle.store.ports import EventStore

CONTENT_EVENTS = ("MessageCreated", "MessageUpdated")
SCAN_LIMIT = 10_000
"""At most this many events are read for one page of a content search."""
_SCAN_PAGE = 500


@dataclass(frozen=True)
class EventQuery:
    """The filters of one search: each ``filter_sets`` item is one ``search_events`` call."""

    filter_sets: list[dict[str, Any]]
    q: str | None = None
    correlation_id: str | None = None
    newest_first: bool = False

    @classmethod
    def of(
        cls,
        actors: Actors,
        *,
        user_id: str | None,
        user: str | None,
        aggregate_type: str | None,
        event_type: str | None,
        since: datetime | None,
        until: datetime | None,
        q: str | None,
        correlation_id: str | None = None,
        newest_first: bool = False,
    ) -> EventQuery:
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.utcoffset() is None:
                raise InvalidEventError(f"{name} needs a timezone, e.g. 2026-01-01T10:00:00Z")
        user_ids: list[str | None] = [user_id]
        if user is not None:
            named = [user] if user.startswith(SYSTEM_PREFIX) else actors.ids_named(user)
            user_ids = [uid for uid in named if user_id is None or uid == user_id]
        event_types: list[str | None] = [event_type]
        if q is not None:
            event_types = [t for t in CONTENT_EVENTS if event_type in (None, t)]
        base = {"aggregate_type": aggregate_type, "since": since, "until": until}
        return cls(
            [
                {**base, "user_id": uid, "event_type": etype}
                for uid, etype in product(user_ids, event_types)
            ],
            q.casefold() if q is not None else None,
            correlation_id,
            newest_first,
        )

    def check(self, store: EventStore) -> None:
        """Raise for filters the store refuses, before a response starts streaming."""
        for filters in self.filter_sets[:1]:
            store.search_events(**filters, limit=1)

    def _first(self, store: EventStore, after: int | None, limit: int) -> list[RecordedEvent]:
        pages = [
            store.search_events(**filters, after=after, limit=limit, newest_first=self.newest_first)
            for filters in self.filter_sets
        ]
        if len(pages) == 1:
            return pages[0]
        merged = heapq.merge(*pages, key=lambda event: event.position, reverse=self.newest_first)
        return list(merged)[:limit]

    def _matches(self, event: RecordedEvent) -> bool:
        if self.correlation_id is not None and event.correlation_id != self.correlation_id:
            return False
        if self.q is None:
            return True
        match chat_events.to_domain(event):
            case MessageCreated(content=content) | MessageUpdated(content=content):
                return self.q in content.casefold()
        return False

    def page(
        self, store: EventStore, after: int | None, limit: int
    ) -> tuple[list[RecordedEvent], int | None]:
        """Up to ``limit`` matching events after ``after``, and the cursor of the next page
        (None: there is none)."""
        if not self.filter_sets:
            return [], None
        if self.q is None and self.correlation_id is None:
            events = self._first(store, after, limit)
            return events, events[-1].position if len(events) == limit else None
        found: list[RecordedEvent] = []
        scanned = 0
        while scanned < SCAN_LIMIT:
            batch = self._first(store, after, min(_SCAN_PAGE, SCAN_LIMIT - scanned))
            if not batch:
                return found, None
            for event in batch:
                scanned += 1
                after = event.position
                if self._matches(event):
                    found.append(event)
                    if len(found) == limit:
                        return found, after
        return found, after


def shown(event: RecordedEvent, actors: Actors) -> JSONObject:
    """The event as the audit routes answer it: its envelope and its actor by name."""
    return {**event.to_dict(), "actor": actors.actor(event.user_id, event.position)}
