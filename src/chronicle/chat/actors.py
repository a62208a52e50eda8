"""Who did it, by name: each actor's username and role as recorded when the event happened.

The names come from the log, not from today's users read model: a user renamed later still shows
under the name it had then. :meth:`Actors.of` reads a user's own events the first time one of
them is asked for (a page of events names a few actors, whatever the number of users; its
:meth:`~Actors.read` reads a whole page's actors in one round trip), and
:meth:`Actors.from_log` reads every User aggregate's events at once, for a search by username;
each lookup is then a binary search by log position. An actor
``system:*`` (``system:cli``, ``system:demo``) is shown as such. A user whose early events
retention archived is named, for the events before the first one the store kept, as the
snapshot taken at the cut has it (what the archive holds is read by ``include_archive``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chronicle.chat.domain.events import UserCreated, UserUpdated, chat_events
from chronicle.chat.domain.ids import ID_SHAPE
from chronicle.events import JSONObject, RecordedEvent
from chronicle.registry import DomainEvent
from chronicle.store.arguments import MAX_AGGREGATES
from chronicle.store.ports import EventLog, LogReader

SYSTEM_PREFIX = "system:"
_PAGE = 1000


def _user_events(log: LogReader) -> Iterator[RecordedEvent]:
    after = None
    while page := log.search_events(aggregate_type="User", after=after, limit=_PAGE):
        yield from page
        after = page[-1].position


def _is_user(user_id: str) -> bool:
    return user_id.startswith("user_") and ID_SHAPE.fullmatch(user_id) is not None


def _named(event: DomainEvent) -> dict[str, Any] | None:
    """What a user event says about the username and role (None: nothing)."""
    match event:
        case UserCreated(username=username, role=role):
            return {"username": username, "role": role}
        case UserUpdated(updates=updates):
            return {name: updates[name] for name in ("username", "role") if name in updates}
    return None


@dataclass
class _Timeline:
    """One user's (username, role) after each of its events, by log position."""

    positions: list[int] = field(default_factory=list)
    names: list[dict[str, Any]] = field(default_factory=list)

    def add(self, position: int, named: dict[str, Any]) -> None:
        current = self.names[-1] if self.names else {"username": None, "role": None}
        self.positions.append(position)
        self.names.append({**current, **named})

    def at(self, position: int | None) -> dict[str, Any]:
        index = len(self.positions) if position is None else bisect_right(self.positions, position)
        return self.names[index - 1] if index else {"username": None, "role": None}


@dataclass
class Actors:
    """Users' names over time, from the log; see the module's docstring."""

    timelines: dict[str, _Timeline | None] = field(default_factory=dict)  # None: no user
    log: Any = None
    every_user: bool = False  # every User aggregate's timeline is in ``timelines``
    _at_cut: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, log: EventLog) -> Actors:
        """Names read from ``log`` as they are asked for, one user's events at a time."""
        return cls(log=log)

    @classmethod
    def from_log(cls, log: LogReader) -> Actors:
        """Every user's names, read from ``log`` now."""
        actors = cls(log=log, every_user=True)
        actors._add(_user_events(log))
        return actors

    def _add(self, events: Iterable[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.aggregate_type != "User" or recorded.event_type not in chat_events:
                continue
            if (named := _named(chat_events.to_domain(recorded))) is not None:
                timeline = self.timelines.get(recorded.aggregate_id) or _Timeline()
                self.timelines[recorded.aggregate_id] = timeline
                timeline.add(recorded.position, named)

    def read(self, user_ids: Iterable[str | None]) -> None:
        """Read the names of those of ``user_ids`` not read yet, all in one round trip (what a
        page of events does before naming each event's actor)."""
        if self.every_user:
            return
        unread = [
            user_id
            for user_id in dict.fromkeys(user_ids)
            if user_id is not None and user_id not in self.timelines
        ]
        for user_id in unread:
            self.timelines[user_id] = None
        # Only a User id names a user's events (another aggregate's could be long).
        users = [user_id for user_id in unread if _is_user(user_id)]
        for start in range(0, len(users), MAX_AGGREGATES):
            found = self.log.get_events_for_aggregates(users[start : start + MAX_AGGREGATES])
            self._add(event for events in found.values() for event in events)

    def _timeline(self, user_id: str) -> _Timeline | None:
        if not self.every_user and user_id not in self.timelines:
            self.timelines[user_id] = None
            if _is_user(user_id):
                self._add(self.log.get_events_for_aggregate(user_id))
        return self.timelines.get(user_id)

    def actor(self, user_id: str | None, position: int | None = None) -> JSONObject:
        """``user_id``'s username and role as of log ``position`` (default: the newest)."""
        if user_id is None:
            return {"user_id": None, "username": None, "role": None, "system": False}
        if user_id.startswith(SYSTEM_PREFIX):
            return {"user_id": user_id, "username": user_id, "role": None, "system": True}
        timeline = self._timeline(user_id)
        if timeline is None or (position is not None and position < timeline.positions[0]):
            named = self._archived(user_id)
        else:
            named = timeline.at(position)
        return {"user_id": user_id, **named, "system": False}

    def _archived(self, user_id: str) -> dict[str, Any]:
        """The names of a user whose earlier events were archived, as at the cut."""
        if user_id not in self._at_cut:
            named: dict[str, Any] = {"username": None, "role": None}
            head = None
            if getattr(getattr(self.log, "capabilities", None), "retention", False):
                head = self.log.retention_head(user_id)
            snapshot = (
                self.log.load_attested_snapshot(user_id, head.version) if head is not None else None
            )
            if snapshot is not None and snapshot.aggregate_type == "User":
                named = {
                    "username": snapshot.state.get("username"),
                    "role": snapshot.state.get("role"),
                }
            self._at_cut[user_id] = named
        return self._at_cut[user_id]

    def ids_named(self, username: str) -> list[str]:
        """Every user id that had ``username`` at some time (a name can pass to another user).

        Needs every user's names: the first call reads them all (``from_log``'s work)."""
        if not self.every_user:
            self.timelines.clear()  # read again below, in full
            self._add(_user_events(self.log))
            self.every_user = True
        return sorted(
            user_id
            for user_id, timeline in self.timelines.items()
            if timeline is not None
            and any(named["username"] == username for named in timeline.names)
        )
