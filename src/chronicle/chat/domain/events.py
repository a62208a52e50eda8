"""The chat domain's events and the one registry of their stable names.

Each event is stored under the name it is registered with (``MessageCreated``…), which never
changes, and carries the schema version of its current shape. The envelope (who, when, correlation
and causation ids) is the store's :class:`~chronicle.events.RecordedEvent`, not repeated here.

Evolution: ``MessageCreated`` v2 added ``project_id`` (default none) and ``mentions`` (the
``@names`` in the content). Events stored as v1 are upcast on read; the store is never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chronicle.events import JSONObject
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
    content: str


@chat_events.register("MessageDeleted")
@dataclass(frozen=True)
class MessageDeleted(DomainEvent):
    pass


# -- users -----------------------------------------------------------------------------------


@chat_events.register("UserCreated")
@dataclass(frozen=True)
class UserCreated(DomainEvent):
    username: str
    email: str
    role: str


@chat_events.register("UserUpdated")
@dataclass(frozen=True)
class UserUpdated(DomainEvent):
    """``updates`` maps each changed field (``username``, ``email``, ``role``) to its new value."""

    updates: dict[str, Any]


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
