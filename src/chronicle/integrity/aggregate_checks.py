"""The per-aggregate chains, checked event by event as the walk meets them in commit order.

For each aggregate the checker recomputes every event's hash from its decoded content and the
previous event's hash, and expects versions 1, 2, 3…: this names the exact event when content
was changed, an event was deleted from the middle of an aggregate, or an aggregate's events were
reordered. Versions that arrive early are held back until the walk reaches the one before.

Memory does not grow with the number of aggregates: the checker keeps the chains of the
``remembered`` aggregates met last and lets older ones go (never one holding early versions),
noting them in a Bloom filter of fixed size. Meeting one again, it reads the aggregate's event
before from the store and, if the walk already checked that event, chains on from its hash; any
other event the walk checked at the same version is a second one. Events come by commit order,
so in a chat log most aggregates are met again soon or never.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chronicle.events import RecordedEvent
from chronicle.integrity.bloom import BloomFilter
from chronicle.integrity.chains import expected_hash
from chronicle.integrity.findings import Findings, named
from chronicle.integrity.report import ProblemKind
from chronicle.store.integrity import GENESIS
from chronicle.store.ports import EventLog
from chronicle.store.records import RetentionHead

REMEMBERED = 50_000  # aggregates' chains kept in memory, about 350 bytes each


@dataclass(slots=True)
class _Chain:
    next_version: int
    previous: bytes
    ahead: dict[int, tuple[RecordedEvent, int]] = field(default_factory=dict)
    order_reported: bool = False


class AggregateChains:
    """Every aggregate's chain as far as the walk got. ``partial``: the walk started at a seal,
    so an aggregate met after its first version chains onto its stored event before.
    ``kept_head``: after retention, the head kept for an aggregate whose older events left.
    ``walked``: whether the walk has met the event at a position (it marks each one before
    checking it). ``started`` counts the aggregates whose chains the walk began."""

    def __init__(
        self,
        store: EventLog,
        findings: Findings,
        *,
        partial: bool,
        walked: Callable[[int], bool],
        kept_head: Callable[[str], RetentionHead | None] | None = None,
        remembered: int = REMEMBERED,
    ) -> None:
        if remembered < 1:
            raise ValueError("the checker must remember at least one aggregate's chain")
        self.store = store
        self.findings = findings
        self.partial = partial
        self.walked = walked
        self.kept_head = kept_head
        self.remembered = remembered
        self.started = 0
        self._chains: dict[str, _Chain] = {}  # oldest met first
        self._let_go: BloomFilter | None = None

    def check(self, event: RecordedEvent, index: int) -> None:
        """Check ``event``, the ``index``-th of the walk, against its aggregate's chain."""
        state = self._chains.pop(event.aggregate_id, None)
        if state is None:
            state = self._start_aggregate(event)
            if len(self._chains) >= self.remembered:
                self._let_one_go()
        self._chains[event.aggregate_id] = state  # now the last met
        version = event.version
        if version < state.next_version or version in state.ahead:
            self.findings.add(
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
            self.findings.add(
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

    def _let_one_go(self) -> None:
        """Forget the chain met longest ago that holds no early versions."""
        for aggregate_id, state in self._chains.items():
            if not state.ahead:
                del self._chains[aggregate_id]
                if self._let_go is None:
                    self._let_go = BloomFilter()
                self._let_go.add(aggregate_id)
                return

    def _start_aggregate(self, event: RecordedEvent) -> _Chain:
        if event.version < 1:  # no stored event comes before it: check() names it
            return _Chain(next_version=1, previous=GENESIS)
        if self._let_go is not None and event.aggregate_id in self._let_go:
            resumed = self._resume(event)
            if resumed is not None:
                return resumed
        self.started += 1
        if self.kept_head is not None:
            # Retention archived its older events: it chains on from the head kept for it,
            # and an event claiming an archived version is one too many.
            head = self.kept_head(event.aggregate_id)
            if head is not None and (not self.partial or event.version <= head.version + 1):
                return _Chain(next_version=head.version + 1, previous=head.hash)
        if event.version == 1 or not self.partial:
            return _Chain(next_version=1, previous=GENESIS)
        # From a seal on: chain onto the stored event before, verified by an earlier run.
        before = self.store.get_events_for_aggregate(
            event.aggregate_id, event.version - 1, event.version - 1
        )
        if before:
            return _Chain(next_version=event.version, previous=before[0].hash)
        return _Chain(next_version=1, previous=GENESIS)

    def _resume(self, event: RecordedEvent) -> _Chain | None:
        """The chain of an aggregate let go, on from the last of its events the walk checked;
        None when the walk checked none (never met: the filter erred).

        Usually the one before ``event`` was checked: the chain goes on from it (or from
        another event at ``event``'s version, which check() then names a second one). Otherwise
        (an event missing, out of order, or a second one at an older version), every stored
        event of the aggregate is looked at: rare, as it takes an anomaly or a wrong "maybe".
        A row at ``event``'s own position is not counted as checked: the walk marked the
        position for ``event`` (a second row there is named by the walk itself).
        """
        version = event.version
        near = self.store.get_events_for_aggregate(event.aggregate_id, version - 1, version)
        checked = [e for e in near if e.position != event.position and self.walked(e.position)]
        if not any(e.version == version - 1 for e in checked):
            every = self.store.get_events_for_aggregate(event.aggregate_id)
            checked = [e for e in every if e.position != event.position and self.walked(e.position)]
        if not checked:
            return None
        last = max(checked, key=lambda e: (e.version, -e.position))
        return _Chain(next_version=last.version + 1, previous=last.hash)

    def _check_chain(self, state: _Chain, event: RecordedEvent, index: int) -> None:
        if expected_hash(event, state.previous) != event.hash:
            self.findings.add(
                ProblemKind.CONTENT_CHANGED,
                f"version {event.version} of {event.aggregate_id!r} (position {event.position}) "
                "does not match its hash: its content or its hash was changed",
                event=event,
                index=index,
            )
        opened = event.personal
        if opened is not None and opened.status == "open" and not self._commitment_holds(opened):
            self.findings.add(
                ProblemKind.CONTENT_CHANGED,
                f"{named(event)}: its sealed personal fields are not the ones their hashed "
                "commitment was made to: they were sealed again by someone holding the key",
                event=event,
                index=index,
            )
        if opened is not None and opened.status == "unreadable":
            # The hash covers the commitment, not the ciphertext: a ciphertext that no longer
            # opens (or whose plaintext misses its commitment) is caught by opening it.
            self.findings.add(
                ProblemKind.PERSONAL_DATA_UNREADABLE,
                f"{named(event)}: its sealed personal fields do not open ({opened.problem}): "
                "their ciphertext was changed, or the key store is not this store's",
                event=event,
                index=index,
            )
        state.previous = event.hash
        state.next_version = event.version + 1

    def _commitment_holds(self, opened: Any) -> bool:
        personal = getattr(self.store, "personal_data", None)
        return personal is None or bool(personal.commitment_holds(opened))

    def report_leftovers(self) -> None:
        """Versions still held back at the end were skipped: the events between are missing."""
        for aggregate_id, state in self._chains.items():
            while state.ahead:
                version = min(state.ahead)
                event, index = state.ahead.pop(version)
                missing = (
                    f"version {state.next_version} of {aggregate_id!r} is"
                    if version == state.next_version + 1
                    else f"versions {state.next_version}-{version - 1} of {aggregate_id!r} are"
                )
                self.findings.add(
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
