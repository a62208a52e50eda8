"""The chat domain's typed errors: a command broke a rule and nothing was recorded."""

from __future__ import annotations

from chronicle.errors import DomainError


class InvalidIdError(DomainError):
    """An id given to a command is not an id of the aggregate type it must refer to."""


class InvalidMessageError(DomainError):
    """A message is empty, too long, or of an unknown type."""


class MessageDeletedError(DomainError):
    """The message was deleted: it can no longer be edited or deleted again."""


class InvalidUserError(DomainError):
    """A username, email, role or update is not acceptable."""


class InvalidProjectError(DomainError):
    """A project's name or description is not acceptable."""


class InvalidTicketError(DomainError):
    """A ticket's title, priority or assignment is not acceptable."""


class InvalidTransitionError(DomainError):
    """A status change the aggregate's state machine does not allow."""

    def __init__(self, aggregate_type: str, old_status: str, new_status: str) -> None:
        self.aggregate_type = aggregate_type
        self.old_status = old_status
        self.new_status = new_status
        super().__init__(f"a {aggregate_type} cannot go from {old_status!r} to {new_status!r}")


class UserErasedError(DomainError):
    """The user's personal data was erased: the user takes no new personal data."""
