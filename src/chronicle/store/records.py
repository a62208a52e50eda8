"""What the store keeps beside events: snapshots, seals, and the figures ``chronicle stats`` shows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """What health and metrics report, found in time that does not grow with the log.

    ``total_events`` is exact: the latest seal's count plus the events committed after it
    (counted on the commit-order index, so the cost is that of the unsealed tail); the oldest
    and newest times are one index lookup each. Without seals the tail is the whole log.
    """

    backend: str
    total_events: int
    oldest_event: datetime | None
    newest_event: datetime | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What ``chronicle stats`` prints."""

    backend: str
    total_events: int
    aggregates: int
    by_aggregate_type: dict[str, int]
    by_event_type: dict[str, int]
    oldest_event: datetime | None
    newest_event: datetime | None
    size_bytes: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "total_events": self.total_events,
            "aggregates": self.aggregates,
            "by_aggregate_type": self.by_aggregate_type,
            "by_event_type": self.by_event_type,
            "oldest_event": self.oldest_event.isoformat() if self.oldest_event else None,
            "newest_event": self.newest_event.isoformat() if self.newest_event else None,
            "size_bytes": self.size_bytes,
            "schema_version": self.schema_version,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An aggregate's state at ``version``, written under ``state_schema_version``."""

    aggregate_id: str
    aggregate_type: str
    version: int
    state_schema_version: int
    state: dict[str, Any]
    created_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Seal:
    """A numbered integrity checkpoint recorded by the sealer: a signed tree head.

    ``event_count`` is the tree size: how many events, in commit order, the seal covers, up to
    and including the event at ``position``, whose integrity hash is ``last_hash`` (so a verifier
    finds it again even if positions moved). ``head`` is the log chain over those events and
    ``root`` the RFC 9162 Merkle root over their hashes (None in seals of format 1, made before
    the Merkle log). ``previous`` is the hash of the previous seal's payload, so seals form
    their own chain (32 zero bytes for seal 1; None in format 1). ``signature`` is the Ed25519
    signature of the canonical payload (see :mod:`chronicle.integrity.seals`) by the key whose
    public half is ``public_key`` and whose id is ``key_id``; all three are None when unsigned.
    """

    number: int
    position: int
    event_count: int
    head: bytes
    last_hash: bytes
    sealed_at: datetime
    public_key: bytes | None = None
    signature: bytes | None = None
    root: bytes | None = None
    previous: bytes | None = None
    key_id: str | None = None

    @property
    def format(self) -> int:
        """1 for a seal over the log chain only, 2 for a tree head."""
        return 1 if self.root is None else 2

    @property
    def tree_size(self) -> int:
        return self.event_count


@dataclass(frozen=True, slots=True)
class MerkleNode:
    """A complete subtree of the Merkle log: the leaves [index·2^level, (index+1)·2^level).

    At level 0 a node is one event's leaf and names that event: its ``position`` in the log, its
    ``aggregate_id`` and ``version`` (None above level 0), so that a verifier can name an event
    deleted after it was sealed.
    """

    level: int
    index: int
    hash: bytes
    position: int | None = None
    aggregate_id: str | None = None
    version: int | None = None


SnapshotKey = tuple[str, int]
"""A snapshot's key, ``(aggregate_id, version)``: the cursor of the snapshot listings."""


def state_digest(state: bytes) -> bytes:
    """The SHA-256 of a snapshot's state as the store keeps it (its canonical JSON bytes)."""
    return hashlib.sha256(state).digest()


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A snapshot as stored: ``digest`` is :func:`state_digest` of the state bytes the store
        keeps; ``attested`` the digest its attestation vouches for and ``seal_number`` the seal it
        was attested under (both None while it is unattested). ``snapshot.state`` is opened: its
    personal fields in clear, or placeholders once their key was destroyed."""

    snapshot: Snapshot
    digest: bytes
    attested: bytes | None = None
    seal_number: int | None = None
    opened_digest: bytes | None = None
    """With sealed personal fields: the digest of the state as opened (None when their key was
    destroyed and ``readable`` is False). A replay is compared with :attr:`replayable_digest`."""
    readable: bool = True

    @property
    def replayable_digest(self) -> bytes | None:
        """What the state replayed from the events must digest to (None: cannot be judged)."""
        if not self.readable:
            return None
        return self.opened_digest if self.opened_digest is not None else self.digest

    @property
    def key(self) -> SnapshotKey:
        return self.snapshot.aggregate_id, self.snapshot.version

    @property
    def trusted(self) -> bool:
        """Attested, and its state is still the one the attestation vouches for."""
        return self.attested is not None and self.attested == self.digest


@dataclass(frozen=True, slots=True)
class RetentionCut:
    """How far retention archived the log (see :mod:`chronicle.retention`): the first
    ``tree_size`` events of the Merkle log, whose log chain ends at ``head`` and tree at
    ``root``; recorded with the receipt event at ``receipt_position``. ``max_position`` is the
    highest position among those events (what is still stored of them is found below it)."""

    number: int
    tree_size: int
    head: bytes
    root: bytes
    receipt_position: int
    max_position: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RetentionHead:
    """The last archived event of an aggregate: what its next append and the verifier chain
    onto once its events left the hot store."""

    aggregate_id: str
    version: int
    hash: bytes
    position: int
    cut: int
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class HoldRow:
    """An active legal hold as the database's guard sees it (kept from the hold's events)."""

    hold_id: str
    subject_kind: str
    subject_id: str
    reason: str
    placed_at: datetime
