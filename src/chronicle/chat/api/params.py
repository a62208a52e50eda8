"""Path and query parameters checked at the boundary, so nothing unfit ever reaches the store.

An id in a path that does not have the shape of a chat id (``ID_SHAPE``) cannot name anything:
it answers 404 without a query. A free-form query string holding a character that is not
printable (NUL, a control character) answers 422: PostgreSQL could not even be asked about a
NUL, and SQLite would be asked something no stored value can match; both backends must agree.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from pydantic import AfterValidator

from chronicle.chat.domain.ids import ID_SHAPE
from chronicle.chat.domain.text import non_printable_in

from .problems import NotFoundError


def printable(value: str) -> str:
    """``value`` if every character is printable; a validation error (422) otherwise."""
    if (character := non_printable_in(value)) is not None:
        raise ValueError(f"must be printable text, not contain {character}")
    return value


PrintableQuery = Annotated[
    str | None, Query(min_length=1, max_length=200), AfterValidator(printable)
]
"""An optional free-form filter: 1-200 printable characters."""


def _existing(value: str, noun: str) -> str:
    if not ID_SHAPE.fullmatch(value):
        raise NotFoundError(f"no {noun} has the id {value!r}")
    return value


async def _message_id(message_id: Annotated[str, Path()]) -> str:
    return _existing(message_id, "message")


async def _user_id(user_id: Annotated[str, Path()]) -> str:
    return _existing(user_id, "user")


async def _project_id(project_id: Annotated[str, Path()]) -> str:
    return _existing(project_id, "project")


async def _ticket_id(ticket_id: Annotated[str, Path()]) -> str:
    return _existing(ticket_id, "ticket")


async def _aggregate_id(aggregate_id: Annotated[str, Path()]) -> str:
    return _existing(aggregate_id, "resource")


MessageIdPath = Annotated[str, Depends(_message_id)]
UserIdPath = Annotated[str, Depends(_user_id)]
ProjectIdPath = Annotated[str, Depends(_project_id)]
TicketIdPath = Annotated[str, Depends(_ticket_id)]
AggregateIdPath = Annotated[str, Depends(_aggregate_id)]
