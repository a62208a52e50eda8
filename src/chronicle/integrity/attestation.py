"""Snapshots are caches, never evidence: the attestor checks each one before loads may use it.

Anyone who can insert a row into the snapshot table (even the application's least-privilege
role) could otherwise change what every later load shows while ``chronicle verify`` says
intact. So a load uses only an *attested* snapshot whose stored state still has the attested
digest (see ``load_attested_snapshot``). The :class:`SnapshotAttestor` makes attestations: for
each unattested snapshot whose events are all sealed, it replays the aggregate from its events
alone, and attests the snapshot under the latest seal's number when the replayed state is the
snapshot's state, byte for byte in canonical JSON. A snapshot that differs is reported (a
warning, and in what ``run_once`` returns) and never attested.

:func:`check_snapshots` is the verifier's side: it replays every stored snapshot, attested or
not, and names each one whose state differs from its events, and each attestation whose digest
is not its snapshot's.

The replay comes from the composition root (:func:`replay_from` over the application's
``{aggregate_type: class}`` mapping), since only it knows the aggregate classes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from chronicle.aggregate import Aggregate
from chronicle.errors import (
    AggregateTypeError,
    ChronicleError,
    InvalidEventError,
    UnknownAggregateError,
    UnknownEventTypeError,
    UpcastError,
)
from chronicle.events import JSONObject
from chronicle.follower import Backoff
from chronicle.integrity.report import Problem, ProblemKind
from chronicle.repository import load_aggregate
from chronicle.store.codec import canonical_object
from chronicle.store.ports import AggregateStore, AttestationStore, AttestingStore
from chronicle.store.records import Seal, Snapshot, SnapshotKey, StoredSnapshot, state_digest

log = logging.getLogger(__name__)

Replay = Callable[[Snapshot], JSONObject | None]
"""The state a snapshot should hold, rebuilt from the aggregate's events up to its version alone
(never from a snapshot). None when this code cannot judge it (a state schema or aggregate type
it does not know). Raises ``UnknownAggregateError``, ``AggregateTypeError`` or
``InvalidEventError`` when the events cannot give that snapshot at all."""

_CANNOT_GIVE = (UnknownAggregateError, AggregateTypeError, InvalidEventError)
"""A snapshot of an aggregate with no events, of another type, or beyond its last version."""
_CANNOT_READ = (UnknownEventTypeError, UpcastError)
"""This code cannot read the aggregate's events: not the snapshot's fault, and not judged."""
_PAGE = 100


def replay_from(store: AggregateStore, aggregates: Mapping[str, type[Aggregate]]) -> Replay:
    """A :data:`Replay` over ``store`` with the classes of ``aggregates`` (by aggregate type)."""

    def replay(snapshot: Snapshot) -> JSONObject | None:
        cls = aggregates.get(snapshot.aggregate_type)
        if cls is None:
            _check_type_of_events(store, snapshot)
            return None
        if snapshot.state_schema_version != cls.STATE_SCHEMA_VERSION:
            return None  # an older shape: never loaded, so neither attested nor forged
        head = _kept_head(store, snapshot.aggregate_id)
        if head is None:
            aggregate = load_aggregate(
                store, cls, snapshot.aggregate_id, to_version=snapshot.version, use_snapshots=False
            )
            return aggregate.snapshot_state()
        if snapshot.version <= head:
            return None  # its events are archived: chronicle archive verify checks them
        # Retention archived the events up to the head: replay from the snapshot attested there.
        aggregate = load_aggregate(
            store, cls, snapshot.aggregate_id, to_version=snapshot.version, snapshots_up_to=head
        )
        if aggregate.version != snapshot.version or _replayed_from(store, snapshot, head) is None:
            return None
        return aggregate.snapshot_state()

    return replay


def _kept_head(store: AggregateStore, aggregate_id: str) -> int | None:
    """The version up to which retention archived the aggregate's events, if it did."""
    if not getattr(getattr(store, "capabilities", None), "retention", False):
        return None
    head = store.retention_head(aggregate_id)  # type: ignore[attr-defined]
    return None if head is None else int(head.version)


def _replayed_from(store: AggregateStore, snapshot: Snapshot, head: int) -> Snapshot | None:
    """The attested snapshot at the kept head a replay past it starts from (None: none is)."""
    base = store.load_attested_snapshot(snapshot.aggregate_id, head)
    return base if base is not None and base.version == head else None


def _check_type_of_events(store: AggregateStore, snapshot: Snapshot) -> None:
    """A snapshot of a type this code does not know is judged only by its events' type."""
    first = store.get_events_for_aggregate(snapshot.aggregate_id, 1, 1)
    if not first:
        raise UnknownAggregateError(snapshot.aggregate_id)
    if first[0].aggregate_type != snapshot.aggregate_type:
        raise AggregateTypeError(
            snapshot.aggregate_id, snapshot.aggregate_type, first[0].aggregate_type
        )


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A snapshot whose state is not what its events replay to (``reason`` says how)."""

    aggregate_id: str
    version: int
    reason: str


@dataclass(slots=True)
class AttestationRun:
    """What one pass of the attestor did: the snapshots it attested and those it refused."""

    attested: list[SnapshotKey] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)


def replayed_digest(stored: StoredSnapshot, replay: Replay) -> bytes | str | None:
    """The digest of the state the snapshot's events replay to, or why they give no such
    snapshot (a string), or None when this code cannot judge it."""
    try:
        state = replay(stored.snapshot)
    except _CANNOT_GIVE as exc:
        return f"its events cannot give it: {exc}"
    except _CANNOT_READ as exc:
        log.warning("snapshot %s@%s not checked: %s", *stored.key, exc)
        return None
    if state is None or stored.replayable_digest is None:
        return None
    return state_digest(canonical_object(state, "replayed state"))


def _pages(
    fetch: Callable[[SnapshotKey | None, int], list[StoredSnapshot]],
) -> Iterator[StoredSnapshot]:
    after: SnapshotKey | None = None
    while True:
        page = fetch(after, _PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].key


class SnapshotAttestor:
    """Attests snapshots whose state is what their sealed events replay to.

    Only the sealer's role may write attestations; run it where the sealer runs (the worker,
    ``chronicle seal``). A snapshot is attested under the latest seal once every event up to
    its version is covered by that seal, so the attestation rests on evidence that is anchored
    outside the database. A mismatch is logged once per attestor and never attested; it, and a
    snapshot this code cannot judge, is not looked at again by the same attestor.
    """

    def __init__(
        self, store: AttestingStore, replay: Replay, *, backoff: Backoff | None = None
    ) -> None:
        self.store = store
        self.replay = replay
        self.backoff = backoff or Backoff()
        self._settled: set[SnapshotKey] = set()  # refused or not judged: not looked at again

    def run_once(self) -> AttestationRun:
        """Attest every unattested snapshot covered by the latest seal; report the others."""
        run = AttestationRun()
        seal = self.store.latest_seal()
        if seal is None:
            return run
        for stored in _pages(self.store.unattested_snapshots):
            if stored.key in self._settled or not self._sealed(stored.snapshot, seal):
                continue
            self._attest(stored, seal, run)
        return run

    def follow(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Attest every ``interval`` seconds until ``stop`` is set; retry store outages."""
        failure: str | None = None
        while not stop.is_set():
            try:
                self.run_once()
            except ChronicleError as exc:
                delay = self.backoff.next_delay()
                level = logging.DEBUG if str(exc) == failure else logging.WARNING
                failure = str(exc)
                log.log(level, "snapshot attestation failed, retrying in %.1fs: %s", delay, exc)
                stop.wait(delay)
                continue
            self.backoff.reset()
            failure = None
            stop.wait(interval)

    def _sealed(self, snapshot: Snapshot, seal: Seal) -> bool:
        """Whether the seal covers the event at the snapshot's version (and so all before it)."""
        at = self.store.get_events_for_aggregate(
            snapshot.aggregate_id, snapshot.version, snapshot.version
        )
        if not at:
            return True  # no such event: a snapshot beyond the log, for the replay to refuse
        leaf = self.store.merkle_leaf(at[0].position)
        return leaf is not None and leaf.index < seal.tree_size

    def _attest(self, stored: StoredSnapshot, seal: Seal, run: AttestationRun) -> None:
        digest = replayed_digest(stored, self.replay)
        if digest is None:
            self._settled.add(stored.key)
            return
        if isinstance(digest, bytes) and digest == stored.replayable_digest:
            # What is attested is the state as stored (sealed fields and all).
            self.store.attest_snapshot(
                *stored.key, state_digest=stored.digest, seal_number=seal.number
            )
            run.attested.append(stored.key)
            return
        reason = digest if isinstance(digest, str) else "its state is not what its events give"
        mismatch = Mismatch(*stored.key, reason)
        self._settled.add(stored.key)
        run.mismatches.append(mismatch)
        log.warning("snapshot %s@%s is not attested (forged?): %s", *stored.key, mismatch.reason)


def check_snapshots(store: AttestationStore, replay: Replay) -> list[Problem]:
    """Every stored snapshot replayed (attested or not): a ``snapshot_forged`` problem for each
    whose state differs from its events, and for each attestation whose digest is not its
    snapshot's."""
    problems: list[Problem] = []
    for stored in _pages(store.stored_snapshots):
        aggregate_id, version = stored.key
        if stored.attested is not None and stored.attested != stored.digest:
            problems.append(
                Problem(
                    kind=ProblemKind.SNAPSHOT_FORGED,
                    message=(
                        f"the attestation of snapshot {aggregate_id}@{version} (seal "
                        f"{stored.seal_number}) vouches for another state than the stored one"
                    ),
                    aggregate_id=aggregate_id,
                    version=version,
                    seal=stored.seal_number,
                )
            )
        digest = replayed_digest(stored, replay)
        if digest is None or digest == stored.replayable_digest:
            continue
        reason = digest if isinstance(digest, str) else "its state is not what its events give"
        problems.append(
            Problem(
                kind=ProblemKind.SNAPSHOT_FORGED,
                message=f"snapshot {aggregate_id}@{version} is forged: {reason}",
                aggregate_id=aggregate_id,
                version=version,
            )
        )
    return problems
