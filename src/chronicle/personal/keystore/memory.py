"""A key store in memory, for tests and the in-memory event store: gone when closed."""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, datetime

from chronicle.errors import SubjectErasedError
from chronicle.personal.keystore import (
    DataKey,
    ErasedKey,
    KeyState,
    new_data_key,
    new_key_id,
)


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, KeyState] = {}
        self._lock = threading.Lock()

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        with self._lock:
            erased = None
            for state in self._keys.values():
                if state.subject != subject:
                    continue
                if isinstance(state, DataKey):
                    return state
                erased = state
            if erased is not None and not renew:
                raise SubjectErasedError(subject, erased.erased_at.date().isoformat())
            key = DataKey(new_key_id(), subject, new_data_key())
            self._keys[key.key_id] = key
            return key

    def keys(self, key_ids: Collection[str]) -> dict[str, KeyState]:
        with self._lock:
            return {key_id: self._keys[key_id] for key_id in key_ids if key_id in self._keys}

    def keys_of(self, subject: str) -> list[KeyState]:
        with self._lock:
            return [state for state in self._keys.values() if state.subject == subject]

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        now = datetime.now(UTC)
        with self._lock:
            erased = [
                ErasedKey(state.key_id, subject, now, erased_by, reason)
                for state in self._keys.values()
                if state.subject == subject and isinstance(state, DataKey)
            ]
            for tombstone in erased:
                self._keys[tombstone.key_id] = tombstone
            return erased

    def close(self) -> None:
        with self._lock:
            self._keys.clear()
