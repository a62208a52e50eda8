"""The ``Message`` aggregate: a chat message that can be edited and deleted.

Rules: content is 1 to ``MAX_CONTENT_LENGTH`` characters and not only whitespace; the type is one
of ``MESSAGE_TYPES``; a deleted message can be neither edited nor deleted again. Editing to the
same content records nothing.
"""

from __future__ import annotations

from typing import Self

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.errors import InvalidMessageError, MessageDeletedError
from chronicle.chat.domain.events import (
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    chat_events,
    mentions_in,
)
from chronicle.chat.domain.ids import check_id, new_id
from chronicle.chat.domain.text import control_character_in
from chronicle.events import JSONObject
from chronicle.registry import dispatch_table

MAX_CONTENT_LENGTH = 4000
MESSAGE_TYPES = ("text", "markdown", "code", "system")


def _check_content(content: str) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidMessageError("a message cannot be empty")
    if len(content) > MAX_CONTENT_LENGTH:
        raise InvalidMessageError(
            f"a message is at most {MAX_CONTENT_LENGTH} characters, not {len(content)}"
        )
    if (character := control_character_in(content)) is not None:
        raise InvalidMessageError(f"a message cannot contain the control character {character}")
    return content


class Message(Aggregate):
    """A chat message. Create with :meth:`create`; change with :meth:`edit` and :meth:`delete`."""

    aggregate_type = "Message"
    registry = chat_events
    STATE_SCHEMA_VERSION = 1
    STATE_FIELDS = (
        "content",
        "username",
        "message_type",
        "project_id",
        "mentions",
        "edit_count",
        "is_deleted",
    )
    PERSONAL_STATE = ("content", "username", "mentions")

    content: str
    username: str
    message_type: str
    project_id: str | None
    mentions: list[str]
    edit_count: int
    is_deleted: bool
    # Set by an edit, cleared once ``_derive`` has found the new content's mentions: a replay of
    # many edits searches only the last content.
    _mentions_stale: bool = False

    @classmethod
    def initial_state(cls) -> JSONObject:
        return {
            "content": "",
            "username": "",
            "message_type": "text",
            "project_id": None,
            "mentions": [],
            "edit_count": 0,
            "is_deleted": False,
        }

    # -- commands ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        content: str,
        username: str,
        message_type: str = "text",
        *,
        project_id: str | None = None,
        message_id: str | None = None,
    ) -> Self:
        """A new message with a fresh id (or ``message_id``), its creation pending."""
        _check_content(content)
        if not isinstance(username, str) or not username.strip():
            raise InvalidMessageError("a message needs the username of its author")
        if message_type not in MESSAGE_TYPES:
            raise InvalidMessageError(
                f"message_type must be one of {', '.join(MESSAGE_TYPES)}, not {message_type!r}"
            )
        if project_id is not None:
            check_id(project_id, "Project", "project_id")
        message = cls(
            check_id(message_id, "Message", "message_id")
            if message_id is not None
            else new_id("Message")
        )
        message._record(
            MessageCreated(
                content=content,
                username=username,
                message_type=message_type,
                project_id=project_id,
                mentions=mentions_in(content),
            )
        )
        return message

    def edit(self, content: str) -> None:
        """Replace the content. Raises if the message is deleted or the content is invalid."""
        self._check_not_deleted("edited")
        _check_content(content)
        if content != self.content:
            self._record(MessageUpdated(content=content))

    def delete(self) -> None:
        """Delete the message; its history stays in the audit trail."""
        self._check_not_deleted("deleted")
        self._record(MessageDeleted())

    def _check_not_deleted(self, doing: str) -> None:
        if self.version == 0:
            raise InvalidMessageError(f"message {self.id} does not exist yet")
        if self.is_deleted:
            raise MessageDeletedError(f"message {self.id} is deleted and cannot be {doing}")

    # -- events --------------------------------------------------------------------------------

    def _created(self, event: MessageCreated) -> None:
        self.content = event.content
        self.username = event.username
        self.message_type = event.message_type
        self.project_id = event.project_id
        self.mentions = list(event.mentions)
        self._mentions_stale = False

    def _updated(self, event: MessageUpdated) -> None:
        self.content = event.content
        self.edit_count += 1
        self._mentions_stale = True

    def _derive(self) -> None:
        if self._mentions_stale:
            self.mentions = mentions_in(self.content)
            self._mentions_stale = False

    def _deleted(self, event: MessageDeleted) -> None:
        self.is_deleted = True

    appliers = dispatch_table(
        {MessageCreated: _created, MessageUpdated: _updated, MessageDeleted: _deleted}
    )
