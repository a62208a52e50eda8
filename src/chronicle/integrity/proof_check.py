"""Checking a proof document offline: no database, no settings, never an exception.

:func:`check_proof` recomputes the event's integrity hash from the document's content, runs the
RFC 9162 verifications of :mod:`chronicle.integrity.merkle`, and checks each seal's signature with
a key the caller trusts. Any malformed input is a failure it names. The format is described in
:mod:`chronicle.integrity.proofs` and the README's "Proofs anyone can check".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from chronicle.errors import EvidenceFileError, InvalidEventError
from chronicle.integrity.merkle import (
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from chronicle.integrity.seals import seal_from_dict, seal_payload, seal_to_dict
from chronicle.integrity.signing import signature_valid
from chronicle.store.codec import MAX_SAFE_INTEGER, canonical_object
from chronicle.store.integrity import GENESIS, chain, content_digest
from chronicle.store.records import Seal

PROOF_FORMAT = "chronicle-proof/1"
_HEX32 = re.compile(r"[0-9a-f]{64}")
_MAX_VERSION = 2**63 - 1  # the chain takes the version as 8 bytes


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """What :func:`check_proof` found: ``valid`` when nothing failed; each failure in words."""

    failures: list[str] = field(default_factory=list)
    type: str | None = None
    """``inclusion`` or ``consistency`` when the document says which, else None."""

    @property
    def valid(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "type": self.type, "failures": list(self.failures)}


def check_proof(document: Any, trusted: Mapping[str, bytes]) -> ProofCheck:
    """Check a proof document against the trusted public keys (raw 32 bytes, by key id).

    Reads no database and no settings, and never raises: whatever ``document`` is, the result
    names every check that failed.
    """
    if not isinstance(document, dict):
        return ProofCheck(["malformed document: it is not a JSON object"])
    failures = []
    if document.get("format") != PROOF_FORMAT:
        failures.append(f"malformed document: format is not {PROOF_FORMAT!r}")
    kind = document.get("type")
    checker = _CHECKERS.get(kind) if isinstance(kind, str) else None
    if checker is None:
        failures.append("malformed document: type is neither 'inclusion' nor 'consistency'")
        return ProofCheck(failures)
    return ProofCheck(failures + checker(document, trusted), kind)


def _check_inclusion(document: dict[str, Any], trusted: Mapping[str, bytes]) -> list[str]:
    seal, failures = _check_seal(document.get("seal"), "seal", trusted)
    claimed, event_failures = _check_event(document.get("event"))
    failures += event_failures
    index: Any = document.get("leaf_index")
    size: Any = document.get("tree_size")
    path = _hashes(document.get("audit_path"))
    for name, value in (("leaf_index", index), ("tree_size", size)):
        if not _is_int(value):
            failures.append(f"malformed document: {name} is not a whole number")
    if path is None:
        failures.append("malformed document: audit_path is not a list of 64-digit lowercase hex")
    if seal is None or seal.root is None or claimed is None or path is None:
        return failures
    if _is_int(size) and size != seal.tree_size:
        failures.append(f"tree_size {size} is not the seal's tree size {seal.tree_size}")
    # verify_inclusion is total: a malformed index or size is a False, already named above.
    if not verify_inclusion(leaf_hash(claimed), index, size, path, seal.root):
        failures.append(
            "the audit path does not lead from the event's leaf to the seal's root "
            f"(leaf {index if _is_int(index) else '?'} of {size if _is_int(size) else '?'})"
        )
    return failures


def _check_consistency(document: dict[str, Any], trusted: Mapping[str, bytes]) -> list[str]:
    old, failures = _check_seal(document.get("from"), "from", trusted)
    new, new_failures = _check_seal(document.get("to"), "to", trusted)
    failures += new_failures
    proof = _hashes(document.get("proof"))
    if proof is None:
        failures.append("malformed document: proof is not a list of 64-digit lowercase hex")
    if old is None or new is None or old.root is None or new.root is None or proof is None:
        return failures
    names = f"seal {old.number} (size {old.tree_size}) to seal {new.number} (size {new.tree_size})"
    if old.number > new.number or old.tree_size > new.tree_size:
        failures.append(f"from is not older than to: {names}")
    elif old.tree_size == new.tree_size:
        if proof or old.root != new.root:
            failures.append(
                f"trees of equal size must have equal roots and an empty proof: {names}"
            )
    elif not verify_consistency(old.tree_size, new.tree_size, old.root, new.root, proof):
        failures.append(f"the proof does not show that the older tree is a prefix: {names}")
    old_payload, new_payload = _payload(old), _payload(new)
    if old.number == new.number and old_payload != new_payload:
        failures.append(f"two different seals carry the number {old.number}")
    if (
        new.number == old.number + 1
        and old_payload is not None
        and new.previous != hashlib.sha256(old_payload).digest()
    ):
        failures.append(f"seal {new.number} does not name seal {old.number} as its previous seal")
    return failures


_CHECKERS: dict[str, Callable[[dict[str, Any], Mapping[str, bytes]], list[str]]] = {
    "inclusion": _check_inclusion,
    "consistency": _check_consistency,
}


def _check_seal(
    value: Any, name: str, trusted: Mapping[str, bytes]
) -> tuple[Seal | None, list[str]]:
    """The seal at ``name`` if it parses, and what is wrong with it (format, key, signature)."""
    if not isinstance(value, dict):
        return None, [f"malformed document: {name} is not a JSON object"]
    # seal_from_dict names a bad number by its repr, which a deeply nested value cannot give.
    numbers = ("number", "position", "tree_size", "event_count")
    if any(key in value and not _is_int(value[key]) for key in numbers):
        return None, [f"malformed document: a number of {name} is not a whole number"]
    try:
        seal = seal_from_dict(value, name)
    except EvidenceFileError as exc:
        return None, [f"malformed document: {exc}"]
    label = f"{name} (seal {seal.number})"
    if seal.root is None:
        return seal, [f"{label} is of format 1 (before the Merkle log): it has no root to prove"]
    payload = _payload(seal)
    if payload is None or _normal_form(seal) != value:
        # Parsing is lenient where the signed payload is not (hex case, time zone spelling): a
        # document must be exactly what Chronicle writes, so its signed bytes are unambiguous.
        return seal, [f"malformed document: {name} is not a seal in the form Chronicle writes"]
    if seal.signature is None:
        return seal, [f"{label} is unsigned: nothing shows who made it"]
    key = trusted.get(seal.key_id) if isinstance(seal.key_id, str) else None
    if key is None:
        return seal, [f"{label} is signed by key {seal.key_id!r:.40}, which is not trusted"]
    if not signature_valid(key, payload, seal.signature):
        return seal, [f"{label}'s signature is invalid: it was changed after signing"]
    return seal, []


def _payload(seal: Seal) -> bytes | None:
    try:
        return seal_payload(seal)
    except InvalidEventError:  # text no JSON can hold (lone surrogates)
        return None


def _normal_form(seal: Seal) -> dict[str, Any] | None:
    try:
        return seal_to_dict(seal)
    except InvalidEventError:
        return None


_TEXT_FIELDS = ("event_id", "aggregate_id", "aggregate_type", "event_type", "timestamp")


def _check_event(event: Any) -> tuple[bytes | None, list[str]]:
    """The event's claimed hash (None if malformed), and what is wrong with the event."""
    if not isinstance(event, dict):
        return None, ["malformed document: event is not a JSON object"]
    wrong = [name for name in _TEXT_FIELDS if not _is_text(event.get(name))]
    user_id = event.get("user_id")
    if user_id is not None and not _is_text(user_id):
        wrong.append("user_id")
    version: Any = event.get("version")
    schema_version: Any = event.get("schema_version")
    if not (_is_int(version) and 1 <= version <= _MAX_VERSION):
        wrong.append("version")
    if not (_is_int(schema_version) and abs(schema_version) <= MAX_SAFE_INTEGER):
        wrong.append("schema_version")
    if not _is_int(event.get("position")):
        wrong.append("position")
    previous, claimed = _hex32(event.get("previous_hash")), _hex32(event.get("hash"))
    wrong += [name for name, got in (("previous_hash", previous), ("hash", claimed)) if got is None]
    try:
        data = canonical_object(event.get("data"), "event.data")
        metadata = canonical_object(event.get("metadata"), "event.metadata")
    except InvalidEventError as exc:
        return claimed, [f"malformed document: {exc}", *_wrong_fields(wrong)]
    if wrong or previous is None or claimed is None:
        return claimed, _wrong_fields(wrong)
    failures = []
    if version == 1 and previous != GENESIS:
        failures.append("the event is version 1 but previous_hash is not 32 zero bytes")
    digest = content_digest(
        event_id=event["event_id"],
        aggregate_id=event["aggregate_id"],
        aggregate_type=event["aggregate_type"],
        event_type=event["event_type"],
        schema_version=schema_version,
        timestamp=event["timestamp"],
        user_id=user_id,
        data=data,
        metadata=metadata,
    )
    if chain(previous, version, digest) != claimed:
        failures.append("the event's hash does not match its content and previous_hash")
    return claimed, failures


def _wrong_fields(names: list[str]) -> list[str]:
    return [f"malformed document: event.{name} is missing or of the wrong type" for name in names]


def _is_int(value: Any) -> TypeGuard[int]:
    return type(value) is int


def _is_text(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:  # lone surrogates: no JSON text holds them
        return False
    return True


def _hex32(value: Any) -> bytes | None:
    if type(value) is not str or _HEX32.fullmatch(value) is None:
        return None
    return bytes.fromhex(value)


def _hashes(value: Any) -> list[bytes] | None:
    if type(value) is not list:
        return None
    hashes = []
    for item in value:
        digest = _hex32(item)
        if digest is None:
            return None
        hashes.append(digest)
    return hashes
