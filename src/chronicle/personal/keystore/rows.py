"""What both SQL key stores share: the statements (written once, ``{table}`` and the dialect's
placeholders filled in by each backend) and how a row becomes a key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chronicle.personal.keystore import (
    DataKey,
    ErasedKey,
    KeyState,
    KeyWrapError,
    UnusableKey,
    unwrap,
)

COLUMNS = "key_id, subject, wrapped, created_at, erased_at, erased_by, reason"

INSERT_KEY = (
    "INSERT INTO {table} (key_id, subject, wrapped, created_at) VALUES ({p}, {p}, {p}, {p})"
)
ACTIVE_KEY = f"SELECT {COLUMNS} FROM {{table}} WHERE subject = {{p}} AND erased_at IS NULL"
LATEST_TOMBSTONE = (
    f"SELECT {COLUMNS} FROM {{table}} WHERE subject = {{p}} AND erased_at IS NOT NULL "
    "ORDER BY erased_at DESC LIMIT 1"
)
TOMBSTONES = (
    f"SELECT {COLUMNS} FROM {{table}} WHERE erased_at IS NOT NULL ORDER BY erased_at, key_id"
)
KEYS_OF = f"SELECT {COLUMNS} FROM {{table}} WHERE subject = {{p}} ORDER BY created_at, key_id"
ERASE = (
    "UPDATE {table} SET wrapped = NULL, erased_at = {p}, erased_by = {p}, reason = {p} "
    f"WHERE subject = {{p}} AND erased_at IS NULL RETURNING {COLUMNS}"
)


def key_from(row: tuple[Any, ...], kek: bytes, timestamp: Any) -> KeyState:
    key_id, subject, wrapped, _created, erased_at, erased_by, reason = row
    if erased_at is not None:
        return ErasedKey(key_id, subject, timestamp(erased_at), erased_by, reason or "")
    try:
        return DataKey(key_id, subject, unwrap(kek, key_id, subject, bytes(wrapped)))
    except KeyWrapError as exc:
        return UnusableKey(key_id, subject, str(exc))


def live_key(state: KeyState) -> DataKey:
    """The subject's active key, as a writer needs it (``KeyWrapError`` when it does not open)."""
    if isinstance(state, UnusableKey):
        raise KeyWrapError(state.problem)
    assert isinstance(state, DataKey)
    return state


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
