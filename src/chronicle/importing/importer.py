"""Appending imported events through the store's normal append path, idempotently.

Consecutive entries of one aggregate with one type, user and instant and consecutive versions
were one append where they were recorded: they are imported as one batch (``import_events``,
whose expected version is the version before the batch's first). What the store already holds
is recognised by event id at its version and skipped, so an import run again, or continued
after it stopped, imports only what is missing. An entry that carries the hash it was recorded
with is checked before anything is written: its content, chained to the aggregate's previous
event, must give that hash again, so an export changed after it was made is refused rather
than recorded under fresh, valid hashes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from chronicle.errors import ConcurrencyError, DuplicateEventError, InvalidEventError
from chronicle.events import RecordedEvent
from chronicle.store.integrity import GENESIS, chain
from chronicle.store.ports import ImportingLog
from chronicle.store.prepare import prepare_append

from .entries import ImportedEvent
from .errors import ImportConflictError, ImportInputError

MAX_RUN = 1000
"""The most events imported in one batch (one transaction)."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: events read, imported and found already stored."""

    events: int = 0
    imported: int = 0
    already_stored: int = 0
    batches: int = 0
    aggregates: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "events": self.events,
            "imported": self.imported,
            "already_stored": self.already_stored,
            "batches": self.batches,
            "aggregates": self.aggregates,
        }


def import_history(
    store: ImportingLog,
    entries: Iterable[ImportedEvent],
    *,
    progress: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import ``entries`` in their order; ``progress`` is called with each batch's size.

    Stops at the first entry that cannot be imported: ``ImportInputError`` (the store refuses
    it) or ``ImportConflictError`` (the store holds another history); batches before it stay
    imported, and ``report`` (when given) holds what was done until then.
    """
    run = _Import(store, report if report is not None else ImportReport())
    try:
        for batch in runs(entries):
            run.batch(batch)
            if progress is not None:
                progress(len(batch))
    finally:
        run.report.aggregates = len(run.heads)
    return run.report


def runs(entries: Iterable[ImportedEvent]) -> Iterator[list[ImportedEvent]]:
    """Consecutive entries that were one append, at most :data:`MAX_RUN` at a time."""
    current: list[ImportedEvent] = []
    for entry in entries:
        if current and not (len(current) < MAX_RUN and _continues(current[-1], entry)):
            yield current
            current = []
        current.append(entry)
    if current:
        yield current


def _continues(last: ImportedEvent, entry: ImportedEvent) -> bool:
    return (
        entry.aggregate_id == last.aggregate_id
        and entry.version == last.version + 1
        and entry.aggregate_type == last.aggregate_type
        and entry.user_id == last.user_id
        and entry.timestamp == last.timestamp
    )


@dataclass(slots=True)
class _Import:
    store: ImportingLog
    report: ImportReport
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    """Each aggregate met so far: its version and hash in the store."""

    def batch(self, batch: list[ImportedEvent]) -> None:
        first = batch[0]
        self.report.events += len(batch)
        version, head_hash = self._head(first.aggregate_id)
        stored = [entry for entry in batch if entry.version <= version]
        if stored:
            self._check_stored(stored)
        missing = batch[len(stored) :]
        if not missing:
            return
        if missing[0].version != version + 1:
            raise ImportConflictError(
                f"{missing[0].where}: aggregate {first.aggregate_id!r} is at version {version} "
                f"in the store, so its event at version {missing[0].version} cannot follow "
                f"(the source lacks versions {version + 1}-{missing[0].version - 1})"
            )
        self._check_hashes(missing, version, head_hash)
        recorded = self._append(missing, version)
        self.heads[first.aggregate_id] = (recorded[-1].version, recorded[-1].hash)
        self.report.imported += len(recorded)
        self.report.batches += 1

    def _head(self, aggregate_id: str) -> tuple[int, bytes]:
        head = self.heads.get(aggregate_id)
        if head is None:
            version = self.store.get_aggregate_version(aggregate_id)
            last = self.store.get_events_for_aggregate(aggregate_id, version) if version else []
            head = (version, last[-1].hash if last else GENESIS)
            self.heads[aggregate_id] = head
        return head

    def _check_stored(self, entries: list[ImportedEvent]) -> None:
        """Entries at versions the store holds must be the events it holds there."""
        aggregate_id = entries[0].aggregate_id
        held = {
            event.version: event
            for event in self.store.get_events_for_aggregate(
                aggregate_id, entries[0].version, entries[-1].version
            )
        }
        for entry in entries:
            event = held[entry.version]
            if event.event_id != entry.event_id:
                raise ImportConflictError(
                    f"{entry.where}: aggregate {aggregate_id!r} already holds another event at "
                    f"version {entry.version} ({event.event_id}, not {entry.event_id})"
                )
            if entry.hash is not None and entry.hash != event.hash:
                raise ImportConflictError(
                    f"{entry.where}: event {entry.event_id} is stored with hash "
                    f"{event.hash.hex()}, not the source's {entry.hash.hex()}: the source "
                    "or the store holds a changed copy"
                )
        self.report.already_stored += len(entries)

    def _check_hashes(self, entries: list[ImportedEvent], version: int, head_hash: bytes) -> None:
        """Before anything is written: each recorded hash is what the content chains to."""
        if all(entry.hash is None for entry in entries):
            return
        first = entries[0]
        try:
            prepared = prepare_append(
                first.aggregate_id,
                [entry.new_event() for entry in entries],
                expected_version=version,
                aggregate_type=first.aggregate_type,
                user_id=first.user_id,
                max_event_bytes=sys.maxsize,  # the store applies its own limit
                recorded_at=first.timestamp,
            )
        except InvalidEventError as exc:
            raise ImportInputError(f"{_span(entries)}: {exc}") from exc
        previous = head_hash
        for number, (entry, event) in enumerate(
            zip(entries, prepared.events, strict=True), start=version + 1
        ):
            previous = chain(previous, number, event.digest)
            if entry.hash is not None and entry.hash != previous:
                raise ImportConflictError(
                    f"{entry.where}: event {entry.event_id} was recorded with hash "
                    f"{entry.hash.hex()}, but its content chains to {previous.hex()}: it (or an "
                    f"earlier event of aggregate {first.aggregate_id!r}) was changed after it "
                    "was recorded. Nothing of it was imported."
                )

    def _append(self, entries: list[ImportedEvent], version: int) -> list[RecordedEvent]:
        first = entries[0]
        try:
            return self.store.import_events(
                first.aggregate_id,
                [entry.new_event() for entry in entries],
                expected_version=version,
                aggregate_type=first.aggregate_type,
                user_id=first.user_id,
                recorded_at=first.timestamp,
                # History that carries its hashes is kept as it was hashed (its personal fields
                # in clear if they were: such events cannot be shredded, see the README).
                seal_personal=all(entry.hash is None for entry in entries),
            )
        except InvalidEventError as exc:
            raise ImportInputError(f"{_span(entries)}: {exc}") from exc
        except (ConcurrencyError, DuplicateEventError) as exc:
            raise ImportConflictError(f"{_span(entries)}: {exc}") from exc


def _span(entries: list[ImportedEvent]) -> str:
    if len(entries) == 1:
        return entries[0].where
    return f"{entries[0].where} to {entries[-1].where}"
