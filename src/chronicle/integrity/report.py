"""What ``chronicle verify`` finds: kinds of problem and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ProblemKind(StrEnum):
    """The stable kinds of finding (the ``kind`` of the JSON report)."""

    CONTENT_CHANGED = "content_changed"
    EVENT_MISSING = "event_missing"
    EVENT_INSERTED = "event_inserted"
    ORDER_CHANGED = "order_changed"
    HIDDEN_ROW = "hidden_row"
    SNAPSHOT_FORGED = "snapshot_forged"
    SEAL_MISSING = "seal_missing"
    SEAL_ALTERED = "seal_altered"
    FORK = "fork"
    ROLLBACK = "rollback"
    SIGNATURE_INVALID = "checkpoint_signature_invalid"
    RECEIPT_MISSING = "receipt_missing"
    RECEIPT_ALTERED = "receipt_altered"
    PERSONAL_DATA_UNREADABLE = "personal_data_unreadable"
    KEY_ERASED_WITHOUT_RECORD = "key_erased_without_record"
    ERASURE_INCOMPLETE = "erasure_incomplete"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``position``/``aggregate_id``/``version``/``event_id`` name the event affected
    (as far as it is known); ``seal`` the checkpoint involved; ``index`` is its place in the walk,
    used to put the findings in log order."""

    kind: ProblemKind
    message: str
    position: int | None = None
    aggregate_id: str | None = None
    version: int | None = None
    event_id: str | None = None
    seal: int | None = None
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "message": self.message,
            "position": self.position,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "event_id": self.event_id,
            "seal": self.seal,
        }


@dataclass(slots=True)
class VerificationReport:
    """The outcome of a verification: intact, or the problems found in log order."""

    events_checked: int = 0
    aggregates: int = 0
    seals_checked: int = 0
    unsigned_seals: int = 0
    latest_seal: int | None = None
    unsealed_events: int = 0
    since_seal: int | None = None
    public_key: str | None = None
    against_seal: int | None = None
    trust: str = "unanchored"
    trusted_keys: list[str] = field(default_factory=list)
    evidence_seals: int = 0
    unchecked_events: int = 0
    unsealed_seconds: float | None = None
    retention_receipts: int = 0
    archived_events: int = 0
    """Events of the log that retention moved to the archive (checked by their Merkle leaves and
    the receipts here; by ``chronicle archive verify`` in the archive)."""
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "events_checked": self.events_checked,
            "aggregates": self.aggregates,
            "seals_checked": self.seals_checked,
            "unsigned_seals": self.unsigned_seals,
            "latest_seal": self.latest_seal,
            "unsealed_events": self.unsealed_events,
            "since_seal": self.since_seal,
            "against_seal": self.against_seal,
            "public_key": self.public_key,
            "trust": self.trust,
            "trusted_keys": self.trusted_keys,
            "evidence_seals": self.evidence_seals,
            "unchecked_events": self.unchecked_events,
            "unsealed_seconds": self.unsealed_seconds,
            "retention_receipts": self.retention_receipts,
            "archived_events": self.archived_events,
            "warnings": self.warnings,
            "first_problem": self.first_problem.to_dict() if self.first_problem else None,
            "problems": [problem.to_dict() for problem in self.problems],
        }
