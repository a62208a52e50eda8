"""The text forms ``CHRONICLE_SIGNING_KEY`` accepts, read into the key's 32 raw bytes.

Kept apart from :mod:`chronicle.integrity.signing` so that the settings can reject a malformed key
at start-up without importing the integrity package: :mod:`chronicle.config` sits below it.
"""

from __future__ import annotations

import base64
import binascii

from chronicle.errors import ConfigurationError

KEY_VARIABLE = "CHRONICLE_SIGNING_KEY"


def private_key_bytes(text: str) -> bytes:
    """The raw Ed25519 private key in ``text``: the base64 of 32 bytes, or a PEM ``PRIVATE KEY``.

    Raises ``ConfigurationError`` naming ``CHRONICLE_SIGNING_KEY`` for anything else.
    """
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            return _pem_private_bytes(text)
        raw = base64.b64decode(text, validate=True)
        # Every 32-byte string is a valid Ed25519 private key, so the length is the whole check.
        if len(raw) != 32:
            raise ValueError(f"it decodes to {len(raw)} bytes, not 32")
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigurationError(
            KEY_VARIABLE,
            f"is not an Ed25519 private key ({exc}); it accepts the base64 of 32 raw bytes "
            "(chronicle seal --new-key) or a PEM PRIVATE KEY block",
        ) from None
    return raw


def _pem_private_bytes(text: str) -> bytes:
    # PKCS #8 parsing needs cryptography; importing it here keeps `import chronicle.config` (and
    # the usual base64 form) free of it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the PEM key is not an Ed25519 key")
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
