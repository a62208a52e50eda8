"""The chat domain's events and the one registry of their stable names.

Each event is stored under the name it is registered with (``MessageCreated``…), which never
changes, and carries the schema version of its current shape. The envelope (who, when, correlation
and causation ids) is the store's :class:`~chronicle.events.RecordedEvent`, not repeated here.

Personal data (``personal``, see :mod:`chronicle.personal`): what a person wrote and what names
them. A message's content, the @mentions found in it and the username copied into it belong to
the user who wrote them (the event's actor); a user's username and email belong to that user.
Project and ticket text, and roles, are the organisation's record of its work and stay in clear.

Evolution: ``MessageCreated`` v2 added ``project_id`` (default none) and ``mentions`` (the
``@names`` in the content). Events stored as v1 are upcast on read; the store is never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chronicle.events import JSONObject
from chronicle.personal import Personal
from chronicle.registry import DomainEvent, EventRegistry

chat_events = EventRegistry()
"""The registry of every chat event class, by stable name."""

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])")


def mentions_in(content: str) -> list[str]:
    """The distinct ``@names`` in ``content``, lower-cased, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(content):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


# -- messages --------------------------------------------------------------------------------


@chat_events.register("MessageCreated", schema_version=2)
@dataclass(frozen=True)
class MessageCreated(DomainEvent):
    personal: ClassVar[Personal] = Personal(
        fields=("content", "username", "mentions"), subject="actor", empty={"mentions": []}
    )

    content: str
    username: str
    message_type: str
    project_id: str | None = None
    mentions: list[str] = field(default_factory=list)


@chat_events.upcaster("MessageCreated", from_version=1)
def _message_created_v1_to_v2(data: JSONObject) -> JSONObject:
    data.setdefault("project_id", None)
    data.setdefault("mentions", mentions_in(str(data.get("content", ""))))
    return data


@chat_events.register("MessageUpdated")
@dataclass(frozen=True)
class MessageUpdated(DomainEvent):
    personal: ClassVar[Personal] = Personal(fields=("content",), subject="actor")

    content: str


@chat_events.register("MessageDeleted")
@dataclass(frozen=True)
class MessageDeleted(DomainEvent):
    pass


# -- users -----------------------------------------------------------------------------------


@chat_events.register("UserCreated")
@dataclass(frozen=True)
class UserCreated(DomainEvent):
    personal: ClassVar[Personal] = Personal(fields=("username", "email"), subject="aggregate")

    username: str
    email: str
    role: str


@chat_events.register("UserUpdated")
@dataclass(frozen=True)
class UserUpdated(DomainEvent):
    """``updates`` maps each changed field (``username``, ``email``, ``role``) to its new value."""

    personal: ClassVar[Personal] = Personal(
        fields=("updates.username", "updates.email"), subject="aggregate"
    )

    updates: dict[str, Any]


@chat_events.register("PersonalDataErased")
@dataclass(frozen=True)
class PersonalDataErased(DomainEvent):
    """The user's personal data was erased: ``key_ids`` name the data keys destroyed, and
    ``aggregates`` every aggregate the user had written personal data to. The actor is who
    erased it; nothing personal is recorded."""

    reason: str
    erased_on: str
    key_ids: list[str]
    aggregates: list[str]


# -- projects --------------------------------------------------------------------------------


@chat_events.register("ProjectCreated")
@dataclass(frozen=True)
class ProjectCreated(DomainEvent):
    name: str
    description: str
    owner_id: str


@chat_events.register("ProjectStatusChanged")
@dataclass(frozen=True)
class ProjectStatusChanged(DomainEvent):
    old_status: str
    new_status: str


# -- tickets ---------------------------------------------------------------------------------


@chat_events.register("TicketCreated")
@dataclass(frozen=True)
class TicketCreated(DomainEvent):
    title: str
    description: str
    project_id: str
    priority: str


@chat_events.register("TicketAssigned")
@dataclass(frozen=True)
class TicketAssigned(DomainEvent):
    assigned_to: str
    assigned_by: str


@chat_events.register("TicketStatusChanged")
@dataclass(frozen=True)
class TicketStatusChanged(DomainEvent):
    old_status: str
    new_status: str
