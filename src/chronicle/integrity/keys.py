"""Public keys a verifier trusts, and the ids seals name them by.

A key id is the first 16 hex digits of the SHA-256 of the raw 32-byte Ed25519 public key. A
trusted key is written ``KEY_ID:BASE64`` (what ``chronicle verify --show-key`` prints);
``CHRONICLE_TRUSTED_KEYS`` holds any number of them separated by commas, so a key is rotated by
adding the new one: seals signed by the old key still verify. A bare ``BASE64`` is accepted too,
its id computed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chronicle.errors import ConfigurationError

TRUSTED_KEYS_VARIABLE = "CHRONICLE_TRUSTED_KEYS"
_KEY_ID = re.compile(r"[0-9a-f]{16}")

TrustedKeys = dict[str, bytes]
"""Trusted public keys (raw 32 bytes) by key id."""


def key_id(public: bytes) -> str:
    """The id of a raw Ed25519 public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public).hexdigest()[:16]


def key_entry(public: bytes) -> str:
    """``KEY_ID:BASE64``: the form ``CHRONICLE_TRUSTED_KEYS`` and ``--public-key`` take."""
    return f"{key_id(public)}:{base64.b64encode(public).decode()}"


def parse_key_entry(text: str, where: str) -> tuple[str, bytes]:
    """One ``KEY_ID:BASE64`` (or bare ``BASE64``) entry; ``ConfigurationError`` naming ``where``."""
    text = text.strip()
    named, _, encoded = text.rpartition(":")
    try:
        raw = base64.b64decode(encoded, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise ConfigurationError(
            where, f"{text[:60]!r} is not KEY_ID:BASE64 of an Ed25519 public key ({exc})"
        ) from None
    actual = key_id(raw)
    if named and (_KEY_ID.fullmatch(named) is None or named != actual):
        raise ConfigurationError(
            where,
            f"the key id {named[:20]!r} does not name the key that follows it (its id is {actual}"
            "; the id is the first 16 hex digits of the SHA-256 of the raw key)",
        )
    return actual, raw


def parse_trusted_keys(text: str, where: str = TRUSTED_KEYS_VARIABLE) -> TrustedKeys:
    """Comma-separated entries as a mapping of key id to raw key (empty text: no key)."""
    keys: TrustedKeys = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        identifier, raw = parse_key_entry(entry, where)
        keys[identifier] = raw
    return keys
