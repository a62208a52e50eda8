"""A retention run: events older than the policy move from the hot store into the archive.

The cut is a prefix of the sealed Merkle log: the first ``k`` leaves, every one of them older
than the cut-off (the run stops at the first younger event, and at the latest seal). In order:

1. the events of leaves ``[previous cut, k)`` are written to segments (all of them, those kept by
   a legal hold too, so the archive alone recomputes the log chain and the tree), flushed and read
   back; their log chain head and Merkle root at ``k`` are recomputed and the root must be the
   stored tree's;
2. each aggregate whose events leave gets a snapshot at its last archived version, attested,
   so it still loads;
3. the receipt (number, policy, cut-off, leaf range, counts, segments and their SHA-256, the
   previous receipt's hash; signed when a signing key is set) is written to the manifest and
   appended to the log as an event, which the seals then cover; in the same transaction the
   store records the cut and the kept head of each aggregate (what its next append and the
   verifier chain onto);
4. only then are the rows removed, through the one DELETE the guard trigger allows.

A run interrupted before its receipt leaves a folder no receipt names, discarded by the next
run; one interrupted after it is completed by the next run from its manifest. An aggregate on a
legal hold (or with an event in the cut by a held user) keeps all its events; once released,
a later run removes them (they are in an earlier segment already).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chronicle.aggregate import Aggregate
from chronicle.errors import ChronicleError, InvalidEventError, RetentionRefusedError
from chronicle.events import NewEvent, RecordedEvent
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.merkle import leaf_hash
from chronicle.integrity.merkle_log import frontier_at, stored_root
from chronicle.integrity.signing import SigningKey, public_key_text
from chronicle.repository import load_aggregate, valid_snapshot
from chronicle.retention import archive
from chronicle.retention.archive import ArchivedEvent
from chronicle.retention.holds import HOLD_TYPE, checked_holds
from chronicle.retention.receipts import (
    RECEIPT_AGGREGATE,
    RECEIPT_APPLIED,
    RECEIPT_TYPE,
    heads_digest,
    receipt_payload,
    receipts_of,
)
from chronicle.store.prepare import now_utc
from chronicle.store.records import RetentionCut, RetentionHead, Seal, Snapshot

log = logging.getLogger("chronicle.retention")

FUTURE_SLACK = timedelta(days=1)
"""How far ``--now`` may lie ahead of the clock without ``--force``."""
_PAGE = 2000
_REMOVE_BATCH = 1000
_SNAPSHOT_BATCH = 500
SYSTEM_TYPES = frozenset({RECEIPT_TYPE, HOLD_TYPE})
"""Aggregates that never leave the hot store: the receipts and the holds."""

Progress = Callable[[int], None]


class InstantAheadError(RetentionRefusedError):
    """``--now`` lies more than a day ahead of the clock, and ``--force`` was not given."""


@dataclass
class RetentionReport:
    """What one run did (or, with ``dry_run``, would do)."""

    retention_days: int
    cutoff: datetime | None
    dry_run: bool
    receipt: int | None = None
    archived: int = 0
    removed: int = 0
    held: int = 0
    released: int = 0
    aggregates: int = 0
    snapshots: int = 0
    segments: list[str] = field(default_factory=list)
    resumed: int | None = None
    """The receipt of an interrupted run this one completed, if any."""
    waiting: str | None = None
    """Why nothing was archived although the policy would, if so."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "retention_days": self.retention_days,
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "receipt": self.receipt,
            "archived": self.archived,
            "removed": self.removed,
            "held": self.held,
            "released": self.released,
            "aggregates": self.aggregates,
            "snapshots": self.snapshots,
            "segments": self.segments,
            "resumed": self.resumed,
            "waiting": self.waiting,
        }


@dataclass
class _Plan:
    start: int
    stop: int
    previous: RetentionCut | None
    seal: Seal
    held_aggregates: set[str]
    released: list[RecordedEvent]
    still_held: int


@dataclass(slots=True)
class _Fold:
    """The log chain head, the highest position and the count, as the segments are written."""

    head: bytes
    highest: int
    count: int = 0


class Retention:
    """Runs the retention policy over ``store`` into the archive folder ``archive_dir``.

    ``aggregates`` are the classes of the aggregates that get a snapshot at the cut, by aggregate
    type (the composition root's). ``seal`` seals the log first, when given (the CLI's run; the
    worker's sealer keeps it sealed). ``default_folder``: ``archive_dir`` is the default one,
    which is created when missing (a configured one must exist).
    """

    def __init__(
        self,
        store: Any,
        *,
        retention_days: int,
        archive_dir: Path,
        aggregates: Mapping[str, type[Aggregate]],
        signing_key: SigningKey | None = None,
        seal: Callable[[], object] | None = None,
        default_folder: bool = False,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        if type(retention_days) is not int or retention_days < 0:
            raise InvalidEventError("retention_days is a whole number from 0 (0 keeps everything)")
        self.store = store
        self.retention_days = retention_days
        self.root = archive_dir
        self.aggregates = dict(aggregates)
        self.key = signing_key
        self.seal = seal
        self.default_folder = default_folder
        self._clock = clock

    # -- the run -----------------------------------------------------------------------------

    def run(
        self,
        now: datetime | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
    ) -> RetentionReport:
        instant = self._instant(now, force)
        if self.retention_days == 0:
            return RetentionReport(
                0, None, dry_run, waiting="EVENT_STORE_RETENTION_DAYS=0 keeps everything"
            )
        cutoff = instant - timedelta(days=self.retention_days)
        report = RetentionReport(self.retention_days, cutoff, dry_run)
        if dry_run:
            self._plan(cutoff, checked_holds(self.store), report)
            return report
        archive.prepare_root(self.root, default=self.default_folder)
        with archive.exclusive(self.root):  # one run at a time: each writes the next receipt
            report.resumed = self._complete_interrupted(progress)
            if self.seal is not None:
                self.seal()
            holds = checked_holds(self.store)
            plan = self._plan(cutoff, holds, report)
            if plan is not None:
                self._archive(plan, cutoff, instant, holds, report, progress)
        return report

    def follow(
        self,
        stop: threading.Event,
        interval: float,
        on_run: Callable[[RetentionReport], None] | None = None,
    ) -> None:
        """Run every ``interval`` seconds until ``stop`` is set (the worker's daily run)."""
        while not stop.is_set():
            try:
                report = self.run()
                if on_run is not None:
                    on_run(report)
                if report.archived or report.removed:
                    log.info(
                        "retention: receipt %s, %d archived, %d removed",
                        report.receipt, report.archived, report.removed,
                    )  # fmt: skip
            except ChronicleError as exc:
                log.error("retention run failed (it will run again): %s", exc)
            stop.wait(interval)

    def _instant(self, now: datetime | None, force: bool) -> datetime:
        clock = self._clock()
        if now is None:
            return clock
        if now.tzinfo is None or now.utcoffset() is None:
            raise InvalidEventError("--now needs a timezone (2027-06-30T12:00:00Z)")
        if now - clock > FUTURE_SLACK and not force:
            raise InstantAheadError(
                f"--now {now.isoformat()} is more than a day ahead of this machine's clock "
                f"({clock.isoformat()}): it would archive events the policy still keeps; "
                "pass --force if that is what you mean"
            )
        return now

    # -- planning ----------------------------------------------------------------------------

    def _plan(self, cutoff: datetime, holds: list[Any], report: RetentionReport) -> _Plan | None:
        store = self.store
        seal = store.latest_seal()
        if seal is None:
            report.waiting = (
                "nothing is sealed yet (a run seals the log first; chronicle seal does it alone)"
            )
            return None
        cuts = store.retention_cuts()
        previous = cuts[-1] if cuts else None
        start = previous.tree_size if previous else 0
        held_users = {hold.subject_id for hold in holds if hold.subject_kind == "user"}
        held = {hold.subject_id for hold in holds if hold.subject_kind == "aggregate"}
        limit, follower = self._followers_reach(seal.event_count)
        stop, count = start, 0
        for index, event in self._leaves(start, limit):
            if event.timestamp >= cutoff:
                break
            if index != stop:
                raise RetentionRefusedError(
                    f"leaf {stop} of the sealed log has no stored event: events were removed "
                    "behind Chronicle's back; run chronicle verify (nothing was removed)"
                )
            stop, count = index + 1, count + 1
            if event.aggregate_type in SYSTEM_TYPES or event.user_id in held_users:
                held.add(event.aggregate_id)
        kept_before = self._kept_below(previous)
        for event in kept_before:  # held at an earlier cut: a hold on them may be gone
            if event.user_id in held_users:
                held.add(event.aggregate_id)
        released = [
            event
            for event in kept_before
            if event.aggregate_id not in held
            and event.aggregate_type not in SYSTEM_TYPES
            and event.aggregate_type in self.aggregates
        ]
        still_held = len(kept_before) - len(released)
        if follower is not None and stop == limit:
            report.waiting = (
                f"the follower {follower!r} has processed only the first {limit} events of the "
                "log: retention does not cut past a follower (its events would never reach it)"
            )
        if stop == start and not released:
            return None
        plan = _Plan(start, stop, previous, seal, held, released, still_held)
        report.archived = stop - start
        report.released = len(released)
        return self._count(plan, report)

    def _followers_reach(self, sealed: int) -> tuple[int, str | None]:
        """How far the cut may go: no further than the sealed log, nor than any follower (a
        read model, the relay) has processed; the follower that holds it back, if one does."""
        limit, holder = sealed, None
        for name, position in self.store.checkpoint_positions().items():
            leaf = self.store.merkle_leaf(position) if position > 0 else None
            if position > 0 and leaf is None:
                continue  # past the sealed log
            reach = leaf.index + 1 if leaf is not None else 0
            if reach < limit:
                limit, holder = reach, name
        return limit, holder

    def _count(self, plan: _Plan, report: RetentionReport) -> _Plan:
        removed, held, aggregates = 0, 0, set()
        for _, event in self._leaves(plan.start, plan.stop):
            if self._stays(event, plan):
                held += 1
            else:
                removed += 1
                aggregates.add(event.aggregate_id)
        aggregates.update(event.aggregate_id for event in plan.released)
        report.removed, report.held = removed + len(plan.released), held
        report.aggregates = len(aggregates)
        return plan

    def _stays(self, event: RecordedEvent, plan: _Plan) -> bool:
        """Receipts, holds, held aggregates, and aggregates of a type this run cannot take a
        snapshot of (it would not load once its events left) stay in the store."""
        return (
            event.aggregate_type in SYSTEM_TYPES
            or event.aggregate_id in plan.held_aggregates
            or event.aggregate_type not in self.aggregates
        )

    def _leaves(self, start: int, stop: int) -> Iterator[tuple[int, RecordedEvent]]:
        index = start
        while index < stop:
            page = self.store.sealed_events(index, stop, _PAGE)
            if not page:
                return
            yield from page
            index = page[-1][0] + 1

    def _kept_below(self, cut: RetentionCut | None) -> list[RecordedEvent]:
        """The events still stored below an earlier cut (those a hold kept then)."""
        if cut is None:
            return []
        return [event for _, event in self.store.kept_below(cut)]

    # -- archiving ---------------------------------------------------------------------------

    def _archive(
        self,
        plan: _Plan,
        cutoff: datetime,
        instant: datetime,
        holds: list[Any],
        report: RetentionReport,
        progress: Progress | None,
    ) -> None:
        store = self.store
        previous = plan.previous
        number = (previous.number if previous else 0) + 1
        folder = archive.receipt_folder(self.root, number)
        if any(cut.number >= number for cut in store.retention_cuts()):
            raise RetentionRefusedError(
                f"receipt {number} was recorded by another run meanwhile: its folder stays as "
                "it is (nothing was removed by this run)"
            )
        archive.discard(folder)  # an earlier run interrupted before its receipt
        folder.mkdir(parents=True)  # even a run that only removes released events has one

        head = previous.head if previous else LOG_GENESIS
        frontier = frontier_at(store, plan.start)
        highest = previous.max_position if previous else 0
        heads: dict[str, RetentionHead] = {}
        live: dict[str, Aggregate] = {}  # leaving aggregates, replayed as their events stream by
        removal: list[tuple[int, bytes]] = []
        segments: list[archive.SegmentInfo] = []
        state = _Fold(head, highest)

        def archived(start: int, stop: int) -> Iterator[ArchivedEvent]:
            for index, event in self._leaves(start, stop):
                state.head = log_step(state.head, event.position, event.hash)
                frontier.append(leaf_hash(event.hash))
                state.highest = max(state.highest, event.position)
                state.count += 1
                stays = self._stays(event, plan)
                if not stays:
                    self._replay(live, event)
                    removal.append((event.position, event.hash))
                    heads[event.aggregate_id] = RetentionHead(
                        event.aggregate_id, event.version, event.hash, event.position, number,
                        event.timestamp,
                    )  # fmt: skip
                yield ArchivedEvent(index, stays, event)

        for segment_number, first in enumerate(
            range(plan.start, plan.stop, archive.SEGMENT_EVENTS), start=1
        ):
            last = min(first + archive.SEGMENT_EVENTS, plan.stop)
            segments.append(archive.write_segment(folder, segment_number, archived(first, last)))
        if state.count != plan.stop - plan.start:
            archive.discard(folder)
            raise RetentionRefusedError(
                f"{plan.stop - plan.start - state.count} events of leaves {plan.start}-"
                f"{plan.stop - 1} are no longer stored: run chronicle verify (nothing was removed)"
            )
        root = frontier.root()
        if stored_root(store, plan.stop) != root:
            archive.discard(folder)
            raise RetentionRefusedError(
                f"the events of the first {plan.stop} leaves do not hash to the stored Merkle "
                "tree: the log was changed; run chronicle verify (nothing was removed)"
            )
        for event in plan.released:
            removal.append((event.position, event.hash))
            known = heads.get(event.aggregate_id)
            if known is None or known.version < event.version:
                heads[event.aggregate_id] = RetentionHead(
                    event.aggregate_id, event.version, event.hash, event.position, number,
                    event.timestamp,
                )  # fmt: skip

        report.snapshots = self._snapshots(heads.values(), plan.seal, live)
        cut = RetentionCut(
            number,
            plan.stop,
            state.head,
            root,
            0,
            state.highest,
            now_utc(),
        )
        kept = plan.still_held + report.held
        head_rows = sorted(heads.values(), key=lambda h: (h.aggregate_id, h.version))
        receipt = self._receipt(
            number, cut, cutoff, instant, segments, head_rows, holds, report, kept
        )
        archive.write_manifest(
            folder,
            {
                "format": archive.FORMAT,
                "receipt": receipt,
                "heads": [[h.aggregate_id, h.version, h.hash.hex(), h.position] for h in head_rows],
                "released": [[event.position, event.hash.hex()] for event in plan.released],
            },
        )
        store.append(
            RECEIPT_AGGREGATE,
            [NewEvent(RECEIPT_APPLIED, receipt)],
            expected_version=number - 1,
            aggregate_type=RECEIPT_TYPE,
            user_id=None,
            inline=store.receipt_handler(cut, head_rows),
        )
        report.receipt = number
        report.segments = [segment.name for segment in segments]
        self._remove(removal, progress)
        store.refresh_statistics()

    def _receipt(
        self,
        number: int,
        cut: RetentionCut,
        cutoff: datetime,
        instant: datetime,
        segments: list[archive.SegmentInfo],
        heads: list[RetentionHead],
        holds: list[Any],
        report: RetentionReport,
        kept: int,
    ) -> dict[str, Any]:
        receipts = receipts_of(self.store)
        previous_hash = receipts[-1].hash.hex() if receipts else None
        body: dict[str, Any] = {
            "number": number,
            "policy": {"retention_days": self.retention_days},
            "cutoff": cutoff.isoformat(),
            "run_at": instant.isoformat(),
            "tree": {
                "start": cut.tree_size - report.archived,
                "size": cut.tree_size,
                "root": cut.root.hex(),
                "head": cut.head.hex(),
                "max_position": cut.max_position,
            },
            "previous_receipt": previous_hash,
            "segments": [segment.to_dict() for segment in segments],
            "counts": {
                "archived": report.archived,
                "removed": report.removed,
                "held": report.held,
                "released": report.released,
                "kept": kept,
                "aggregates": report.aggregates,
                "snapshots": report.snapshots,
            },
            "holds": sorted(hold.hold_id for hold in holds),
            "heads_sha256": heads_digest(heads),
            "signature": None,
        }
        if self.key is not None:
            body["signature"] = {
                "key_id": self.key.key_id,
                "public_key": public_key_text(self.key.public),
                "value": self.key.sign(receipt_payload(body)).hex(),
            }
        return body

    def _replay(self, live: dict[str, Aggregate], event: RecordedEvent) -> None:
        """Apply ``event`` to its aggregate as it was before it (from the store when the
        aggregate started before this run's range), so that its snapshot at the cut needs no
        second read of its events."""
        aggregate = live.get(event.aggregate_id)
        if aggregate is None:
            cls = self.aggregates.get(event.aggregate_type)
            if cls is None:
                return
            if event.version == 1:
                aggregate = cls(event.aggregate_id)
            else:
                aggregate = load_aggregate(
                    self.store, cls, event.aggregate_id, to_version=event.version - 1
                )
            live[event.aggregate_id] = aggregate
        if aggregate.version + 1 == event.version:
            aggregate.apply(type(aggregate).registry.to_domain(event))

    def _snapshots(self, heads: Any, seal: Seal, live: dict[str, Aggregate]) -> int:
        """A snapshot at each leaving aggregate's last archived version, attested (its events
        are still stored, and sealed by ``seal``); ``RetentionRefusedError`` when one does not
        load afterwards (a snapshot forged at that version was stored first)."""
        wanted: list[Snapshot] = []
        for head in heads:
            aggregate = live.get(head.aggregate_id)
            if aggregate is None or aggregate.version != head.version:
                first = self.store.get_events_for_aggregate(
                    head.aggregate_id, head.version, head.version
                )
                kind = self.aggregates.get(first[0].aggregate_type) if first else None
                if kind is None:
                    continue
                existing = valid_snapshot(self.store, kind, head.aggregate_id)
                if existing is not None and existing.version >= head.version:
                    continue
                aggregate = load_aggregate(
                    self.store, kind, head.aggregate_id, to_version=head.version
                )
            else:
                existing = valid_snapshot(self.store, type(aggregate), head.aggregate_id)
                if existing is not None and existing.version >= head.version:
                    continue
            cls = type(aggregate)
            wanted.append(
                Snapshot(
                    head.aggregate_id,
                    cls.aggregate_type,
                    head.version,
                    cls.STATE_SCHEMA_VERSION,
                    aggregate.snapshot_state(),
                )
            )
        for start in range(0, len(wanted), _SNAPSHOT_BATCH):
            self.store.save_attested_snapshots(wanted[start : start + _SNAPSHOT_BATCH], seal.number)
        for snapshot in wanted:
            loaded = self.store.load_attested_snapshot(snapshot.aggregate_id, snapshot.version)
            if loaded is None or loaded.version != snapshot.version:
                raise RetentionRefusedError(
                    f"the snapshot of {snapshot.aggregate_id!r} at version {snapshot.version} "
                    "does not load as attested (another state was stored at that version): run "
                    "chronicle verify (nothing was removed)"
                )
        return len(wanted)

    def _remove(self, removal: list[tuple[int, bytes]], progress: Progress | None) -> int:
        removed = 0
        for start in range(0, len(removal), _REMOVE_BATCH):
            batch = removal[start : start + _REMOVE_BATCH]
            removed += self.store.remove_events(batch)
            if progress is not None:
                progress(len(batch))
        return removed

    # -- an interrupted run ------------------------------------------------------------------

    def _complete_interrupted(self, progress: Progress | None) -> int | None:
        """Finish the removal of the latest receipt's run if it was cut short; its number.

        What it had left to remove is what is still stored below its cut at or before its
        aggregate's kept head: every such event is in a segment of this or an earlier receipt
        (the archive holds every event below the cut), and only the receipt's own transaction
        wrote the heads. The archive folder is not needed for it.
        """
        cuts = self.store.retention_cuts()
        if not cuts:
            return None
        cut = cuts[-1]
        receipts = receipts_of(self.store)
        if not receipts or receipts[-1].data.get("number") != cut.number:
            raise RetentionRefusedError(
                f"the store records retention cut {cut.number} but no receipt event for it: "
                "run chronicle verify (nothing was removed)"
            )
        heads: dict[str, int] = {}
        leftovers = []
        for _, event in self.store.kept_below(cut):
            if event.aggregate_id not in heads:
                head = self.store.retention_head(event.aggregate_id)
                heads[event.aggregate_id] = head.version if head is not None else 0
            if event.version <= heads[event.aggregate_id]:
                leftovers.append(event)
        if not leftovers:
            return None
        # A hold placed since that run began keeps what it names, whole aggregates at a time
        # (a later run removes them once it is released).
        holds = checked_holds(self.store)
        users = {hold.subject_id for hold in holds if hold.subject_kind == "user"}
        held = {hold.subject_id for hold in holds if hold.subject_kind == "aggregate"}
        held |= {event.aggregate_id for event in leftovers if event.user_id in users}
        removal = [(e.position, e.hash) for e in leftovers if e.aggregate_id not in held]
        if not removal:
            return None
        self._remove(removal, progress)
        self.store.refresh_statistics()
        return cut.number
