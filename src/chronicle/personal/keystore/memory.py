"""A key store in memory, for tests and the in-memory event store: gone when closed."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
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
                if isinstance(state, ErasedKey):
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

    def tombstones(self) -> list[ErasedKey]:
        with self._lock:
            found = [state for state in self._keys.values() if isinstance(state, ErasedKey)]
        return sorted(found, key=lambda key: (key.erased_at, key.key_id))

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        return self.erase_all([subject], erased_by=erased_by, reason=reason)

    def erase_all(
        self, subjects: Sequence[str], *, erased_by: str | None, reason: str
    ) -> list[ErasedKey]:
        now, wanted = datetime.now(UTC), set(subjects)
        with self._lock:
            erased = [
                ErasedKey(state.key_id, state.subject, now, erased_by, reason)
                for state in self._keys.values()
                if state.subject in wanted and not isinstance(state, ErasedKey)
            ]
            for tombstone in erased:
                self._keys[tombstone.key_id] = tombstone
            return erased

    def close(self) -> None:
        with self._lock:
            self._keys.clear()
