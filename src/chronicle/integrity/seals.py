"""Seals: their canonical payload, signing, and the evidence file kept outside the database.

The signed payload is the RFC 8785 form of ``{format, heads, number, sealed_at}`` where ``heads``
is a list of log heads (one today, for the whole log: ``{log, position, count, head, last}``), so
that a store split into partitions can later sign one head per partition in the same format.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from chronicle.errors import EvidenceFileError
from chronicle.integrity.signing import SigningKey, public_key_text
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import format_timestamp
from chronicle.store.records import Seal

SEAL_FORMAT = "chronicle-seal/1"


def seal_payload(seal: Seal) -> bytes:
    """The canonical bytes a seal's signature covers."""
    return canonical_json(
        {
            "format": SEAL_FORMAT,
            "heads": [
                {
                    "count": seal.event_count,
                    "head": seal.head.hex(),
                    "last": seal.last_hash.hex(),
                    "log": "all",
                    "position": seal.position,
                }
            ],
            "number": seal.number,
            "sealed_at": format_timestamp(seal.sealed_at),
        }
    )


def make_seal(
    *,
    number: int,
    position: int,
    event_count: int,
    head: bytes,
    last_hash: bytes,
    sealed_at: datetime,
    key: SigningKey | None,
) -> Seal:
    """A seal, signed when ``key`` is given."""
    unsigned = Seal(number, position, event_count, head, last_hash, sealed_at)
    if key is None:
        return unsigned
    return Seal(
        number,
        position,
        event_count,
        head,
        last_hash,
        sealed_at,
        public_key=key.public,
        signature=key.sign(seal_payload(unsigned)),
    )


def seal_to_dict(seal: Seal) -> dict[str, Any]:
    """A JSON-ready form of a seal (the evidence file's content)."""
    return {
        "format": SEAL_FORMAT,
        "number": seal.number,
        "position": seal.position,
        "event_count": seal.event_count,
        "head": seal.head.hex(),
        "last_hash": seal.last_hash.hex(),
        "sealed_at": format_timestamp(seal.sealed_at),
        "public_key": public_key_text(seal.public_key) if seal.public_key else None,
        "signature": seal.signature.hex() if seal.signature else None,
    }


def seal_from_dict(document: Any, where: str) -> Seal:
    """Parse what :func:`seal_to_dict` wrote; ``EvidenceFileError`` naming ``where`` otherwise."""
    try:
        if document.get("format") != SEAL_FORMAT:
            raise ValueError(f"format is not {SEAL_FORMAT!r}")
        public = document.get("public_key")
        signature = document.get("signature")
        return Seal(
            number=_positive(document["number"]),
            position=_positive(document["position"]),
            event_count=_positive(document["event_count"]),
            head=_digest(document["head"]),
            last_hash=_digest(document["last_hash"]),
            sealed_at=datetime.fromisoformat(document["sealed_at"]),
            public_key=base64.b64decode(public, validate=True) if public else None,
            signature=bytes.fromhex(signature) if signature else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise EvidenceFileError(f"{where} is not a Chronicle seal: {exc!r}") from exc


def write_evidence(seal: Seal, path: Path) -> None:
    """Write a seal to ``path`` (via a temporary file, so a reader never sees half of it)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(orjson.dumps(seal_to_dict(seal), option=orjson.OPT_INDENT_2) + b"\n")
        temporary.replace(path)
    except OSError as exc:
        raise EvidenceFileError(f"cannot write {path}: {exc}") from exc


def read_evidence(path: Path) -> Seal:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise EvidenceFileError(f"cannot read {path}: {exc}") from exc
    return seal_from_dict(document, str(path))


def _positive(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{value!r} is not a whole number >= 1")
    return value


def _digest(value: Any) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError(f"{value!r} is not a 32-byte hex digest")
    return raw
