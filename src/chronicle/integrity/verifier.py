"""The verifier: walks the whole log once and checks both chains and every seal.

Per aggregate it recomputes each event's hash from its decoded content and the previous event's
hash, and checks that versions arrive 1, 2, 3… in log order; this names the exact event when
content was changed, an event was deleted from the middle of an aggregate, or an aggregate's
events were reordered. Over the whole log it recomputes the log chain and compares it with every
seal, which catches what no single aggregate can show: a whole aggregate deleted, events of
different aggregates reordered, a forged event with a well-formed hash. Seal signatures are
checked against the trusted public key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chronicle.errors import EvidenceFileError
from chronicle.events import RecordedEvent
from chronicle.integrity.chains import LOG_GENESIS, expected_hash, log_step
from chronicle.integrity.report import Problem, ProblemKind, VerificationReport
from chronicle.integrity.seals import seal_payload
from chronicle.integrity.signing import public_key_text, signature_valid
from chronicle.store.integrity import GENESIS
from chronicle.store.ports import EventStore
from chronicle.store.records import Seal

Progress = Callable[[int], None]


@dataclass(slots=True)
class _Aggregate:
    next_version: int
    previous: bytes
    ahead: dict[int, tuple[RecordedEvent, int]] = field(default_factory=dict)
    order_reported: bool = False


@dataclass(slots=True)
class _SealRange:
    """Where the walk stands relative to the seals: the log chain and its first unsealed event."""

    head: bytes
    count: int
    first: RecordedEvent | None = None
    first_index: int = 0
    previous_position: int | None = None


class Verifier:
    """Checks a store's log against its chains and seals.

    ``public_key`` is the trusted Ed25519 key (raw bytes) seals must be signed with; without one,
    each seal is checked against the key it names itself, which proves only that it was not
    altered after signing.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        public_key: bytes | None = None,
        batch_size: int = 2000,
        max_problems: int = 1000,
    ) -> None:
        self.store = store
        self.public_key = public_key
        self.batch_size = batch_size
        self.max_problems = max_problems

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
        self._problems: list[Problem] = []
        self._aggregates: dict[str, _Aggregate] = {}
        self._partial = since_seal is not None
        report = VerificationReport(since_seal=since_seal)
        key = self.public_key
        report.public_key = public_key_text(key) if key else None

        seals = self._load_seals()
        self._check_seal_signatures(seals)
        report.latest_seal = seals[-1].number if seals else None
        start = None
        if since_seal is not None:
            start = next((seal for seal in seals if seal.number == since_seal), None)
            if start is None:
                raise EvidenceFileError(f"there is no seal number {since_seal} in this store")
        if against is not None:
            report.against_seal = against.number
            self._check_signature(against, "the exported seal")

        walk = _SealRange(
            head=start.head if start else LOG_GENESIS, count=start.event_count if start else 0
        )
        raw_head, raw_count = walk.head, walk.count
        pending = {
            seal.last_hash: seal for seal in seals if start is None or seal.number > start.number
        }
        checked = 0
        after = start.position if start else None
        index = walk.count
        while True:
            events = self.store.read_all(after=after, limit=self.batch_size)
            for event in events:
                index += 1
                walk.count += 1
                walk.head = log_step(walk.head, event.position, event.hash)
                raw_count += 1
                raw_head = log_step(raw_head, event.position, event.hash)
                if walk.first is None:
                    walk.first, walk.first_index = event, index
                self._check_aggregate(event, index)
                seal = pending.pop(event.hash, None)
                if seal is not None:
                    self._check_seal_range(seal, walk, event, index)
                if against is not None and raw_count == against.event_count:
                    self._check_against(against, raw_head, event, index)
            checked += len(events)
            if progress is not None:
                progress(len(events))
            if len(events) < self.batch_size:
                break
            after = events[-1].position
        if against is not None and raw_count < against.event_count:
            self._add(
                ProblemKind.ROLLBACK,
                f"the log holds {raw_count} events but the exported seal {against.number} "
                f"covers {against.event_count}: the database was restored from an older backup "
                "or its history was cut back",
                index=raw_count + 1,
                seal=against.number,
            )
        for seal in sorted(pending.values(), key=lambda seal: seal.number):
            self._add(
                ProblemKind.EVENT_MISSING,
                f"the event at position {seal.position} that closes seal {seal.number} is "
                "missing (deleted, changed, or the log was cut back)",
                position=seal.position,
                seal=seal.number,
                index=seal.event_count,
            )
        self._report_leftovers()

        report.events_checked = checked
        report.aggregates = len(self._aggregates)
        report.seals_checked = len(seals)
        report.unsealed_events = index - walk.first_index + 1 if walk.first else 0
        report.problems = sorted(self._problems, key=lambda problem: problem.index)
        return report

    # -- seals -------------------------------------------------------------------------------

    def _load_seals(self) -> list[Seal]:
        seals: list[Seal] = []
        while True:
            page = self.store.get_seals(after=seals[-1].number if seals else 0, limit=1000)
            seals.extend(page)
            if len(page) < 1000:
                return seals

    def _check_seal_signatures(self, seals: list[Seal]) -> None:
        # Findings about the seals come first (index 0): without trusted seals, nothing that
        # relies on them can be trusted either.
        expected = 1
        signed_seen = False
        for seal in seals:
            if seal.number != expected:
                self._add(
                    ProblemKind.CHECKPOINT_MISSING,
                    f"seals {expected}-{seal.number - 1} are missing",
                    seal=expected,
                    index=0,
                )
            expected = seal.number + 1
            if seal.signature is None and self.public_key is None:
                if signed_seen:
                    self._add(
                        ProblemKind.SIGNATURE_INVALID,
                        f"seal {seal.number} is unsigned although earlier seals are signed",
                        position=seal.position,
                        seal=seal.number,
                        index=0,
                    )
                continue
            signed_seen = True
            self._check_signature(seal, f"seal {seal.number}")

    def _check_signature(self, seal: Seal, what: str) -> None:
        key = self.public_key or seal.public_key
        if seal.signature is None:
            if self.public_key is not None:
                # With a trusted key, an unsigned seal is no evidence: anyone can write one.
                self._add(
                    ProblemKind.SIGNATURE_INVALID,
                    f"{what} (position {seal.position}) is unsigned, but seals must be signed "
                    "by the trusted key",
                    position=seal.position,
                    seal=seal.number,
                    index=0,
                )
            return
        if key is None or not signature_valid(key, seal_payload(seal), seal.signature):
            self._add(
                ProblemKind.SIGNATURE_INVALID,
                f"{what} (position {seal.position}) has a signature that does not verify "
                "with the trusted public key: the seal was altered or signed by another key",
                position=seal.position,
                seal=seal.number,
                index=0,
            )

    def _check_seal_range(
        self, seal: Seal, walk: _SealRange, event: RecordedEvent, index: int
    ) -> None:
        """The walk reached the event that closes ``seal``: compare, then re-anchor on the seal."""
        if walk.count != seal.event_count or walk.head != seal.head:
            first = walk.first or event
            where = (
                f"between the events at positions {walk.previous_position} and {event.position}"
                if walk.previous_position is not None
                else f"up to the event at position {event.position}"
            )
            if walk.count < seal.event_count:
                kind = ProblemKind.EVENT_MISSING
                found = f"{seal.event_count - walk.count} sealed event(s) are missing"
            elif walk.count > seal.event_count:
                kind = ProblemKind.EVENT_INSERTED
                found = f"{walk.count - seal.event_count} event(s) were inserted"
            else:
                kind = ProblemKind.ORDER_CHANGED
                found = "the events were reordered (or rewritten with recomputed hashes)"
            self._add(
                kind,
                f"the log {where} no longer matches seal {seal.number}: {found}; the first "
                f"event affected is at or after position {first.position}",
                event=first,
                seal=seal.number,
                # Found at the range's end: a precise finding inside the range comes first.
                index=index,
            )
        walk.head, walk.count = seal.head, seal.event_count
        walk.first, walk.previous_position = None, event.position

    def _check_against(self, against: Seal, head: bytes, event: RecordedEvent, index: int) -> None:
        if head != against.head or event.hash != against.last_hash:
            self._add(
                ProblemKind.FORK,
                f"the log's first {against.event_count} events no longer chain to the exported "
                f"seal {against.number}: the history was rewritten (a fork); the log now has "
                f"the event at position {event.position} where the seal has position "
                f"{against.position}",
                event=event,
                seal=against.number,
                index=index,
            )

    # -- aggregates --------------------------------------------------------------------------

    def _check_aggregate(self, event: RecordedEvent, index: int) -> None:
        state = self._aggregates.get(event.aggregate_id)
        if state is None:
            state = self._start_aggregate(event, index)
            self._aggregates[event.aggregate_id] = state
        version = event.version
        if version < state.next_version or version in state.ahead:
            self._add(
                ProblemKind.EVENT_INSERTED,
                f"a second event claims version {version} of {event.aggregate_id!r}",
                event=event,
                index=index,
            )
            return
        if version > state.next_version:
            state.ahead[version] = (event, index)
            return
        if state.ahead and not state.order_reported:
            early, early_index = min(state.ahead.values(), key=lambda item: item[1])
            self._add(
                ProblemKind.ORDER_CHANGED,
                f"version {early.version} of {early.aggregate_id!r} appears in the log (position "
                f"{early.position}) before version {version} (position {event.position})",
                event=early,
                index=early_index,
            )
            state.order_reported = True
        self._check_chain(state, event, index)
        while state.next_version in state.ahead:
            held, held_index = state.ahead.pop(state.next_version)
            self._check_chain(state, held, held_index)

    def _start_aggregate(self, event: RecordedEvent, index: int) -> _Aggregate:
        if event.version == 1 or not self._partial:
            return _Aggregate(next_version=1, previous=GENESIS)
        # From a seal on: chain onto the stored event before, verified by an earlier run.
        before = self.store.get_events_for_aggregate(
            event.aggregate_id, event.version - 1, event.version - 1
        )
        if before:
            return _Aggregate(next_version=event.version, previous=before[0].hash)
        return _Aggregate(next_version=1, previous=GENESIS)

    def _check_chain(self, state: _Aggregate, event: RecordedEvent, index: int) -> None:
        if expected_hash(event, state.previous) != event.hash:
            self._add(
                ProblemKind.CONTENT_CHANGED,
                f"version {event.version} of {event.aggregate_id!r} (position {event.position}) "
                "does not match its hash: its content or its hash was changed",
                event=event,
                index=index,
            )
        state.previous = event.hash
        state.next_version = event.version + 1

    def _report_leftovers(self) -> None:
        """Versions still held back at the end were skipped: the events between are missing."""
        for aggregate_id, state in self._aggregates.items():
            while state.ahead:
                version = min(state.ahead)
                event, index = state.ahead.pop(version)
                missing = (
                    f"version {state.next_version} of {aggregate_id!r} is"
                    if version == state.next_version + 1
                    else f"versions {state.next_version}-{version - 1} of {aggregate_id!r} are"
                )
                self._add(
                    ProblemKind.EVENT_MISSING,
                    f"{missing} missing before version {version} (position {event.position})",
                    aggregate_id=aggregate_id,
                    version=state.next_version,
                    position=event.position,
                    index=index,
                )
                # Carry on from the event after the gap, trusting its stored hash.
                state.previous, state.next_version = event.hash, version + 1
                while state.next_version in state.ahead:
                    held, held_index = state.ahead.pop(state.next_version)
                    self._check_chain(state, held, held_index)

    def _add(
        self,
        kind: ProblemKind,
        message: str,
        *,
        index: int,
        event: RecordedEvent | None = None,
        seal: int | None = None,
        position: int | None = None,
        aggregate_id: str | None = None,
        version: int | None = None,
    ) -> None:
        if len(self._problems) >= self.max_problems:
            return
        self._problems.append(
            Problem(
                kind=kind,
                message=message,
                position=event.position if event else position,
                aggregate_id=event.aggregate_id if event else aggregate_id,
                version=event.version if event else version,
                event_id=event.event_id if event else None,
                seal=seal,
                index=index,
            )
        )
