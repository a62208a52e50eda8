"""A whole project as it was at an instant: its state, its tickets and its messages.

Rebuilt from the log, never from today's read models: the project's tickets and messages are
found through their creating events (``TicketCreated`` / ``MessageCreated`` naming the project,
recorded at or before the instant), and each is rebuilt as of the instant with
:func:`chronicle.history.state_at` (from a valid snapshot where there is one). Messages deleted
by then are listed, marked ``deleted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chronicle.chat.domain import Message, Project, Ticket
from chronicle.events import JSONObject
from chronicle.history import state_at
from chronicle.store.ports import EventStore

_PAGE = 1000


def _created_in(
    store: EventStore, aggregate_type: str, event_type: str, project_id: str, instant: datetime
) -> Iterator[str]:
    """The ids of the aggregates whose creating event, at or before ``instant``, names the
    project: one pass over that event type's events (not over the whole log)."""
    after = None
    while page := store.search_events(
        aggregate_type=aggregate_type, event_type=event_type, until=instant, after=after,
        limit=_PAGE,
    ):  # fmt: skip
        for event in page:
            if event.version == 1 and event.data.get("project_id") == project_id:
                yield event.aggregate_id
        after = page[-1].position


def project_at(store: EventStore, project_id: str, instant: datetime) -> JSONObject:
    """The project, its tickets and its messages as of ``instant`` (timezone-aware).

    Raises ``UnknownAggregateError`` for an unknown id, ``AggregateTypeError`` when it is not a
    project, ``AggregateNotYetCreatedError`` when the project did not exist yet then.
    """
    project = state_at(store, {Project.aggregate_type: Project}, project_id, instant)
    tickets = [
        state_at(store, {Ticket.aggregate_type: Ticket}, ticket_id, instant).to_dict()
        for ticket_id in _created_in(store, "Ticket", "TicketCreated", project_id, instant)
    ]
    messages = []
    for message_id in _created_in(store, "Message", "MessageCreated", project_id, instant):
        message = state_at(store, {Message.aggregate_type: Message}, message_id, instant)
        messages.append({**message.to_dict(), "deleted": bool(message.state["is_deleted"])})
    return {
        "at": instant.isoformat(),
        "project": project.to_dict(),
        "tickets": tickets,
        "messages": messages,
    }
