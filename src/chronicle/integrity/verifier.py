"""The verifier: walks the whole log once and checks every chain, the Merkle log and the seals.

Per aggregate it checks each event's chain (:mod:`.aggregate_checks`). Over the whole log it recomputes the log chain and the Merkle tree and
compares them with every seal in the database and every seal kept outside it (the seal folder,
``--against`` files), which catches what no single aggregate can show: a whole aggregate or the
last event of one deleted, events reordered, history rewritten with recomputed hashes and
re-sealed. Where a seal no longer matches, the Merkle leaves the sealer stored name the first
event that differs (:mod:`.differences`). Every row of the events table is counted, so a row the log does not hand
out (hidden) is reported, and so is a tail it could not check yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from chronicle.errors import EvidenceFileError, SealRefusedError
from chronicle.events import RecordedEvent
from chronicle.integrity.aggregate_checks import REMEMBERED, AggregateChains
from chronicle.integrity.chains import LOG_GENESIS
from chronicle.integrity.differences import DifferenceNamer
from chronicle.integrity.findings import Findings, named
from chronicle.integrity.keys import TrustedKeys, key_id
from chronicle.integrity.merkle import MerkleFrontier
from chronicle.integrity.merkle_log import frontier_at
from chronicle.integrity.report import Problem, ProblemKind, VerificationReport
from chronicle.integrity.retention_checks import RetainedPrefix
from chronicle.integrity.seal_checks import check_evidence, check_seals
from chronicle.integrity.signing import public_key_text
from chronicle.integrity.walk import LogWalk, Positions
from chronicle.store.ports import EventStore
from chronicle.store.records import Seal

Progress = Callable[[int], None]
SnapshotCheck = Callable[[], list[Problem]]


class Verifier:
    """Checks a store's log against its chains, its Merkle log and its seals.

    ``trusted_keys`` are the public keys seals must be signed with, by key id (``public_key`` is
    one raw key, a shorthand); without any, each seal is checked against the key it carries,
    which proves only that it was not altered after signing, and the verdict says so.
    ``evidence`` are seals kept outside the database (the seal folder). ``wait`` is how long to
    wait for events held back behind appends still running before reporting them unchecked.
    ``snapshot_check`` runs the composition root's checks beyond the log (the chat's: stored
    snapshots against their events, the key store against the erasures the log records).
    ``remembered_chains``: how many aggregates' chains stay in memory (others are read again
    from the store when met again), which bounds the walk's memory whatever the log's size.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        trusted_keys: TrustedKeys | None = None,
        public_key: bytes | None = None,
        evidence: Sequence[Seal] = (),
        wait: float = 0.0,
        snapshot_check: SnapshotCheck | None = None,
        batch_size: int = 2000,
        max_problems: int = 1000,
        remembered_chains: int = REMEMBERED,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        keys = dict(trusted_keys or {})
        if public_key is not None:
            keys[key_id(public_key)] = public_key
        self.store = store
        self.trusted = keys
        self.evidence = list(evidence)
        self.wait = wait
        self.snapshot_check = snapshot_check
        self.batch_size = batch_size
        self.max_problems = max_problems
        self.remembered_chains = remembered_chains
        self._clock = clock

    def verify(
        self,
        *,
        since_seal: int | None = None,
        against: Seal | None = None,
        progress: Progress | None = None,
    ) -> VerificationReport:
        """Walk the log (from seal ``since_seal`` on, or from the start) and report."""
        if against is not None and since_seal is not None:
            raise EvidenceFileError("--against checks the whole log; leave out --since-checkpoint")
        self._findings = found = Findings(self.max_problems)
        report = VerificationReport(since_seal=since_seal)
        prefix = RetainedPrefix.load(self.store, found, self.trusted, report.warnings)
        positions = Positions()
        chains = AggregateChains(
            self.store,
            found,
            partial=since_seal is not None,
            walked=positions.__contains__,
            kept_head=prefix.kept_head if prefix is not None else None,
            remembered=self.remembered_chains,
        )
        self._namer = DifferenceNamer(self.store, found)
        self._partial = since_seal is not None
        report.trusted_keys = sorted(self.trusted)
        report.public_key = (
            public_key_text(next(iter(self.trusted.values()))) if len(self.trusted) == 1 else None
        )

        seals = self._load_seals()
        findings = check_seals(seals, self.trusted)
        for problem in findings.problems:
            found.add_problem(problem)
        report.warnings.extend(findings.warnings)
        report.trust = str(findings.trust)
        report.unsigned_seals = findings.unsigned
        report.latest_seal = seals[-1].number if seals else None
        stored = {seal.number: seal for seal in seals}
        evidence = {seal.number: seal for seal in self.evidence}
        if against is not None:
            evidence[against.number] = against
            report.against_seal = against.number
        kept = sorted(evidence.values(), key=lambda seal: seal.number)
        for problem in check_evidence(kept, stored, self.trusted):
            found.add_problem(problem)
        report.evidence_seals = len(kept)
        walked = seals
        if prefix is not None:  # seals of archived events are checked on the stored tree
            walked = prefix.check_seals(seals, "seal")
            kept = prefix.check_seals(kept, "the kept seal")

        start = None
        if since_seal is not None:
            start = stored.get(since_seal)
            if start is None:
                raise EvidenceFileError(f"there is no seal number {since_seal} in this store")
            kept = [seal for seal in kept if seal.event_count > start.event_count]
        if prefix is not None and (start is None or start.event_count < prefix.size):
            walk = LogWalk(prefix.cut.head, prefix.size, _frontier_or_none(self.store, prefix.size))
            walk.window_start = prefix.size
            start = None
        else:
            walk = self._start_walk(start)
            prefix = None if start is not None else prefix
        pending = {
            seal.last_hash: seal for seal in walked if start is None or seal.number > start.number
        }
        targets = sorted(kept, key=lambda seal: seal.event_count)
        first_unsealed: RecordedEvent | None = None
        checked = 0
        after = start.position if start else None
        # The rows stored when the walk starts: each must be walked (later commits need not be).
        total, highest = self.store.rows_up_to()
        existing = 0  # how many of those the walk has met
        deadline = time.monotonic() + self.wait
        while True:
            events = self.store.read_all(after=after, limit=self.batch_size)
            for event in events:
                if not positions.add(event.position):
                    found.add(
                        ProblemKind.EVENT_INSERTED,
                        f"{named(event)} is a second row at position {event.position}: a row "
                        "was slipped in beside another",
                        event=event,
                        index=walk.count + 1,
                    )
                if highest is not None and 0 < event.position <= highest:
                    existing += 1
                if prefix is not None and prefix.below(event):
                    if not prefix.behind_head(event):  # kept by a hold: its own chain checked
                        chains.check(event, 0)
                    continue
                walk.fold(event)
                index = walk.count
                if first_unsealed is None:
                    first_unsealed = event
                chains.check(event, index)
                seal = pending.pop(event.hash, None)
                if seal is not None:
                    self._check_seal(seal, walk, event)
                    first_unsealed = None
                while targets and targets[0].event_count == walk.count:
                    self._check_kept(targets.pop(0), walk, event)
            checked += len(events)
            if progress is not None and events:
                progress(len(events))
            if events:
                after = events[-1].position
            if len(events) == self.batch_size:
                continue
            if existing + (start.event_count if start else 0) >= total:
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)  # events held back behind an append still running: look again

        self._report_rollbacks(targets, walk)
        self._namer.report_unclosed(pending)
        chains.report_leftovers()
        if start is None and existing < total:
            report.unchecked_events = self._report_hidden(positions, highest, checked)
        if self.snapshot_check is not None:
            for problem in self.snapshot_check():
                found.add_problem(problem)

        report.events_checked = checked
        if prefix is not None:
            prefix.report_missing_kept()
            report.retention_receipts = prefix.cut.number
            report.archived_events = prefix.archived
        report.aggregates = chains.started
        report.seals_checked = len(seals)
        if first_unsealed is not None:
            report.unsealed_events = walk.count - (seals[-1].event_count if seals else 0)
            age = (self._clock() - first_unsealed.timestamp).total_seconds()
            report.unsealed_seconds = round(max(0.0, age), 3)
        report.problems = found.in_log_order()
        return report

    # -- seals -------------------------------------------------------------------------------

    def _load_seals(self) -> list[Seal]:
        seals: list[Seal] = []
        while True:
            page = self.store.get_seals(after=seals[-1].number if seals else 0, limit=1000)
            seals.extend(page)
            if len(page) < 1000:
                return seals

    def _start_walk(self, start: Seal | None) -> LogWalk:
        if start is None:
            return LogWalk(LOG_GENESIS, 0, MerkleFrontier())
        walk = LogWalk(
            start.head, start.event_count, _frontier_or_none(self.store, start.event_count)
        )
        walk.window_start, walk.window_after = start.event_count, start.position
        return walk

    def _check_seal(self, seal: Seal, walk: LogWalk, event: RecordedEvent) -> None:
        """The walk reached the event that closes ``seal``: compare, then carry on from it."""
        if walk.count == seal.event_count and walk.matches(seal) and walk.head == seal.head:
            walk.matched()
            return
        if walk.count != seal.event_count or walk.head != seal.head:
            self._namer.name(walk, seal, f"seal {seal.number}", ProblemKind.ORDER_CHANGED)
        else:
            self._findings.add(
                ProblemKind.SEAL_ALTERED,
                f"seal {seal.number}'s Merkle root is not the root of the events it covers: "
                "the seal was altered",
                index=walk.count,
                seal=seal.number,
            )
        # Re-anchor on the seal, so that each broken range is reported once.
        walk.head, walk.count = seal.head, seal.event_count
        if walk.frontier is not None:
            walk.frontier = _frontier_or_none(self.store, seal.event_count)
        walk.matched()

    def _check_kept(self, kept: Seal, walk: LogWalk, event: RecordedEvent) -> None:
        """The log reached the size of a seal kept outside the database: it must extend it."""
        if walk.matches(kept) and event.hash == kept.last_hash:
            walk.matched()
            return
        self._namer.name(walk, kept, f"the kept seal {kept.number}", ProblemKind.FORK)

    def _report_rollbacks(self, targets: list[Seal], walk: LogWalk) -> None:
        for kept in targets:
            self._findings.add(
                ProblemKind.ROLLBACK,
                f"the log holds {walk.count} events but seal {kept.number}, kept outside the "
                f"database, covers {kept.event_count}: the database was restored from an older "
                "backup or its history was cut back",
                index=walk.count + 1,
                seal=kept.number,
            )

    def _report_hidden(self, positions: Positions, highest: int | None, checked: int) -> int:
        """Rows stored when the walk started that it did not check; returns how many.

        Called only when the count says so: the rows up to ``highest`` are scanned by position,
        ignoring commit order and visibility, to name them.
        """
        hidden = 0
        after: int | None = None
        previous: int | None = None
        while True:
            rows = self.store.raw_rows(after, self.batch_size)
            for row in rows:
                if highest is not None and row.position > highest:
                    return hidden  # committed after the walk started: not expected of it
                second = row.position == previous  # the walk met one row at a position at most
                previous = row.position
                if row.position in positions and not second:
                    continue
                hidden += 1
                self._findings.add(
                    ProblemKind.HIDDEN_ROW,
                    f"{named(row)} is stored but the log does not hand it out in commit order, "
                    "so nothing checked or sealed it (a hidden row, or one behind an append "
                    "still running: --wait SECONDS waits for those)",
                    event=row,
                    index=checked + hidden,
                )
            if len(rows) < self.batch_size:
                return hidden
            after = rows[-1].position


def _frontier_or_none(store: EventStore, size: int) -> MerkleFrontier | None:
    """The stored tree's frontier at ``size``; None when it is damaged (the log chain still
    checks, and the seals' roots are compared where the walk recomputes them)."""
    try:
        return frontier_at(store, size)
    except (SealRefusedError, ValueError):
        return None
