"""Argument checks shared by every backend's read queries."""

from __future__ import annotations

from collections.abc import Callable
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


def search_conditions(
    *,
    user_id: str | None,
    aggregate_type: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    placeholder: str,
    instant: Callable[[datetime], Any],
) -> tuple[str, list[Any]]:
    """The checked filters of ``search_events`` as ``AND …`` SQL and its parameters.

    ``placeholder`` is the driver's parameter marker; ``instant`` turns a UTC datetime into what
    the backend compares timestamps with. Every value travels as a parameter, never in the SQL.
    """
    sql = ""
    params: list[Any] = []
    if user_id is not None:
        if type(user_id) is not str or not 0 < len(user_id) <= 200:
            raise InvalidEventError(f"user_id must be 1-200 characters, got {user_id!r:.60}")
        sql += f" AND user_id = {placeholder}"
        params.append(user_id)
    for column, value in (("aggregate_type", aggregate_type), ("event_type", event_type)):
        if value is not None:
            sql += f" AND {column} = {placeholder}"
            params.append(check_name(value, column))
    if since is not None:
        sql += f" AND timestamp >= {placeholder}"
        params.append(instant(check_instant(since, "since")))
    if until is not None:
        sql += f" AND timestamp <= {placeholder}"
        params.append(instant(check_instant(until, "until")))
    return sql, params
