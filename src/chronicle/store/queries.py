"""Argument checks shared by every backend's read queries."""

from __future__ import annotations

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
"""Checked audit filters by name (``user_id``, ``aggregate_type``, ``event_type``, ``since``,
``until``), only those given; instants are timezone-aware UTC datetimes."""


def search_filters(
    *,
    user_id: str | None = None,
    aggregate_type: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Filters:
    """The filters of an audit query, checked (``InvalidEventError`` on the first bad one)."""
    filters: Filters = {}
    if user_id is not None:
        # Printable, as stored user ids are (``check_user_id``): PostgreSQL could not even be
        # asked about a NUL, and every backend must answer the same.
        if type(user_id) is not str or not 0 < len(user_id) <= 200 or not user_id.isprintable():
            raise InvalidEventError(
                f"user_id must be 1-200 printable characters, got {user_id!r:.60}"
            )
        filters["user_id"] = user_id
    if aggregate_type is not None:
        filters["aggregate_type"] = check_name(aggregate_type, "aggregate_type")
    if event_type is not None:
        filters["event_type"] = check_name(event_type, "event_type")
    if since is not None:
        filters["since"] = check_instant(since, "since")
    if until is not None:
        filters["until"] = check_instant(until, "until")
    return filters
