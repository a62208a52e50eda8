"""Seals: their canonical payload, their own hash chain, signing, and the evidence files.

A seal of format 2 is a signed tree head. Its signature covers the RFC 8785 (JCS) form of::

    {"format": "chronicle-seal/2", "number": N, "tree_size": n, "root": HEX, "log_head": HEX,
     "position": P, "last_hash": HEX, "previous": HEX, "sealed_at": ISO-8601, "key_id": ID|null}

``root`` is the RFC 9162 Merkle root over the first ``tree_size`` event hashes in commit order,
``log_head`` the log chain's head over the same events (see :mod:`chronicle.integrity.chains`),
``previous`` the seal hash of seal N-1 (64 zeros for seal 1): the SHA-256 of that seal's
payload, so deleting or replacing one seal breaks every later one. Seals of format 1 (before the
Merkle log) signed ``{format, heads, number, sealed_at}`` and still verify as they were.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from chronicle.errors import EvidenceFileError
from chronicle.integrity.signing import SigningKey, public_key_text
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import format_timestamp
from chronicle.store.records import Seal

SEAL_FORMAT_V1 = "chronicle-seal/1"
SEAL_FORMAT = "chronicle-seal/2"
NO_PREVIOUS = bytes(32)
"""What seal 1 names as its previous seal."""


def seal_payload(seal: Seal) -> bytes:
    """The canonical bytes a seal's signature covers (and its seal hash is taken over)."""
    if seal.root is None:
        return _payload_v1(seal)
    return canonical_json(
        {
            "format": SEAL_FORMAT,
            "number": seal.number,
            "tree_size": seal.event_count,
            "root": seal.root.hex(),
            "log_head": seal.head.hex(),
            "position": seal.position,
            "last_hash": seal.last_hash.hex(),
            "previous": (seal.previous or NO_PREVIOUS).hex(),
            "sealed_at": format_timestamp(seal.sealed_at),
            "key_id": seal.key_id,
        }
    )


def _payload_v1(seal: Seal) -> bytes:
    return canonical_json(
        {
            "format": SEAL_FORMAT_V1,
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


def seal_hash(seal: Seal) -> bytes:
    """SHA-256 of the seal's payload: what the next seal names as ``previous``."""
    return hashlib.sha256(seal_payload(seal)).digest()


def make_seal(
    *,
    number: int,
    position: int,
    event_count: int,
    head: bytes,
    last_hash: bytes,
    root: bytes,
    previous: bytes,
    sealed_at: datetime,
    key: SigningKey | None,
) -> Seal:
    """A tree head, signed when ``key`` is given."""
    unsigned = Seal(
        number,
        position,
        event_count,
        head,
        last_hash,
        sealed_at,
        root=root,
        previous=previous,
        key_id=key.key_id if key else None,
    )
    if key is None:
        return unsigned
    return replace(unsigned, public_key=key.public, signature=key.sign(seal_payload(unsigned)))


def seal_to_dict(seal: Seal) -> dict[str, Any]:
    """A JSON-ready form of a seal: the evidence file's content, and a proof's tree head.

    The payload's fields as they are signed, then ``public_key`` (base64, informative: a verifier
    trusts keys it was given, by ``key_id``) and ``signature`` (hex, or null when unsigned).
    """
    signature = seal.signature.hex() if seal.signature else None
    public = public_key_text(seal.public_key) if seal.public_key else None
    if seal.root is None:
        return {
            "format": SEAL_FORMAT_V1,
            "number": seal.number,
            "position": seal.position,
            "event_count": seal.event_count,
            "head": seal.head.hex(),
            "last_hash": seal.last_hash.hex(),
            "sealed_at": format_timestamp(seal.sealed_at),
            "public_key": public,
            "signature": signature,
        }
    document = orjson.loads(seal_payload(seal))
    document["public_key"] = public
    document["signature"] = signature
    return document


def seal_from_dict(document: Any, where: str) -> Seal:
    """Parse what :func:`seal_to_dict` wrote; ``EvidenceFileError`` naming ``where`` otherwise."""
    try:
        if not isinstance(document, dict):
            raise ValueError("it is not a JSON object")
        kind = document.get("format")
        public = document.get("public_key")
        signature = document.get("signature")
        common: dict[str, Any] = {
            "number": _positive(document["number"]),
            "position": _whole(document["position"]),
            "last_hash": _digest(document["last_hash"]),
            "sealed_at": _instant(document["sealed_at"]),
            "public_key": base64.b64decode(public, validate=True) if public else None,
            "signature": bytes.fromhex(signature) if signature else None,
        }
        if kind == SEAL_FORMAT_V1:
            return Seal(
                event_count=_positive(document["event_count"]),
                head=_digest(document["head"]),
                **common,
            )
        if kind != SEAL_FORMAT:
            raise ValueError(f"format is neither {SEAL_FORMAT!r} nor {SEAL_FORMAT_V1!r}")
        identifier = document["key_id"]
        if identifier is not None and not isinstance(identifier, str):
            raise ValueError("key_id is neither a string nor null")
        return Seal(
            event_count=_positive(document["tree_size"]),
            head=_digest(document["log_head"]),
            root=_digest(document["root"]),
            previous=_digest(document["previous"]),
            key_id=identifier,
            **common,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise EvidenceFileError(f"{where} is not a Chronicle seal: {exc!r}") from exc


def evidence_name(number: int) -> str:
    """The file name of seal ``number`` in a seal folder."""
    return f"seal-{number:08d}.json"


def write_evidence(seal: Seal, path: Path, *, overwrite: bool = True) -> bool:
    """Write a seal to ``path`` via a temporary file, so a reader never sees half of it.

    With ``overwrite=False`` (a seal folder) an existing file is never replaced: returns False and
    leaves it as it is. Returns True when the file was written.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    content = orjson.dumps(seal_to_dict(seal), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            temporary.replace(path)
            return True
        try:
            os.link(temporary, path)  # fails if the name is taken: write-once
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        return True
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise EvidenceFileError(f"cannot write {path}: {exc}") from exc


def read_evidence(path: Path) -> Seal:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise EvidenceFileError(f"cannot read {path}: {exc}") from exc
    return seal_from_dict(document, str(path))


def read_seal_folder(folder: Path) -> list[Seal]:
    """Every seal file of a seal folder, in number order (none when the folder does not exist).

    A file whose name and content disagree on the number is refused: evidence must not be
    ambiguous.
    """
    if not folder.is_dir():
        return []
    seals = []
    for path in sorted(folder.glob("seal-*.json")):
        seal = read_evidence(path)
        if path.name != evidence_name(seal.number):
            raise EvidenceFileError(f"{path} holds seal {seal.number}, not the one its name says")
        seals.append(seal)
    return seals


def _positive(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{value!r} is not a whole number >= 1")
    return value


def _whole(value: Any) -> int:
    if type(value) is not int:
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _instant(value: Any) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return instant


def _digest(value: Any) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError(f"{value!r} is not a 32-byte hex digest")
    return raw
