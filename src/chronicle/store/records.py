"""What the store keeps beside events: snapshots, seals, and the figures ``chronicle stats`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    """A numbered integrity checkpoint recorded by the sealer.

    ``head`` is the log chain over every event in commit order up to and including the event at
    ``position``; ``event_count`` is how many events that chain covers; ``last_hash`` is the
    integrity hash of that last event (so a verifier finds it again even if positions moved).
    ``signature`` is the Ed25519 signature of the seal's canonical payload (see
    :mod:`chronicle.integrity.seals`), made with the private key whose public half is
    ``public_key``; both are None when unsigned.
    """

    number: int
    position: int
    event_count: int
    head: bytes
    last_hash: bytes
    sealed_at: datetime
    public_key: bytes | None = None
    signature: bytes | None = None
