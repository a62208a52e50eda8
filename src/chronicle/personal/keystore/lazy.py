"""A key store opened on first use, and opened again after it failed to open.

The service starts, and serves everything that is not personal, while its key store is down;
a personal write or read in that time fails with ``KeyStoreUnavailableError`` (503).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence

from chronicle.personal.keystore import DataKey, ErasedKey, KeyState, KeyStore


class LazyKeyStore:
    def __init__(self, open_store: Callable[[], KeyStore], description: str) -> None:
        self._open = open_store
        self.description = description
        self._store: KeyStore | None = None
        self._lock = threading.Lock()

    def _opened(self) -> KeyStore:
        store = self._store
        if store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._open()
                store = self._store
        return store

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        return self._opened().active_key(subject, renew=renew)

    def keys(self, key_ids: Collection[str]) -> dict[str, KeyState]:
        return self._opened().keys(key_ids)

    def keys_of(self, subject: str) -> list[KeyState]:
        return self._opened().keys_of(subject)

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        return self._opened().erase(subject, erased_by=erased_by, reason=reason)

    def erase_all(
        self, subjects: Sequence[str], *, erased_by: str | None, reason: str
    ) -> list[ErasedKey]:
        return self._opened().erase_all(subjects, erased_by=erased_by, reason=reason)

    def tombstones(self) -> list[ErasedKey]:
        return self._opened().tombstones()

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
