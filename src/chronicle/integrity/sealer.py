"""The sealer: follows the log in commit order, grows the Merkle log, records signed tree heads.

Each seal is a tree head (see :mod:`chronicle.integrity.seals`) over every event from the start
of the log up to its position, chained to the seal before it. The latest seal is the sealer's
checkpoint: a restarted sealer continues from it and the stored frontier of the Merkle log. It
runs after commit, off the append path, so writers never wait for it. Reading and waiting for
commits are the log follower's (:mod:`chronicle.follower`).

Before it signs anything, on every cycle, the sealer checks that what the database holds still
extends what it sealed before: the newest seal in the seal folder (evidence kept outside the
database) is still the database's seal of that number, no seal it knows of was deleted, and the
stored Merkle log ends where the latest seal does. Otherwise it refuses (``SealRefusedError``,
logged as critical) rather than sign a rewritten history with the genuine key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chronicle.errors import ChronicleError, EvidenceFileError, SealRefusedError
from chronicle.events import RecordedEvent
from chronicle.follower import Batch, LogFollower
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.keys import TrustedKeys
from chronicle.integrity.merkle import MerkleFrontier
from chronicle.integrity.merkle_log import build_merkle_log, frontier_at, merkle_nodes, stored_root
from chronicle.integrity.seal_checks import signature_problem
from chronicle.integrity.seals import (
    NO_PREVIOUS,
    evidence_name,
    make_seal,
    read_evidence,
    read_seal_folder,
    seal_hash,
    write_evidence,
)
from chronicle.integrity.signing import SigningKey
from chronicle.store.ports import SealedLog
from chronicle.store.records import MerkleNode, Seal

log = logging.getLogger(__name__)

# Woken by commits and paced by its interval, the sealer also looks at least this often whether
# to stop, however long the interval.
_LONGEST_IDLE_WAIT = 1.0


@dataclass(slots=True)
class _Tip:
    """The log folded up to the last event read, which may lie beyond the latest seal."""

    seal: Seal | None
    frontier: MerkleFrontier
    head: bytes
    count: int
    position: int | None
    last_hash: bytes
    nodes: list[MerkleNode] = field(default_factory=list)  # completed since the latest seal

    @classmethod
    def after(cls, seal: Seal | None, frontier: MerkleFrontier) -> _Tip:
        if seal is None:
            return cls(None, frontier, LOG_GENESIS, 0, None, b"")
        return cls(seal, frontier, seal.head, seal.event_count, seal.position, seal.last_hash)

    @property
    def pending(self) -> int:
        return self.count - (self.seal.event_count if self.seal else 0)

    def fold(self, event: RecordedEvent) -> None:
        self.head = log_step(self.head, event.position, event.hash)
        self.count += 1
        self.position, self.last_hash = event.position, event.hash
        self.nodes.extend(merkle_nodes(self.frontier, event))


class Sealer:
    """Seals what the log holds beyond the latest seal.

    ``seal_every`` bounds how many events one seal covers, so that a verifier that finds a seal
    broken can name a narrow range; events not sealed yet carry over from batch to batch, and
    whatever is left is sealed once the sealer has read everything committed. ``export_dir``,
    when given, is the seal folder: it receives each new seal as ``seal-<number>.json``, never
    overwriting a file, and is what the sealer checks the database against. ``on_refusal`` is
    told whether the sealer is refusing to sign (a metric), after every check. Given
    ``trusted_keys`` (older keys after a rotation), a sealer with a key builds only on a seal
    signed by one of them or by its own key.
    """

    def __init__(
        self,
        store: SealedLog,
        *,
        key: SigningKey | None = None,
        seal_every: int = 10_000,
        batch_size: int = 1000,
        export_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_refusal: Callable[[bool], None] | None = None,
        trusted_keys: TrustedKeys | None = None,
    ) -> None:
        if seal_every < 1 or batch_size < 1:
            raise ValueError("seal_every and batch_size must be at least 1")
        self.store = store
        self.key = key
        self.seal_every = seal_every
        self.batch_size = batch_size
        self.export_dir = export_dir
        self.on_refusal = on_refusal
        self.trusted_keys = dict(trusted_keys or {})
        self.refusal: str | None = None
        """Why the sealer refuses to sign, while it does (None otherwise)."""
        self._clock = clock
        self._tip: _Tip | None = None
        self._newest_file: Seal | None = None
        self._recorded: list[Seal] | None = None
        self._follower = LogFollower(
            store,
            self._position,
            self._seal,
            batch_size=batch_size,
            name="sealing",
            on_error=self._failed,
        )

    def run_once(self) -> list[Seal]:
        """Seal everything committed so far; return the new seals (none when up to date).

        ``SealRefusedError`` when the database no longer extends the evidence (nothing sealed).
        """
        self._tip = None  # start from the latest seal: another sealer may have sealed since
        self._recorded = []
        try:
            self._follower.catch_up()
            return self._recorded
        except SealRefusedError as exc:
            self._refuse(exc)
            raise
        finally:
            self._recorded = None

    def follow(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Seal new events until ``stop`` is set: soon after a commit, at most once per interval.

        Woken by commits, a busy log is still sealed only every ``interval`` seconds (and every
        ``seal_every`` events), not once per append. Store outages are retried with growing
        back-off; so is a refusal, which lasts until the database extends the evidence again.
        """
        self._tip = None
        self._follower.run(stop, idle_wait=min(interval, _LONGEST_IDLE_WAIT), pace=interval)

    # -- the follower's hooks ----------------------------------------------------------------

    def _position(self) -> int | None:
        latest = self.store.latest_seal()
        self._check_evidence(latest)
        tip = self._tip
        if tip is None or not _same(tip.seal, latest):
            if (
                tip is not None
                and tip.seal is not None
                and (latest is None or latest.number < tip.seal.number)
            ):
                raise SealRefusedError(
                    f"seal {tip.seal.number}, recorded by this sealer, is gone from the database "
                    f"(its latest seal is now {latest.number if latest else 'none'}): seals "
                    "were deleted"
                )
            tip = self._tip = self._resume(latest)
        self._report_refusal(None)
        return tip.position

    def _seal(self, batch: Batch) -> int:
        tip = self._tip
        assert tip is not None  # loaded by _position, which the follower calls first
        try:
            for event in batch.events:
                tip.fold(event)
                if tip.pending == self.seal_every:
                    self._record(tip)
            if batch.at_end and tip.pending:
                self._record(tip)
        except Exception:
            # What was folded or recorded is uncertain now: start again from the latest seal.
            self._tip = None
            raise
        return len(batch.events)

    def _failed(self, exc: ChronicleError, delay: float) -> None:
        self._tip = None
        if isinstance(exc, SealRefusedError):
            self._refuse(exc)

    # -- evidence ----------------------------------------------------------------------------

    def _resume(self, latest: Seal | None) -> _Tip:
        """The tip at ``latest``, with the stored Merkle log checked to end exactly there."""
        covered = latest.event_count if latest is not None else 0
        stored = self.store.merkle_size()
        if stored > covered:
            raise SealRefusedError(
                f"the Merkle log holds {stored} leaves but the latest seal "
                f"({latest.number if latest else 'none'}) covers {covered} events: seals were "
                "deleted from the database"
            )
        if stored < covered:  # sealed before the Merkle log existed
            build_merkle_log(self.store)
        frontier = frontier_at(self.store, covered)
        if latest is not None:
            self._check_latest(latest, frontier)
            self._export(latest)  # a seal whose export failed last time gets its file now
        return _Tip.after(latest, frontier)

    def _check_latest(self, latest: Seal, frontier: MerkleFrontier) -> None:
        """The seal to build on must be one this sealer would have made, over the stored tree."""
        if latest.root is not None and frontier.root() != latest.root:
            raise SealRefusedError(
                f"the stored Merkle log does not end at seal {latest.number}'s root: it was "
                "rewritten"
            )
        if self.key is None:
            return
        # With trusted keys configured (older keys after a rotation), the seal must be signed by
        # one of them or this sealer's own key; without, it must at least verify with its own.
        trusted = (
            {**self.trusted_keys, self.key.key_id: self.key.public} if self.trusted_keys else {}
        )
        if latest.signature is not None:
            why = signature_problem(latest, trusted, f"the latest seal ({latest.number})")
            if why is not None:
                raise SealRefusedError(f"{why}: it was not made by this sealer")
            return
        before = self._seal_numbered(latest.number - 1) if latest.number > 1 else None
        if before is not None and before.signature is not None:
            raise SealRefusedError(
                f"the latest seal ({latest.number}) is unsigned although seal {before.number} "
                "is signed: it was not made by this sealer"
            )

    def _check_evidence(self, latest: Seal | None) -> None:
        """Refuse unless the database's seals still extend the newest seal in the seal folder."""
        newest = self._newest_evidence()
        if newest is None:
            return
        if latest is None or latest.number < newest.number:
            raise SealRefusedError(
                f"the seal folder holds seal {newest.number} but the database's latest seal is "
                f"{latest.number if latest else 'none'}: seals were deleted from the database "
                "(or it was restored from an older backup)"
            )
        same = latest if latest.number == newest.number else self._seal_numbered(newest.number)
        if same is None or seal_hash(same) != seal_hash(newest):
            raise SealRefusedError(
                f"the database's seal {newest.number} differs from the one in the seal folder: "
                "the sealed history was replaced (a fork)"
            )
        if newest.root is None:
            return
        root = stored_root(self.store, newest.event_count)
        if root is None:
            raise SealRefusedError(
                f"the stored Merkle log is damaged (it lacks nodes seal {newest.number} covers): "
                "rows of chronicle_merkle_leaves or chronicle_merkle_nodes were deleted"
            )
        if root != newest.root:
            raise SealRefusedError(
                f"the stored Merkle log no longer extends seal {newest.number} of the seal "
                "folder: the sealed history was rewritten (a fork)"
            )

    def _newest_evidence(self) -> Seal | None:
        """The newest seal in the seal folder (found once, then followed file by file)."""
        folder = self.export_dir
        if folder is None:
            return None
        if self._newest_file is None:
            seals = read_seal_folder(folder)
            self._newest_file = seals[-1] if seals else None
        while True:  # another sealer may have written newer files since
            number = self._newest_file.number + 1 if self._newest_file else 1
            path = folder / evidence_name(number)
            if not path.exists():
                return self._newest_file
            self._newest_file = read_evidence(path)

    def _seal_numbered(self, number: int) -> Seal | None:
        found = self.store.get_seals(after=number - 1, limit=1)
        return found[0] if found and found[0].number == number else None

    def _record(self, tip: _Tip) -> None:
        assert tip.position is not None  # a seal covers at least one event
        seal = make_seal(
            number=(tip.seal.number if tip.seal else 0) + 1,
            position=tip.position,
            event_count=tip.count,
            head=tip.head,
            last_hash=tip.last_hash,
            root=tip.frontier.root(),
            previous=seal_hash(tip.seal) if tip.seal else NO_PREVIOUS,
            sealed_at=self._clock(),
            key=self.key,
        )
        self.store.append_seal(seal, tip.nodes)
        tip.seal, tip.nodes = seal, []
        if self._recorded is not None:
            self._recorded.append(seal)
        self._export(seal)

    def _export(self, seal: Seal) -> None:
        """Write ``seal`` to the seal folder, if one is set; never over an existing file."""
        folder = self.export_dir
        if folder is None:
            return
        path = folder / evidence_name(seal.number)
        if path.exists():
            kept = read_evidence(path)
            if seal_hash(kept) != seal_hash(seal):
                raise SealRefusedError(
                    f"{path} holds another seal {seal.number} than the database: a fork"
                )
        else:
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise EvidenceFileError(f"cannot create the seal folder {folder}: {exc}") from exc
            if not write_evidence(seal, path, overwrite=False):
                return self._export(seal)  # written meanwhile by another sealer: compare it
        if self._newest_file is None or seal.number > self._newest_file.number:
            self._newest_file = seal

    def _refuse(self, exc: SealRefusedError) -> None:
        if self.refusal != str(exc):
            log.critical("the sealer refuses to sign: %s", exc)
        self._report_refusal(str(exc))

    def _report_refusal(self, reason: str | None) -> None:
        self.refusal = reason
        if self.on_refusal is not None:
            self.on_refusal(reason is not None)


def _same(one: Seal | None, other: Seal | None) -> bool:
    if one is None or other is None:
        return one is other
    return one.number == other.number and seal_hash(one) == seal_hash(other)
