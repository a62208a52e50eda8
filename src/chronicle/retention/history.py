"""An aggregate's whole history after retention: the archived events, then the store's.

What ``chronicle history ID --include-archive`` and ``GET /audit/{id}/history?include_archive=
true`` show. The archive's copies are read from segments checked against their manifests'
SHA-256 (:func:`~chronicle.retention.archive_check.archived_history`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from chronicle.aggregate import Aggregate
from chronicle.errors import AggregateTypeError, UnknownAggregateError
from chronicle.history import HistoryEntry, archived_up_to, history_of_events
from chronicle.retention import archive
from chronicle.retention.archive import ArchiveDamagedError, ArchiveError
from chronicle.retention.archive_check import archived_history
from chronicle.retention.receipts import receipts_of
from chronicle.store.ports import EventStore


@dataclass(frozen=True, slots=True)
class WholeHistory:
    """The entries, oldest first, each with where its event was read (``archive`` or
    ``store``); the last archived version, the store's first, and versions found in neither."""

    entries: list[HistoryEntry]
    sources: list[str]
    archived_to: int
    hot_from: int | None
    missing: list[int]


def whole_history(
    store: EventStore,
    aggregates: Mapping[str, type[Aggregate]],
    aggregate_id: str,
    root: Path,
    text_fields: Collection[str] = (),
) -> WholeHistory:
    """Every event of the aggregate from version 1, the archive's first (``ArchiveError`` when
    the store says some are archived and ``root`` holds no archive)."""
    if not root.is_dir() and archived_up_to(store, aggregate_id):
        raise ArchiveError(
            f"the archive folder {root} does not exist, but retention archived events of "
            f"{aggregate_id}: set CHRONICLE_ARCHIVE_DIR to its folder"
        )
    if root.is_dir():
        _check_receipts(store, root)
    archived = archived_history(root, aggregate_id) if root.is_dir() else []
    opened = getattr(store, "opened", None)  # sealed personal fields, as the store reads them
    if opened is not None:
        archived = [opened(event) for event in archived]
    hot = store.get_events_for_aggregate(aggregate_id)
    archived_to = archived[-1].version if archived else 0
    events = archived + [event for event in hot if event.version > archived_to]
    if not events:
        raise UnknownAggregateError(aggregate_id)
    cls = aggregates.get(events[0].aggregate_type)
    if cls is None:
        raise AggregateTypeError(
            aggregate_id, " or ".join(sorted(aggregates)), events[0].aggregate_type
        )
    have = {event.version for event in events}
    missing = [version for version in range(1, events[-1].version + 1) if version not in have]
    return WholeHistory(
        history_of_events(cls, aggregate_id, events, text_fields),
        ["archive"] * len(archived) + ["store"] * (len(events) - len(archived)),
        archived_to,
        hot[0].version if hot else None,
        missing,
    )


def _check_receipts(store: EventStore, root: Path) -> None:
    """Each manifest's receipt must be the one the store recorded (and the seals cover): the
    segments are checked against their manifest, so a manifest rewritten to match rewritten
    segments is caught here (``ArchiveDamagedError``)."""
    recorded = {event.data.get("number"): event.data for event in receipts_of(store)}
    for folder in archive.run_folders(root):
        receipt = archive.read_manifest(folder)["receipt"]
        number = receipt.get("number") if isinstance(receipt, dict) else None
        if number not in recorded:
            continue  # a run interrupted before its receipt: none of its events left the store
        if recorded[number] != receipt:
            raise ArchiveDamagedError(
                f"{folder}/manifest.json is not the receipt {number} the store recorded: the "
                "archive was altered (chronicle archive verify --with-store)"
            )
