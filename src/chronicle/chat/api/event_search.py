"""The audit event search behind ``GET /audit/events`` and ``GET /audit/export``.

One search is one ``search_events`` filter set, in commit order or newest first, so the
``after`` cursor pages exactly as the store's: nothing skipped, nothing repeated while writers go
on. A username that several user ids had becomes ``user_ids`` (the store merges their pages in
its own commit order, which only it knows on PostgreSQL).

The content search (``q``) has no index: it reads the Message events matching the other filters
and keeps the MessageCreated and MessageUpdated events whose content holds ``q``
(case-insensitive), reading at most ``SCAN_LIMIT`` events per page. A page cut short by that
limit still has a ``next`` cursor (the last event read), so paging on goes on scanning from
there. The correlation search (``correlation_id``: every event one request or command caused)
scans the same way, keeping the events whose metadata names that correlation id; a date range
bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chronicle.chat.actors import SYSTEM_PREFIX, Actors
from chronicle.chat.domain.events import MessageCreated, MessageUpdated, chat_events
from chronicle.errors import InvalidEventError
from chronicle.events import JSONObject, RecordedEvent
from chronicle.store.ports import EventStore
from chronicle.store.queries import MAX_USERS

CONTENT_EVENTS = ("MessageCreated", "MessageUpdated")
MESSAGE = "Message"
SCAN_LIMIT = 10_000
"""At most this many events are read for one page of a content search."""
_SCAN_PAGE = 500


@dataclass(frozen=True)
class EventQuery:
    """The filters of one search: ``filters`` for ``search_events`` (None: nothing can match,
    as for a username no one ever had), then what only a scan can tell."""

    filters: dict[str, Any] | None
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
        filters: dict[str, Any] = {
            "user_id": user_id, "aggregate_type": aggregate_type, "event_type": event_type,
            "since": since, "until": until,
        }  # fmt: skip
        matchable = True
        if user is not None:
            named = [user] if user.startswith(SYSTEM_PREFIX) else actors.ids_named(user)
            ids = [uid for uid in named if user_id is None or uid == user_id]
            if len(ids) > MAX_USERS:
                raise InvalidEventError(
                    f"{len(ids)} users have had the username {user!r}, more than one search "
                    f"takes ({MAX_USERS}): search by user_id instead"
                )
            matchable = bool(ids)
            if len(ids) == 1:
                filters["user_id"] = ids[0]
            elif ids:
                filters.update(user_id=None, user_ids=ids)
        if q is not None:
            # Content is in the Message aggregate's events only: one filter, one cursor.
            in_content = event_type in (None, *CONTENT_EVENTS) and aggregate_type in (None, MESSAGE)
            matchable = matchable and in_content
            filters["aggregate_type"] = MESSAGE
        return cls(
            filters if matchable else None,
            q.casefold() if q is not None else None,
            correlation_id,
            newest_first,
        )

    def check(self, store: EventStore) -> None:
        """Raise for filters the store refuses, before a response starts streaming."""
        if self.filters is not None:
            store.search_events(**self.filters, limit=1)

    def _read(
        self, store: EventStore, filters: dict[str, Any], after: int | None, limit: int
    ) -> list[RecordedEvent]:
        return store.search_events(
            **filters, after=after, limit=limit, newest_first=self.newest_first
        )

    def _matches(self, event: RecordedEvent) -> bool:
        if self.correlation_id is not None and event.correlation_id != self.correlation_id:
            return False
        if self.q is None:
            return True
        if event.event_type not in CONTENT_EVENTS:  # the Message aggregate's other events
            return False
        match chat_events.to_domain(event):
            case MessageCreated(content=content) | MessageUpdated(content=content):
                return self.q in content.casefold()
        return False

    def page(
        self, store: EventStore, after: int | None, limit: int
    ) -> tuple[list[RecordedEvent], int | None]:
        """Up to ``limit`` matching events after ``after``, and the cursor of the next page
        (None: there is none)."""
        filters = self.filters
        if filters is None:
            return [], None
        if self.q is None and self.correlation_id is None:
            events = self._read(store, filters, after, limit)
            return events, events[-1].position if len(events) == limit else None
        found: list[RecordedEvent] = []
        scanned = 0
        while scanned < SCAN_LIMIT:
            batch = self._read(store, filters, after, min(_SCAN_PAGE, SCAN_LIMIT - scanned))
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


def shown_page(page: list[RecordedEvent], actors: Actors) -> list[JSONObject]:
    """A page of events as :func:`shown` answers each, their actors read in one round trip."""
    actors.read(event.user_id for event in page)
    return [shown(event, actors) for event in page]
