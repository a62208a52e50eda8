"""Argument checks shared by every backend's read queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chronicle.errors import InvalidEventError
from chronicle.store.prepare import check_name

MAX_LIMIT = 100_000


def check_limit(limit: object) -> int:
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise InvalidEventError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r:.40}"
        )
    return limit


def check_instant(value: object, what: str) -> datetime:
    """A timezone-aware instant, converted to UTC. Naive datetimes are refused, not guessed."""
    if not isinstance(value, datetime):
        raise InvalidEventError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidEventError(f"{what} must be timezone-aware (for example 2026-01-01T00:00:00Z)")
    return value.astimezone(UTC)


Filters = dict[str, Any]
"""Checked audit filters by name (``user_id`` or ``user_ids``, ``aggregate_type``,
``event_type``, ``since``, ``until``), only those given; instants are timezone-aware UTC
datetimes, ``user_ids`` a tuple without repeats."""


MAX_USERS = 400
"""At most this many user ids in one search's ``user_ids`` (SQLite joins at most 500 SELECTs
in one UNION)."""


def _check_user_id(user_id: object) -> str:
    # Printable, as stored user ids are (``check_user_id``): PostgreSQL could not even be
    # asked about a NUL, and every backend must answer the same.
    if type(user_id) is not str or not 0 < len(user_id) <= 200 or not user_id.isprintable():
        raise InvalidEventError(f"user_id must be 1-200 printable characters, got {user_id!r:.60}")
    return user_id


def search_filters(
    *,
    user_id: str | None = None,
    user_ids: Sequence[str] | None = None,
    aggregate_type: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Filters:
    """The filters of an audit query, checked (``InvalidEventError`` on the first bad one)."""
    filters: Filters = {}
    if user_id is not None:
        filters["user_id"] = _check_user_id(user_id)
    if user_ids is not None:
        if user_id is not None:
            raise InvalidEventError("give user_id or user_ids, not both")
        if not isinstance(user_ids, list | tuple) or not 0 < len(user_ids) <= MAX_USERS:
            raise InvalidEventError(
                f"user_ids must be a list of 1-{MAX_USERS} user ids, got {user_ids!r:.60}"
            )
        filters["user_ids"] = tuple(dict.fromkeys(_check_user_id(each) for each in user_ids))
    if aggregate_type is not None:
        filters["aggregate_type"] = check_name(aggregate_type, "aggregate_type")
    if event_type is not None:
        filters["event_type"] = check_name(event_type, "event_type")
    if since is not None:
        filters["since"] = check_instant(since, "since")
    if until is not None:
        filters["until"] = check_instant(until, "until")
    return filters
