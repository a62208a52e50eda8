"""Creating and changing users together with their credentials, in one transaction."""

from __future__ import annotations

from typing import Any

from chronicle.chat.domain import User
from chronicle.chat.service.credentials import Credentials
from chronicle.chat.service.writer import Writer, Written
from chronicle.events import RecordedEvent
from chronicle.store.ports import Session

CLI_ACTOR = "system:cli"
"""The author recorded for what an operator does with the ``chronicle`` command."""
DEMO_ACTOR = "system:demo"
"""The author recorded for the demo data of ``chronicle serve --demo``."""


def create_user(
    writer: Writer,
    credentials: Credentials,
    *,
    username: str,
    email: str,
    role: str,
    password: str,
    created_by: str,
    correlation_id: str | None = None,
) -> Written[User]:
    """A new user who can log in; ``UsernameTakenError`` (nothing stored) when the name is taken.

    The password is hashed here and never enters an event. ``created_by`` is who causes it: the
    acting admin's id, or a named system actor (:data:`CLI_ACTOR`, :data:`DEMO_ACTOR`) when no
    user does, so the audit record never names a new user as its own author.
    """
    password_hash = credentials.hash(password)
    user = User.create(username, email, role)

    def add_credentials(session: Session, recorded: list[RecordedEvent]) -> None:
        credentials.insert(session, user.id, username, password_hash)

    return writer.create(
        user,
        user_id=created_by,
        correlation_id=correlation_id,
        also=add_credentials,
    )


def update_user(
    writer: Writer,
    credentials: Credentials,
    user_id: str,
    updates: dict[str, Any],
    *,
    acting_user: str,
    expected_version: int | None = None,
    correlation_id: str | None = None,
) -> Written[User]:
    """Change a user's username, email and/or role; a new username moves their login too, and a
    new role voids their earlier tokens (in the same transaction)."""

    def follow(session: Session, recorded: list[RecordedEvent]) -> None:
        # Every event of User.update is a UserUpdated naming only the fields it changed.
        changed = {name for event in recorded for name in event.data.get("updates", {})}
        if "username" in changed:
            credentials.rename(session, user_id, updates["username"])
        if "role" in changed:
            credentials.void_tokens(session, user_id)

    return writer.change(
        User,
        user_id,
        lambda user: user.update(**updates),
        user_id=acting_user,
        expected_version=expected_version,
        correlation_id=correlation_id,
        also=follow,
    )
