"""A whole project as it was at an instant: its state, its tickets and its messages.

Rebuilt from the log, never from today's read models: the project's tickets and messages are
found through their creating events (``TicketCreated`` / ``MessageCreated`` naming the project,
recorded at or before the instant). One pass over each aggregate type's events up to the
instant keeps the events of those, and each is rebuilt from them in memory: two passes in all,
whatever the number of tickets and messages (asking the store for each one's state took five
queries apiece). An aggregate whose kept versions are not 1, 2, 3… (a clock that stepped back
between two appends, or versions moved to the archive) is rebuilt by
:func:`chronicle.history.state_at` instead, which settles those cases. Messages deleted by then
are listed, marked ``deleted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chronicle.aggregate import Aggregate
from chronicle.chat.domain import Message, Project, Ticket
from chronicle.events import JSONObject, RecordedEvent
from chronicle.history import StateAt, state_at
from chronicle.store.ports import EventStore

_PAGE = 5000


def _events_of_those_in(
    store: EventStore, cls: type[Aggregate], creating: str, project_id: str, instant: datetime
) -> dict[str, list[RecordedEvent]]:
    """The events, at or before ``instant``, of each aggregate of ``cls`` whose creating event
    names the project: one pass over that aggregate type's events (not over the whole log).
    The project is read from the stored form, so no sealed field is opened to find it."""
    found: dict[str, list[RecordedEvent]] = {}
    after = None
    while page := store.search_events(
        aggregate_type=cls.aggregate_type, until=instant, after=after, limit=_PAGE
    ):
        for event in page:
            kept = found.get(event.aggregate_id)
            if kept is not None:
                kept.append(event)
            elif (
                event.version == 1
                and event.event_type == creating
                and event.stored_data.get("project_id") == project_id
            ):
                found[event.aggregate_id] = [event]
        after = page[-1].position
    return found


def _rebuilt(
    store: EventStore,
    cls: type[Aggregate],
    events: dict[str, list[RecordedEvent]],
    instant: datetime,
) -> Iterator[StateAt]:
    for aggregate_id, recorded in events.items():
        recorded.sort(key=lambda event: event.version)
        if recorded[-1].version != len(recorded):
            yield state_at(store, {cls.aggregate_type: cls}, aggregate_id, instant)
            continue
        changes = [(event.event_type, event.schema_version, event.data) for event in recorded]
        aggregate = cls.replay(aggregate_id, cls.registry.domain_events(changes, aggregate_id, 1))
        last = recorded[-1]
        yield StateAt(
            aggregate_id, cls.aggregate_type, last.version, last.timestamp, aggregate.state()
        )


def project_at(store: EventStore, project_id: str, instant: datetime) -> JSONObject:
    """The project, its tickets and its messages as of ``instant`` (timezone-aware).

    Raises ``UnknownAggregateError`` for an unknown id, ``AggregateTypeError`` when it is not a
    project, ``AggregateNotYetCreatedError`` when the project did not exist yet then.
    """
    project = state_at(store, {Project.aggregate_type: Project}, project_id, instant)
    tickets = _events_of_those_in(store, Ticket, "TicketCreated", project_id, instant)
    messages = _events_of_those_in(store, Message, "MessageCreated", project_id, instant)
    return {
        "at": instant.isoformat(),
        "project": project.to_dict(),
        "tickets": [ticket.to_dict() for ticket in _rebuilt(store, Ticket, tickets, instant)],
        "messages": [
            {**message.to_dict(), "deleted": bool(message.state["is_deleted"])}
            for message in _rebuilt(store, Message, messages, instant)
        ],
    }
