"""The sealer: follows the log in commit order and records numbered, optionally signed seals.

Each seal carries the head of the log chain (see :mod:`chronicle.integrity.chains`) over every
event from the start of the log up to its position. The latest seal is the sealer's checkpoint:
a restarted sealer continues from it. It runs after commit, off the append path, so writers
never wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chronicle.errors import ChronicleError, EvidenceFileError
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.seals import make_seal, write_evidence
from chronicle.integrity.signing import SigningKey
from chronicle.store.protocol import EventStore, Seal

log = logging.getLogger(__name__)


class Sealer:
    """Seals what the log holds beyond the latest seal.

    ``seal_every`` bounds how many events one seal covers, so that a verifier that finds a seal
    broken can name a narrow range. ``export_dir``, when given, receives each new seal as
    ``seal-<number>.json``: evidence kept outside the database.
    """

    def __init__(
        self,
        store: EventStore,
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

    def run_once(self) -> list[Seal]:
        """Seal everything committed so far; return the new seals (none when up to date)."""
        latest = self.store.latest_seal()
        if latest is not None:
            self._export(latest)  # a seal whose export failed last time gets its file now
        number = latest.number if latest else 0
        head = latest.head if latest else LOG_GENESIS
        count = latest.event_count if latest else 0
        after = latest.position if latest else None
        sealed: list[Seal] = []
        pending = 0
        last_position, last_hash = after, latest.last_hash if latest else b""
        while True:
            events = self.store.read_all(after=after, limit=self.batch_size)
            for event in events:
                head = log_step(head, event.position, event.hash)
                count += 1
                pending += 1
                last_position, last_hash = event.position, event.hash
                if pending == self.seal_every:
                    number += 1
                    sealed.append(self._record(number, last_position, count, head, last_hash))
                    pending = 0
            if len(events) < self.batch_size:
                break
            after = events[-1].position
        if pending and last_position is not None:
            number += 1
            sealed.append(self._record(number, last_position, count, head, last_hash))
        return sealed

    def _record(self, number: int, position: int, count: int, head: bytes, last: bytes) -> Seal:
        seal = make_seal(
            number=number,
            position=position,
            event_count=count,
            head=head,
            last_hash=last,
            sealed_at=self._clock(),
            key=self.key,
        )
        self.store.append_seal(seal)
        self._export(seal)
        return seal

    def _export(self, seal: Seal) -> None:
        """Write ``seal`` to the export folder, if one is set and the file is not there yet."""
        if self.export_dir is None:
            return
        path = self.export_dir / f"seal-{seal.number:08d}.json"
        if path.exists():
            return
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceFileError(
                f"cannot create the seal folder {self.export_dir}: {exc}"
            ) from exc
        write_evidence(seal, path)

    def follow(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Seal new events every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.run_once()
            except ChronicleError:
                # The edge of the loop: record the failure and try again on the next round.
                log.exception("sealing failed; retrying in %.1fs", interval)
            stop.wait(interval)
