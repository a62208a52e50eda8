"""Naming the first event that differs from what a seal covers.

A seal's root or log head says only that something in its range changed. The sealer also stored
one Merkle leaf per sealed event, naming it (position, aggregate id, version); the first leaf
that is not the walked event at its index is where the history differs, and comparing the two
tells a rewrite, an insertion, a deletion and a reorder apart. Leaves are believed only while
the stored tree still has the seal's root: an attacker who rewrote them too leaves a range.
"""

from __future__ import annotations

from chronicle.events import RecordedEvent
from chronicle.integrity.findings import Findings, named
from chronicle.integrity.merkle import leaf_hash
from chronicle.integrity.merkle_log import stored_root
from chronicle.integrity.report import ProblemKind
from chronicle.integrity.walk import LogWalk
from chronicle.store.ports import SealedLog
from chronicle.store.records import MerkleNode, Seal

_WINDOW_LIMIT = 200_000
"""At most this many events since the last matching seal are read again to name a difference."""
_NEARBY_LEAVES = 64
"""How far ahead a moved event's leaf is looked for, when its position moved too."""


class DifferenceNamer:
    def __init__(self, store: SealedLog, findings: Findings) -> None:
        self.store = store
        self.findings = findings

    def name(self, walk: LogWalk, seal: Seal, what: str, kind: ProblemKind) -> None:
        """Name the first event since the last match that differs from what was sealed.

        The sealer stored one Merkle leaf per sealed event, naming it; the first leaf that is
        not the walked event at its index is where the history differs. When those leaves were
        removed or rewritten too, the range is all that can be named.
        """
        if seal.root is not None and stored_root(self.store, seal.event_count) != seal.root:
            # The stored leaves are not what was sealed: they cannot name anything.
            self.findings.add(
                kind,
                f"the log no longer matches {what} (covering {seal.event_count} events), and "
                "the stored Merkle log was rewritten or removed too, so the first event that "
                f"differs lies after leaf {walk.window_start} (position "
                f"{walk.last_position if walk.window_start == walk.count else '?'} or later)",
                index=walk.window_start + 1,
                seal=seal.number,
            )
            return
        window = self._window(walk)
        for offset, event in enumerate(window):
            index = walk.window_start + offset
            if index >= seal.event_count:
                break
            leaf = self.store.merkle_leaf_at(index)
            if leaf is None:
                break
            if leaf.hash == leaf_hash(event.hash):
                continue
            self._name_at(kind, what, seal, leaf, event, window[offset + 1 :], index)
            return
        else:
            sealed_size = seal.event_count
            seen = walk.window_start + len(window)
            if seen < sealed_size or walk.count < sealed_size:
                leaf = self.store.merkle_leaf_at(min(seen, walk.count))
                if leaf is not None:
                    self.findings.add(
                        ProblemKind.EVENT_MISSING if kind is not ProblemKind.FORK else kind,
                        f"version {leaf.version} of {leaf.aggregate_id!r} (position "
                        f"{leaf.position}), covered by {what}, is missing from the log",
                        aggregate_id=leaf.aggregate_id,
                        version=leaf.version,
                        position=leaf.position,
                        index=seen + 1,
                        seal=seal.number,
                    )
                    return
        first = window[0] if window else None
        where = f"at or after position {first.position}" if first else "in its range"
        self.findings.add(
            kind,
            f"the log no longer matches {what} (covering {seal.event_count} events); the first "
            f"event that differs is {where} (the stored Merkle leaves that would name it are "
            "gone too)",
            event=first,
            index=walk.window_start + 1,
            seal=seal.number,
        )

    def _window(self, walk: LogWalk) -> list[RecordedEvent]:
        """The events the walk met since the last match, read again (at most _WINDOW_LIMIT)."""
        wanted = min(walk.count - walk.window_start, _WINDOW_LIMIT)
        events: list[RecordedEvent] = []
        after = walk.window_after
        while len(events) < wanted:
            page = self.store.read_all(after=after, limit=min(2000, wanted - len(events)))
            if not page:
                break
            events.extend(page)
            after = page[-1].position
        return events

    def _name_at(
        self,
        kind: ProblemKind,
        what: str,
        seal: Seal,
        leaf: MerkleNode,
        event: RecordedEvent,
        later: list[RecordedEvent],
        index: int,
    ) -> None:
        """At leaf ``index`` the sealed event (``leaf``) and the one the log has (``event``)
        differ: tell a reorder, an insertion, a deletion and a rewrite apart."""
        event_was_sealed = self._sealed_elsewhere(event, index, seal.event_count)
        leaf_comes_later = any(leaf_hash(other.hash) == leaf.hash for other in later)
        under = f" (against {what})" if kind is ProblemKind.FORK else ""
        if event_was_sealed and leaf_comes_later:
            found, subject = ProblemKind.ORDER_CHANGED, event
            message = f"{named(event)} appears before events sealed ahead of it"
        elif event_was_sealed:
            found, subject = ProblemKind.EVENT_MISSING, None
            message = (
                f"version {leaf.version} of {leaf.aggregate_id!r} (position {leaf.position}), "
                f"covered by {what}, is missing from the log"
            )
        elif leaf_comes_later:
            found, subject = ProblemKind.EVENT_INSERTED, event
            message = f"{named(event)} was inserted into what {what} covers"
        else:
            found, subject = ProblemKind.CONTENT_CHANGED, event
            message = (
                f"{named(event)} differs from what {what} covers: its content was rewritten "
                "(with recomputed hashes)"
            )
        self.findings.add(
            kind if kind is ProblemKind.FORK else found,
            f"{message}{under}",
            event=subject,
            aggregate_id=leaf.aggregate_id,
            version=leaf.version,
            position=leaf.position,
            index=index + 1,
            seal=seal.number,
        )

    def _sealed_elsewhere(self, event: RecordedEvent, index: int, size: int) -> bool:
        """Whether ``event`` itself was sealed, at another leaf than ``index`` (moved, not new).

        Its leaf is found by its position (PostgreSQL reorders by transaction id, positions
        stay) or among the next leaves (SQLite reorders by swapping positions).
        """
        digest = leaf_hash(event.hash)
        by_position = self.store.merkle_leaf(event.position)
        if by_position is not None and by_position.hash == digest:
            return True
        for nearby in range(index + 1, min(size, index + 1 + _NEARBY_LEAVES)):
            leaf = self.store.merkle_leaf_at(nearby)
            if leaf is not None and leaf.hash == digest:
                return True
        return False

    def report_unclosed(self, pending: dict[bytes, Seal]) -> None:
        """Seals whose closing event never came: that event was deleted or changed."""
        for seal in sorted(pending.values(), key=lambda seal: seal.number):
            leaf = self.store.merkle_leaf_at(seal.event_count - 1)
            if leaf is not None and leaf.aggregate_id is not None:
                self.findings.add(
                    ProblemKind.EVENT_MISSING,
                    f"version {leaf.version} of {leaf.aggregate_id!r} (position {leaf.position}),"
                    f" the last event seal {seal.number} covers, is missing from the log (deleted"
                    ", or changed)",
                    aggregate_id=leaf.aggregate_id,
                    version=leaf.version,
                    position=leaf.position,
                    index=seal.event_count,
                    seal=seal.number,
                )
                continue
            self.findings.add(
                ProblemKind.EVENT_MISSING,
                f"the event at position {seal.position} that closes seal {seal.number} is "
                "missing (deleted, changed, or the log was cut back)",
                position=seal.position,
                seal=seal.number,
                index=seal.event_count,
            )
