"""Request bodies: strict shapes (unknown fields refused) so bad input is a 422, never stored.

Every string is checked for characters as the domain checks it (``domain.text``): one-line
fields (usernames, emails, passwords) must be wholly printable, free text may hold tab and line
breaks but no other control character. The domain would refuse them too (409); refusing them
here answers what they are, invalid input (422), before any work is done.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chronicle.chat.domain.message import MAX_CONTENT_LENGTH
from chronicle.chat.domain.text import control_character_in

from .params import printable

MAX_VERSION = 2**53 - 1


def free_text(value: str) -> str:
    """``value`` if it holds no control character but tab and line breaks; a 422 otherwise."""
    if (character := control_character_in(value)) is not None:
        raise ValueError(f"must not contain the control character {character}")
    return value


OneLine = AfterValidator(printable)
FreeText = AfterValidator(free_text)


UserId = Annotated[str, StringConstraints(pattern=r"^user_[0-9a-f]{32}$")]
ProjectId = Annotated[str, StringConstraints(pattern=r"^project_[0-9a-f]{32}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_.-]{2,31}$")]
Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"),
    OneLine,
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128), OneLine]
Role = Literal["member", "auditor", "admin"]
Content = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CONTENT_LENGTH, pattern=r"\S"), FreeText
]
ExpectedVersion = Annotated[
    int | None,
    Field(
        None,
        strict=True,  # true is not version 1
        ge=0,
        le=MAX_VERSION,
        description="Refuse the write (409) unless the resource is at exactly this version.",
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(Body):
    username: Username
    email: Email
    role: Role = "member"
    password: Password


class UserUpdate(Body):
    username: Username | None = None
    email: Email | None = None
    role: Role | None = None
    password: Password | None = None
    expected_version: ExpectedVersion = None


class Erasure(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S"), OneLine]


class MessageCreate(Body):
    content: Content
    message_type: Literal["text", "markdown", "code", "system"] = "text"
    project_id: ProjectId | None = None


class MessageEdit(Body):
    content: Content
    expected_version: ExpectedVersion = None


class ProjectCreate(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S"), FreeText]
    description: Annotated[str, StringConstraints(max_length=5000), FreeText] = ""


class ProjectStatus(Body):
    status: Literal["active", "on_hold", "completed", "archived"]
    expected_version: ExpectedVersion = None


class TicketCreate(Body):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S"), FreeText]
    description: Annotated[str, StringConstraints(max_length=10000), FreeText] = ""
    project_id: ProjectId
    priority: Literal["low", "medium", "high", "critical"] = "medium"


class TicketAssign(Body):
    assigned_to: UserId
    expected_version: ExpectedVersion = None


class TicketStatus(Body):
    status: Literal["open", "in_progress", "resolved", "closed"]
    expected_version: ExpectedVersion = None
