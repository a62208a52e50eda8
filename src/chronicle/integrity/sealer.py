"""The sealer: follows the log in commit order and records numbered, optionally signed seals.

Each seal carries the head of the log chain (see :mod:`chronicle.integrity.chains`) over every
event from the start of the log up to its position. The latest seal is the sealer's checkpoint:
a restarted sealer continues from it. It runs after commit, off the append path, so writers
never wait for it. Reading and waiting for commits are the log follower's
(:mod:`chronicle.follower`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chronicle.errors import EvidenceFileError
from chronicle.events import RecordedEvent
from chronicle.follower import Batch, LogFollower
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.seals import make_seal, write_evidence
from chronicle.integrity.signing import SigningKey
from chronicle.store.ports import SealedLog
from chronicle.store.records import Seal

# Woken by commits and paced by its interval, the sealer also looks at least this often whether
# to stop, however long the interval.
_LONGEST_IDLE_WAIT = 1.0


@dataclass(slots=True)
class _Tip:
    """The log chain folded up to the last event read, which may lie beyond the latest seal."""

    number: int
    head: bytes
    count: int
    position: int | None
    last_hash: bytes
    pending: int = 0

    @classmethod
    def after(cls, seal: Seal | None) -> _Tip:
        if seal is None:
            return cls(0, LOG_GENESIS, 0, None, b"")
        return cls(seal.number, seal.head, seal.event_count, seal.position, seal.last_hash)

    def fold(self, event: RecordedEvent) -> None:
        self.head = log_step(self.head, event.position, event.hash)
        self.count += 1
        self.pending += 1
        self.position, self.last_hash = event.position, event.hash


class Sealer:
    """Seals what the log holds beyond the latest seal.

    ``seal_every`` bounds how many events one seal covers, so that a verifier that finds a seal
    broken can name a narrow range; events not sealed yet carry over from batch to batch, and
    whatever is left is sealed once the sealer has read everything committed. ``export_dir``,
    when given, receives each new seal as ``seal-<number>.json``: evidence kept outside the
    database.
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
    ) -> None:
        if seal_every < 1 or batch_size < 1:
            raise ValueError("seal_every and batch_size must be at least 1")
        self.store = store
        self.key = key
        self.seal_every = seal_every
        self.batch_size = batch_size
        self.export_dir = export_dir
        self._clock = clock
        self._tip: _Tip | None = None
        self._recorded: list[Seal] | None = None
        self._follower = LogFollower(
            store, self._position, self._seal, batch_size=batch_size, name="sealing"
        )

    def run_once(self) -> list[Seal]:
        """Seal everything committed so far; return the new seals (none when up to date)."""
        self._tip = None  # start from the latest seal: another sealer may have sealed since
        self._recorded = []
        try:
            self._follower.catch_up()
            return self._recorded
        finally:
            self._recorded = None

    def follow(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Seal new events until ``stop`` is set: soon after a commit, at most once per interval.

        Woken by commits, a busy log is still sealed only every ``interval`` seconds (and every
        ``seal_every`` events), not once per append. Store outages are retried with growing
        back-off.
        """
        self._tip = None
        self._follower.run(stop, idle_wait=min(interval, _LONGEST_IDLE_WAIT), pace=interval)

    def _position(self) -> int | None:
        if self._tip is None:
            latest = self.store.latest_seal()
            if latest is not None:
                self._export(latest)  # a seal whose export failed last time gets its file now
            self._tip = _Tip.after(latest)
        return self._tip.position

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

    def _record(self, tip: _Tip) -> None:
        assert tip.position is not None  # a seal covers at least one event
        seal = make_seal(
            number=tip.number + 1,
            position=tip.position,
            event_count=tip.count,
            head=tip.head,
            last_hash=tip.last_hash,
            sealed_at=self._clock(),
            key=self.key,
        )
        self.store.append_seal(seal)
        tip.number, tip.pending = seal.number, 0
        if self._recorded is not None:
            self._recorded.append(seal)
        self._export(seal)

    def _export(self, seal: Seal) -> None:
        """Write ``seal`` to the export folder, if one is set and the file is not there yet."""
        if self.export_dir is None:
            return
        path = self.export_dir / f"seal-{seal.number:08d}.json"
        if path.exists():
            return
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise EvidenceFileError(
                f"cannot create the seal folder {self.export_dir}: {exc}"
            ) from exc
        write_evidence(seal, path)
