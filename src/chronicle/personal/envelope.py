"""The stored form of personal fields: a commitment the hash covers, a ciphertext it does not.

An event's personal fields leave its ``data`` and travel in one envelope under the key
``"$personal"``::

    {"v": 1, "subject": USER_ID, "key": KEY_ID, "fields": [...], "commitment": HEX,
     "ciphertext": B64}

``commitment = SHA-256("chronicle-commitment-v1" ‖ 0x00 ‖ salt ‖ values)``, hex, where ``values``
is the RFC 8785 canonical JSON of ``{field: value}`` and ``salt`` 32 fresh random bytes: binding
(opening it to other values takes a SHA-256 collision) and hiding (the salt exists only inside
the ciphertext, so once the key is destroyed no guess of the values can be checked against it).
``ciphertext = nonce ‖ AES-256-GCM(key, nonce, salt ‖ values, associated data = the commitment's
ASCII)``, base64, with a fresh 12-byte nonce: the ciphertext opens only under the commitment it
was made for.

The integrity hash is computed over the *committed form*: the stored data with the envelope's
``ciphertext`` left out (:func:`chronicle.store.integrity.committed_bytes`), so the hash covers
the commitment and every other part of the envelope (whose subject, which key, which fields).
Verification therefore needs no key and still passes after erasure; while the key lives,
``chronicle verify`` also recomputes each commitment from the decrypted salt and values
(:func:`commitment_holds`), which ties the plaintext to the hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from binascii import a2b_base64, b2a_base64
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chronicle.events import JSONObject
from chronicle.personal.fields import (
    envelope_of,
    header_of,
    put,
    take,
    with_envelope,
    without_envelope,
)
from chronicle.store.codec import canonical_object
from chronicle.store.integrity import ENVELOPE, committed_bytes

__all__ = [
    "ENVELOPE",
    "committed_bytes",
    "envelope_of",
    "header_of",
    "put",
    "with_envelope",
    "without_envelope",
]

FORMAT = 1
_COMMITMENT_PREFIX = b"chronicle-commitment-v1\x00"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return a2b_base64(text, strict_mode=True)


def commitment(salt: bytes, values: bytes) -> str:
    """The hex commitment to canonical ``values`` under ``salt``."""
    return commitment_of(salt + values)


class EnvelopeError(Exception):
    """An envelope cannot be opened with the key it names: altered, or not Chronicle's."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """An event's personal fields as sealed: the rest of its data, the envelope's header (what
    the integrity hash covers of it) and the whole envelope as stored (the header and the
    ciphertext)."""

    rest: JSONObject
    header: JSONObject
    envelope: JSONObject

    @property
    def stored(self) -> JSONObject:
        """The data as stored: the rest and the envelope."""
        return {**self.rest, ENVELOPE: self.envelope}

    @property
    def committed(self) -> JSONObject:
        """The data as the integrity hash covers it: the rest and the envelope's header."""
        return {**self.rest, ENVELOPE: self.header}


def split(data: JSONObject, fields: tuple[str, ...]) -> tuple[JSONObject, JSONObject]:
    """``data`` without its personal ``fields`` (a copy), and the values of those it holds."""
    rest = dict(data)
    values: JSONObject = {}
    for path in fields:
        present, value = take(rest, path)
        if present:
            values[path] = value
    return rest, values


def seal(
    data: JSONObject,
    fields: tuple[str, ...],
    *,
    subject: str,
    key_id: str,
    key: bytes | None = None,
    cipher: AESGCM | None = None,
) -> Sealed | None:
    """``data`` with its personal ``fields`` sealed under ``key`` (or the ``cipher`` made of
    it, which a writer keeps); None when it holds none."""
    rest, values = split(data, fields)
    if not values:
        return None
    if cipher is None:
        assert key is not None, "seal needs a key or its cipher"
        cipher = AESGCM(key)
    return seal_values(rest, values, subject=subject, key_id=key_id, cipher=cipher)


def seal_values(
    rest: JSONObject, values: JSONObject, *, subject: str, key_id: str, cipher: AESGCM
) -> Sealed:
    """The envelope of ``values`` (taken out of ``rest`` by :func:`split`)."""
    random = os.urandom(44)  # one draw: the salt, then the nonce
    plaintext = random[:32] + canonical_object(values, "personal fields")
    digest = commitment_of(plaintext)
    nonce = random[32:]
    ciphertext = nonce + cipher.encrypt(nonce, plaintext, digest.encode("ascii"))
    header: JSONObject = {
        "commitment": digest,
        "fields": sorted(values),
        "key": key_id,
        "subject": subject,
        "v": FORMAT,
    }
    stored = {**header, "ciphertext": b2a_base64(ciphertext, newline=False).decode("ascii")}
    return Sealed(rest=rest, header=header, envelope=stored)


def commitment_of(plaintext: bytes) -> str:
    """The commitment of a sealed plaintext (``salt ‖ canonical values``)."""
    return hashlib.sha256(_COMMITMENT_PREFIX + plaintext).hexdigest()


def open_values(envelope: JSONObject, key: bytes) -> JSONObject:
    """The plaintext values of ``envelope``; ``EnvelopeError`` when the key does not open it or
    the values are not the ones its commitment was made to."""
    return open_with(envelope, AESGCM(key), check=True)


def open_with(envelope: JSONObject, cipher: AESGCM, *, check: bool = False) -> JSONObject:
    """:func:`open_values` with the key's cipher already made (a reader keeps one per key).

    Reads leave out the commitment (``check=False``), as they leave out every hash: the AEAD
    tag already vouches that the plaintext is what the key's holder sealed, and ``chronicle
    verify`` checks that it is also what the hash covers (:func:`commitment_holds`).
    """
    plaintext = _decrypt(envelope, cipher)
    if check and commitment_of(plaintext) != envelope.get("commitment"):
        raise EnvelopeError("the personal fields do not match their commitment")
    try:
        values = orjson.loads(memoryview(plaintext)[32:])
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError("the personal fields are not JSON") from exc
    if type(values) is not dict:
        raise EnvelopeError("the personal fields are not a JSON object")
    return values


def commitment_holds(envelope: JSONObject, cipher: AESGCM) -> bool:
    """Whether the plaintext sealed in ``envelope`` is the one its commitment (which the hash
    covers) was made to; ``EnvelopeError`` when it does not decrypt."""
    return commitment_of(_decrypt(envelope, cipher)) == envelope.get("commitment")


def _decrypt(envelope: JSONObject, cipher: AESGCM) -> bytes:
    try:
        digest = envelope["commitment"]
        blob = a2b_base64(envelope["ciphertext"], strict_mode=True)
        return cipher.decrypt(blob[:12], blob[12:], digest.encode("ascii"))
    except (InvalidTag, KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise EnvelopeError(f"the personal fields do not decrypt: {type(exc).__name__}") from exc
