"""The chat domain: its events (one registry of stable names) and its four aggregates.

No I/O here: aggregates decide and record events; :mod:`chronicle.repository` stores them.
"""

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.errors import (
    InvalidIdError,
    InvalidMessageError,
    InvalidProjectError,
    InvalidTicketError,
    InvalidTransitionError,
    InvalidUserError,
    MessageDeletedError,
)
from chronicle.chat.domain.events import chat_events, mentions_in
from chronicle.chat.domain.ids import new_id
from chronicle.chat.domain.message import Message
from chronicle.chat.domain.project import Project
from chronicle.chat.domain.ticket import Ticket
from chronicle.chat.domain.user import User

CHAT_AGGREGATES: dict[str, type[Aggregate]] = {
    cls.aggregate_type: cls for cls in (Message, User, Project, Ticket)
}
"""Each chat aggregate class by its stored aggregate type."""

__all__ = [
    "CHAT_AGGREGATES",
    "InvalidIdError",
    "InvalidMessageError",
    "InvalidProjectError",
    "InvalidTicketError",
    "InvalidTransitionError",
    "InvalidUserError",
    "Message",
    "MessageDeletedError",
    "Project",
    "Ticket",
    "User",
    "chat_events",
    "mentions_in",
    "new_id",
]
