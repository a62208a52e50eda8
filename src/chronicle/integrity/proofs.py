"""Proof documents: one event's inclusion under a seal, or one seal extending another.

A proof document (format ``chronicle-proof/1``) holds everything a third party needs to check it
offline with nothing but the trusted public keys: no database, no settings, no Chronicle. An
inclusion proof carries the event's hashed content, from which :func:`check_proof` recomputes
the event's integrity hash (content digest, then the per-aggregate chain step of
:mod:`chronicle.store.integrity`), the RFC 9162 audit path from that hash's leaf to the seal's
Merkle root, and the seal (a signed tree head). A consistency proof carries two seals and the
RFC 9162 proof that the older tree is a prefix of the newer. The README's "Proofs anyone can
check" describes the format field by field for other verifiers.

Building reads the store (:func:`inclusion_proof_document`, :func:`consistency_proof_document`);
checking (:func:`check_proof`) reads nothing and never raises: any malformed input is a failure
it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chronicle.errors import ChronicleError
from chronicle.events import RecordedEvent
from chronicle.integrity.merkle import (
    consistency_proof_from,
    inclusion_proof_from,
)
from chronicle.integrity.merkle_log import StoredNodes
from chronicle.integrity.proof_check import PROOF_FORMAT, ProofCheck, check_proof
from chronicle.integrity.seals import seal_to_dict
from chronicle.store.codec import MAX_SAFE_INTEGER
from chronicle.store.integrity import GENESIS, format_timestamp
from chronicle.store.ports import EventStore
from chronicle.store.records import Seal

__all__ = [
    "PROOF_FORMAT",
    "NotSealedYetError",
    "ProofCheck",
    "ProofError",
    "ProofUnavailableError",
    "SealNumberError",
    "UnknownEventError",
    "UnprovableSealError",
    "check_proof",
    "consistency_proof_document",
    "inclusion_proof_document",
]


class ProofError(ChronicleError):
    """No proof can be made as asked (the subclass says why)."""


class UnknownEventError(ProofError):
    """No event is stored with the id asked for."""


class SealNumberError(ProofError):
    """A seal number names no stored seal, or the range of seals asked for is backwards."""


class NotSealedYetError(ProofError):
    """The event is not covered by a seal yet (or not by the seal asked for)."""


class UnprovableSealError(ProofError):
    """The seal is of format 1 (before the Merkle log): it has no root to prove against."""


class ProofUnavailableError(ProofError):
    """The store lacks something the proof needs (a Merkle node, the previous event's hash)."""


# --- Building, from a store ------------------------------------------------------------------------


def inclusion_proof_document(
    store: EventStore, event_id: str, seal_number: int | None = None
) -> dict[str, Any]:
    """The proof that the event ``event_id`` is in the tree of the latest seal (or of seal
    ``seal_number``), as a JSON-ready document."""
    event = store.get_event(event_id)
    if event is None:
        raise UnknownEventError(f"no event is stored with the id {event_id!r:.80}")
    # The leaf first, then the seal: a leaf is stored with the seal that covers it, so the latest
    # seal read afterwards covers it too.
    leaf = store.merkle_leaf(event.position)
    if leaf is None:
        raise NotSealedYetError(
            f"event {event.event_id} is not sealed yet: run `chronicle seal` (or wait for the "
            "worker's sealer), then ask again"
        )
    seal = store.latest_seal() if seal_number is None else _stored_seal(store, seal_number)
    if seal is None:
        raise NotSealedYetError(f"event {event.event_id} is not sealed yet: run `chronicle seal`")
    _provable(seal)
    if leaf.index >= seal.tree_size:
        raise NotSealedYetError(
            f"event {event.event_id} is leaf {leaf.index} of the Merkle log, beyond seal "
            f"{seal.number}, which covers the first {seal.tree_size} events: ask for a later seal"
        )
    path = _from_stored(
        lambda: inclusion_proof_from(StoredNodes(store), leaf.index, seal.tree_size)
    )
    return {
        "format": PROOF_FORMAT,
        "type": "inclusion",
        "event": _event_document(event, _previous_hash(store, event)),
        "leaf_index": leaf.index,
        "tree_size": seal.tree_size,
        "audit_path": [node.hex() for node in path],
        "seal": seal_to_dict(seal),
    }


def consistency_proof_document(
    store: EventStore, from_number: int, to_number: int
) -> dict[str, Any]:
    """The proof that seal ``to_number``'s tree extends seal ``from_number``'s."""
    if from_number > to_number:
        raise SealNumberError(f"from (seal {from_number}) is after to (seal {to_number})")
    old, new = _stored_seal(store, from_number), _stored_seal(store, to_number)
    _provable(old)
    _provable(new)
    if old.tree_size > new.tree_size:
        raise ProofUnavailableError(
            f"seal {old.number} covers more events than the later seal {new.number}: the seals "
            "contradict each other; run `chronicle verify`"
        )
    proof: list[bytes] = []
    if old.tree_size < new.tree_size:
        proof = _from_stored(
            lambda: consistency_proof_from(StoredNodes(store), old.tree_size, new.tree_size)
        )
    return {
        "format": PROOF_FORMAT,
        "type": "consistency",
        "from": seal_to_dict(old),
        "to": seal_to_dict(new),
        "proof": [node.hex() for node in proof],
    }


def _stored_seal(store: EventStore, number: int) -> Seal:
    if type(number) is not int or not 1 <= number <= MAX_SAFE_INTEGER:
        raise SealNumberError(f"a seal number is a whole number >= 1, not {number!r:.40}")
    found = store.get_seals(after=number - 1, limit=1)
    if not found or found[0].number != number:
        latest = store.latest_seal()
        newest = f"the latest is seal {latest.number}" if latest else "there is none yet"
        raise SealNumberError(f"no seal {number} is stored ({newest})")
    return found[0]


def _provable(seal: Seal) -> bytes:
    if seal.root is None:
        raise UnprovableSealError(
            f"seal {seal.number} is of format 1 (made before the Merkle log) and has no Merkle "
            "root: no proof can be made against it; use a later seal (run `chronicle seal`)"
        )
    return seal.root


def _from_stored(build: Callable[[], list[bytes]]) -> list[bytes]:
    try:
        return build()
    except LookupError as exc:
        raise ProofUnavailableError(
            f"the stored Merkle log lacks a node the proof needs ({exc}); run `chronicle verify`"
        ) from exc


def _previous_hash(store: EventStore, event: RecordedEvent) -> bytes:
    if event.version == 1:
        return GENESIS
    before = store.get_events_for_aggregate(
        event.aggregate_id, event.version - 1, event.version - 1
    )
    if not before:
        raise ProofUnavailableError(
            f"version {event.version - 1} of {event.aggregate_id}, whose hash event "
            f"{event.event_id} chains to, is no longer in the store"
        )
    return before[0].hash


def _event_document(event: RecordedEvent, previous: bytes) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "aggregate_id": event.aggregate_id,
        "aggregate_type": event.aggregate_type,
        "event_type": event.event_type,
        "version": event.version,
        "schema_version": event.schema_version,
        "timestamp": format_timestamp(event.timestamp),
        "user_id": event.user_id,
        "data": event.stored_data,  # sealed fields in their envelope: checkable with no key
        "metadata": event.metadata,
        "previous_hash": previous.hex(),
        "hash": event.hash.hex(),
        "position": event.position,
    }


# --- Checking, offline -------------------------------------------------------------------------------
