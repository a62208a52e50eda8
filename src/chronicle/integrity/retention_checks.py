"""What the verifier checks of retention: the receipts, the cut, and what the hot store kept.

After retention the log's first ``tree_size`` events (the cut) are in the archive, not the hot
store. The Merkle leaves and nodes stay, so the verifier still checks:

- each cut row against its receipt event (which the seals cover), each receipt's signature, and
  that every receipt has its cut row: a deleted or altered receipt is named;
- that the stored tree's root at the cut is the receipt's root, and that every seal (stored or
  kept outside the database) covering no more than the cut matches the stored tree there;
- each event still stored below the cut (a hold kept it) against its own leaf;
- each aggregate whose older events left, from its kept head, itself checked against its leaf.

The walk of the log then starts at the cut with the receipt's log chain head and the stored
tree's frontier, as it would from a seal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chronicle.events import RecordedEvent
from chronicle.integrity.findings import Findings, named
from chronicle.integrity.keys import TrustedKeys
from chronicle.integrity.merkle import leaf_hash
from chronicle.integrity.merkle_log import stored_root
from chronicle.integrity.report import ProblemKind
from chronicle.retention import receipts  # a module: chronicle.retention imports integrity too
from chronicle.store.records import RetentionCut, RetentionHead, Seal


class RetainedPrefix:
    """The latest cut of a store that retention pruned, and the checks that go with it."""

    def __init__(
        self, store: Any, cut: RetentionCut, findings: Findings, receipt: RecordedEvent | None
    ) -> None:
        self.store = store
        self.cut = cut
        self.findings = findings
        self.receipt = receipt
        self.kept = 0

    @classmethod
    def load(
        cls, store: Any, findings: Findings, trusted: TrustedKeys, warnings: list[str]
    ) -> RetainedPrefix | None:
        """The latest cut with its receipts checked; None when retention never removed events."""
        if not getattr(store.capabilities, "retention", False):
            return None
        cuts = store.retention_cuts()
        recorded = {event.data.get("number"): event for event in receipts.receipts_of(store)}
        by_number = {cut.number: cut for cut in cuts}
        for number, receipt in sorted(
            recorded.items(), key=lambda item: item[0] if isinstance(item[0], int) else -1
        ):
            if number not in by_number:
                findings.add(
                    ProblemKind.RECEIPT_MISSING,
                    f"retention receipt {number} (position {receipt.position}) has no cut row "
                    "in chronicle_retention_cuts: the row was deleted",
                    event=receipt,
                    index=0,
                )
        unsigned = 0
        for cut in cuts:
            found = recorded.get(cut.number)
            if found is None:
                findings.add(
                    ProblemKind.RECEIPT_MISSING,
                    f"retention cut {cut.number} (the first {cut.tree_size} events archived) has "
                    f"no receipt event at position {cut.receipt_position}: the receipt was deleted",
                    position=cut.receipt_position,
                    index=0,
                )
                continue
            receipt = found
            why = receipts.cut_problem(cut, receipt)
            if why is None:
                why = receipts.signature_problem(receipt.data, trusted)
            if why is None and trusted and receipt.data.get("signature") is None:
                why = (
                    "it is unsigned although keys are trusted: retention signs its receipts "
                    "with CHRONICLE_SIGNING_KEY, so this one was not made by it"
                )
            if why is not None:
                findings.add(
                    ProblemKind.RECEIPT_ALTERED,
                    f"retention receipt {cut.number}: {why}",
                    event=receipt,
                    index=0,
                )
            if receipt.data.get("signature") is None:
                unsigned += 1
            if stored_root(store, cut.tree_size) != cut.root:
                findings.add(
                    ProblemKind.RECEIPT_ALTERED,
                    f"the stored Merkle tree's root at retention cut {cut.number} (size "
                    f"{cut.tree_size}) is not the receipt's: the tree or the receipt was changed",
                    index=0,
                )
        if unsigned and not trusted:
            warnings.append(
                f"{unsigned} retention receipt(s) are unsigned: the seals cover them, but no key "
                "vouches for what they let leave the store"
            )
        return cls(store, cuts[-1], findings, recorded.get(cuts[-1].number)) if cuts else None

    @property
    def size(self) -> int:
        return self.cut.tree_size

    def below(self, event: RecordedEvent) -> bool:
        """Whether ``event`` belongs to the archived prefix (a hold kept it in the hot store);
        if so, it is checked against its own Merkle leaf."""
        if event.position > self.cut.max_position:
            return False
        leaf = self.store.merkle_leaf(event.position)
        if leaf is None or leaf.index >= self.cut.tree_size:
            return False
        self.kept += 1
        if (
            leaf.hash != leaf_hash(event.hash)
            or leaf.aggregate_id != event.aggregate_id
            or leaf.version != event.version
        ):
            self.findings.add(
                ProblemKind.CONTENT_CHANGED,
                f"{named(event)} is kept below retention cut {self.cut.number} but is not the "
                f"event its Merkle leaf {leaf.index} sealed",
                event=event,
                index=leaf.index + 1,
            )
        return True

    def behind_head(self, event: RecordedEvent) -> bool:
        """Whether a kept event lies at or before its aggregate's kept head (a hold placed
        while the run removed its aggregate's rows): its leaf proved it; its chain is in the
        archive, the store's goes on from the head."""
        head: RetentionHead | None = self.store.retention_head(event.aggregate_id)
        return head is not None and event.version <= head.version

    def kept_head(self, aggregate_id: str) -> RetentionHead | None:
        """The head retention kept for the aggregate, checked against its sealed leaf."""
        head: RetentionHead | None = self.store.retention_head(aggregate_id)
        if head is None:
            return None
        leaf = self.store.merkle_leaf(head.position)
        if (
            leaf is None
            or leaf.aggregate_id != aggregate_id
            or leaf.version != head.version
            or leaf.hash != leaf_hash(head.hash)
        ):
            self.findings.add(
                ProblemKind.RECEIPT_ALTERED,
                f"the kept head of {aggregate_id!r} (version {head.version}, position "
                f"{head.position}) is not the event its Merkle leaf sealed: "
                "chronicle_retention_heads was changed",
                aggregate_id=aggregate_id,
                version=head.version,
                position=head.position,
                index=0,
            )
        return head

    def check_seals(self, seals: Sequence[Seal], label: str) -> list[Seal]:
        """Seals covering no more than the cut are checked against the stored tree (their
        events are archived); the rest are returned for the walk."""
        later = []
        for seal in seals:
            if seal.event_count > self.cut.tree_size:
                later.append(seal)
                continue
            root = stored_root(self.store, seal.event_count)
            head_differs = seal.event_count == self.cut.tree_size and seal.head != self.cut.head
            if (seal.root is not None and root != seal.root) or head_differs:
                self.findings.add(
                    ProblemKind.SEAL_ALTERED,
                    f"{label} {seal.number} covers archived events but does not match the stored "
                    f"Merkle tree (or the receipt) at size {seal.event_count}",
                    seal=seal.number,
                    index=seal.event_count,
                )
        return later

    def report_missing_kept(self) -> None:
        """After the walk: fewer events below the cut than the latest receipt says a hold kept
        there means some were deleted behind retention's back."""
        counts = self.receipt.data.get("counts") if self.receipt is not None else None
        expected = counts.get("kept") if isinstance(counts, dict) else None
        if isinstance(expected, int) and self.kept < expected:
            self.findings.add(
                ProblemKind.EVENT_MISSING,
                f"retention receipt {self.cut.number} says {expected} events stay in the store "
                f"below its cut (legal holds), but {self.kept} do: "
                f"{expected - self.kept} were deleted without a receipt",
                index=self.cut.tree_size,
            )

    @property
    def archived(self) -> int:
        return self.cut.tree_size - self.kept
