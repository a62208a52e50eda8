"""Retention receipts: what each run archived, recorded as an event in the log.

The receipt of run N is the ``RetentionApplied`` event at version N of the aggregate
``chronicle-retention``: its policy, cut-off, leaf range, the log chain head and Merkle root at
the cut, counts, the segments and their SHA-256, the digest of the kept heads, the previous
receipt's hash and, when a signing key is set, an Ed25519 signature over the rest (RFC 8785
canonical JSON). Being an event, it is hashed, chained and covered by the seals; the store's
cut row (what the delete guard and the verifier read) must say the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from chronicle.errors import ChronicleError
from chronicle.events import JSONObject, RecordedEvent
from chronicle.integrity.keys import TrustedKeys, key_id
from chronicle.integrity.signing import parse_public_key, signature_valid
from chronicle.store.codec import canonical_json
from chronicle.store.records import RetentionCut, RetentionHead

RECEIPT_AGGREGATE = "chronicle-retention"
RECEIPT_TYPE = "ChronicleRetention"
RECEIPT_APPLIED = "RetentionApplied"


def receipt_payload(receipt: JSONObject) -> bytes:
    """What a receipt's signature covers: the receipt without its signature, canonical."""
    return canonical_json({k: v for k, v in receipt.items() if k != "signature"}, "receipt")


def heads_digest(heads: Sequence[RetentionHead]) -> str:
    """SHA-256 (hex) of the kept heads as the manifest lists them."""
    rows = [[h.aggregate_id, h.version, h.hash.hex(), h.position] for h in heads]
    return hashlib.sha256(canonical_json(rows, "heads")).hexdigest()


def heads_digest_of_rows(rows: Sequence[Sequence[Any]]) -> str:
    return hashlib.sha256(canonical_json([list(row) for row in rows], "heads")).hexdigest()


def receipts_of(store: Any) -> list[RecordedEvent]:
    """The receipt events in the store, in order."""
    return list(store.get_events_for_aggregate(RECEIPT_AGGREGATE))


def signature_problem(receipt: JSONObject, trusted: TrustedKeys) -> str | None:
    """Why the receipt's signature does not hold, or None. Unsigned receipts are the caller's
    to judge; with ``trusted`` keys the signing key must be one of them."""
    signature = receipt.get("signature")
    if signature is None:
        return None
    try:
        public = parse_public_key(str(signature["public_key"]), "the receipt's public key")
        value = bytes.fromhex(str(signature["value"]))
    except (KeyError, TypeError, ValueError, ChronicleError) as exc:
        return f"its signature cannot be read: {exc}"
    if trusted and key_id(public) not in trusted:
        return f"it is signed by key {key_id(public)}, which is not trusted"
    if trusted:
        public = trusted[key_id(public)]
    if not signature_valid(public, receipt_payload(receipt), value):
        return "its signature does not verify: it was altered after signing"
    return None


def cut_problem(cut: RetentionCut, receipt: RecordedEvent) -> str | None:
    """Why the store's cut row is not what its receipt event says, or None."""
    data = receipt.data
    try:
        tree = data["tree"]
        same = (
            data["number"] == cut.number
            and tree["size"] == cut.tree_size
            and tree["root"] == cut.root.hex()
            and tree["head"] == cut.head.hex()
            and tree["max_position"] == cut.max_position
            and receipt.position == cut.receipt_position
        )
    except (KeyError, TypeError):
        return "its receipt event is not a retention receipt"
    if not same:
        return "the store's cut row differs from its receipt event"
    return None
