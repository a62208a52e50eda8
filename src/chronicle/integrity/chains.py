"""The two hash chains, recomputed from what a store gives back.

The *aggregate chain* (see :mod:`chronicle.store.integrity`) links each event to the previous
event of the same aggregate; it is written in the append path. The *log chain* links every event
to the one before it in commit order, whatever its aggregate:
``head = SHA-256(previous head ‖ position as 8 bytes big-endian ‖ event hash)``, starting from 32
zero bytes. The sealer computes it after commit and records its head in numbered seals, which is
what makes deleting a whole aggregate, or reordering the log, detectable.
"""

from __future__ import annotations

import hashlib

from chronicle.events import RecordedEvent
from chronicle.store.codec import canonical_object
from chronicle.store.integrity import GENESIS, chain, content_digest, format_timestamp

LOG_GENESIS = GENESIS


def recorded_digest(event: RecordedEvent) -> bytes:
    """The content digest of a stored event, recomputed from its decoded content."""
    return content_digest(
        event_id=event.event_id,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        event_type=event.event_type,
        schema_version=event.schema_version,
        timestamp=format_timestamp(event.timestamp),
        user_id=event.user_id,
        data=canonical_object(event.stored_data, "data"),
        metadata=canonical_object(event.metadata, "metadata"),
    )


def expected_hash(event: RecordedEvent, previous_hash: bytes, version: int | None = None) -> bytes:
    """The hash ``event`` should carry after ``previous_hash`` (at ``version``, default its own)."""
    return chain(
        previous_hash, event.version if version is None else version, recorded_digest(event)
    )


def log_step(head: bytes, position: int, event_hash: bytes) -> bytes:
    """The log chain's head after the event at ``position`` whose integrity hash is ``event_hash``."""
    return hashlib.sha256(head + position.to_bytes(8, "big") + event_hash).digest()
