"""Ed25519 keys for signing seals.

``CHRONICLE_SIGNING_KEY`` holds the private key, either as the base64 of its 32 raw bytes (what
``chronicle seal --new-key`` prints) or as a PEM ``PRIVATE KEY`` block (PKCS #8, as written by
``openssl genpkey -algorithm ed25519``). Public keys are shown as the base64 of their 32 raw
bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chronicle.errors import ConfigurationError
from chronicle.integrity.keys import key_id
from chronicle.key_text import KEY_VARIABLE as KEY_VARIABLE  # still importable from here
from chronicle.key_text import private_key_bytes


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key and its public half (raw 32 bytes)."""

    private: Ed25519PrivateKey
    public: bytes

    def sign(self, payload: bytes) -> bytes:
        return self.private.sign(payload)

    @property
    def key_id(self) -> str:
        return key_id(self.public)


def load_signing_key(text: str) -> SigningKey:
    """Parse a private key (base64 of 32 raw bytes, or PEM); ``ConfigurationError`` otherwise."""
    key = Ed25519PrivateKey.from_private_bytes(private_key_bytes(text))
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey(private=key, public=public)


def new_signing_key_text() -> str:
    """A fresh private key in the base64 form ``CHRONICLE_SIGNING_KEY`` accepts."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()


def public_key_text(public: bytes) -> str:
    return base64.b64encode(public).decode()


def parse_public_key(text: str, where: str) -> bytes:
    """A base64 public key as raw bytes; ``ConfigurationError`` naming ``where`` otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise ConfigurationError(where, f"is not a base64 Ed25519 public key ({exc})") from None
    return raw


def signature_valid(public: bytes, payload: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``payload`` by ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True
