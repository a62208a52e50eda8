"""Where subjects' data keys live: apart from the events, each wrapped by the key-encryption key.

A subject's data key is made on its first personal write (:meth:`KeyStore.active_key`) and
destroyed by an erasure (:meth:`KeyStore.erase`), which keeps a tombstone (when, by whom, why)
and overwrites the wrapped key. Every backend holds one table of the same shape::

    key_id   subject   wrapped (NULL once erased)   created_at   erased_at   erased_by   reason

The wrapped key is AES-256-GCM under the key-encryption key (CHRONICLE_KEY_ENCRYPTION_KEY) of
the data key, with ``key_id ‖ 0x00 ‖ subject`` as associated data, so a wrapped key cannot be
moved to another subject. A backup of the events therefore carries no key, and a backup of the
key store no key that opens without the key-encryption key.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chronicle.errors import KeyStoreUnavailableError


@dataclass(frozen=True, slots=True)
class DataKey:
    """A live data key: its id, its subject and its 32 bytes."""

    key_id: str
    subject: str
    key: bytes


@dataclass(frozen=True, slots=True)
class ErasedKey:
    """A destroyed data key: what is left of it, the tombstone."""

    key_id: str
    subject: str
    erased_at: datetime
    erased_by: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class UnusableKey:
    """A live key whose wrapped bytes do not open (the wrong key-encryption key, or a key store
    altered behind Chronicle's back): what it seals reads as unreadable, never as an error."""

    key_id: str
    subject: str
    problem: str


KeyState = DataKey | ErasedKey | UnusableKey


class KeyWrapError(KeyStoreUnavailableError):
    """A wrapped key does not open with this key-encryption key (the wrong
    CHRONICLE_KEY_ENCRYPTION_KEY, or an altered key store): personal writes stop (503)."""


def new_key_id() -> str:
    return f"dk-{uuid.uuid4().hex}"


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _binding(key_id: str, subject: str) -> bytes:
    return key_id.encode() + b"\x00" + subject.encode()


def wrap(kek: bytes, key_id: str, subject: str, key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, _binding(key_id, subject))


def unwrap(kek: bytes, key_id: str, subject: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], _binding(key_id, subject))
    except InvalidTag:
        raise KeyWrapError(
            f"the data key {key_id} does not open with this key-encryption key "
            "(check CHRONICLE_KEY_ENCRYPTION_KEY)"
        ) from None


class KeyStore(Protocol):
    """The port every key store backend implements."""

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        """The subject's live key, made now if it has none. An erased subject raises
        ``SubjectErasedError`` unless ``renew`` (a snapshot's key may be made again)."""
        ...

    def keys(self, key_ids: Collection[str]) -> dict[str, KeyState]:
        """The keys of ``key_ids`` that the store knows, live or erased."""
        ...

    def keys_of(self, subject: str) -> list[KeyState]:
        """Every key the subject ever had, oldest first."""
        ...

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        """Destroy the subject's live keys; the tombstones of those it destroyed (none when it
        had no live key)."""
        ...

    def erase_all(
        self, subjects: Sequence[str], *, erased_by: str | None, reason: str
    ) -> list[ErasedKey]:
        """:meth:`erase` for several subjects in one transaction (and one clean-up after)."""
        ...

    def tombstones(self) -> list[ErasedKey]:
        """Every destroyed key, oldest first (what ``chronicle verify`` holds against the
        erasures the log records)."""
        ...

    def close(self) -> None: ...
