"""Argument checks shared by every backend's read queries."""

from __future__ import annotations

from datetime import UTC, datetime

from chronicle.errors import InvalidEventError

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
