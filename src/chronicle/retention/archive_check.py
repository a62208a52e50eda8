"""Offline verification of the archive folder, and reading archived history back.

:func:`verify_archive` needs nothing but the folder (and, to go further, the trusted keys, the
seals kept outside the database, or the store). For each ``receipt-NNNNNN/`` in order it checks
that the manifest reads, that the receipts are numbered 1…N, that each one's leaf range starts
where the previous one ended and names the previous receipt, its signature, the digest of its
kept heads, and every segment: present, of the SHA-256 the receipt names, decoding to the leaves
of its range without a gap. Then, from the first archived event on, it recomputes what the
receipts and the seals vouch for:

- each event's own hash, from its content and the previous event of its aggregate (versions
  from 1 without a gap);
- the log chain head and the RFC 9162 Merkle root after each receipt's last leaf, which must be
  the receipt's ``tree.head`` and ``tree.root`` (and those of every seal in ``evidence`` whose
  tree size the archive reaches);
- that each kept head the manifest lists, and each event it releases, is an archived event.

So an event altered in a segment is found even when the segment's SHA-256 in the manifest was
rewritten to match, and an event removed and the aggregate re-chained is found by the tree.
With ``store`` it also checks each receipt against the ``RetentionApplied`` event and the cut
row the store records, and the stored Merkle tree's root at each cut.

Each problem names the file that is wrong, and the leaf and position when it is one event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronicle.errors import ChronicleError
from chronicle.events import RecordedEvent
from chronicle.integrity.chains import LOG_GENESIS, expected_hash, log_step
from chronicle.integrity.keys import TrustedKeys
from chronicle.integrity.merkle import MerkleFrontier, leaf_hash
from chronicle.integrity.merkle_log import stored_root
from chronicle.retention import archive
from chronicle.retention.archive import ArchiveDamagedError, ArchivedEvent, ArchiveError
from chronicle.retention.receipts import (
    RECEIPT_AGGREGATE,
    RECEIPT_APPLIED,
    cut_problem,
    heads_digest_of_rows,
    receipts_of,
    signature_problem,
)
from chronicle.store.integrity import GENESIS
from chronicle.store.records import Seal

__all__ = ["ArchiveProblem", "ArchiveReport", "archived_history", "verify_archive"]

_SEGMENT_NAME = re.compile(r"segment-\d{6}\.ndjson\.zst")
_HEX64 = re.compile(r"[0-9a-f]{64}")

# The kinds of problem, as ``ArchiveProblem.kind`` names them.
MANIFEST_MISSING = "manifest_missing"
MANIFEST_UNREADABLE = "manifest_unreadable"
RECEIPT_OUT_OF_ORDER = "receipt_out_of_order"
RECEIPT_ALTERED = "receipt_altered"
SEGMENT_MISSING = "segment_missing"
SEGMENT_DAMAGED = "segment_damaged"
LEAF_MISSING = "leaf_missing"
EVENT_ALTERED = "event_altered"
VERSION_GAP = "version_gap"
TREE_MISMATCH = "tree_mismatch"
HEADS_MISMATCH = "heads_mismatch"
SEAL_MISMATCH = "seal_mismatch"
STORE_MISMATCH = "store_mismatch"


@dataclass(frozen=True, slots=True)
class ArchiveProblem:
    """One thing in the archive that is not what it must be; ``path`` is the file that is wrong
    (the manifest, a segment, or the receipt's folder), ``leaf`` and ``position`` the event."""

    kind: str
    message: str
    path: str | None = None
    receipt: int | None = None
    leaf: int | None = None
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "path": self.path,
            "receipt": self.receipt,
            "leaf": self.leaf,
            "position": self.position,
        }


@dataclass
class ArchiveReport:
    """What :func:`verify_archive` checked and found."""

    root: Path
    receipts: int = 0
    segments: int = 0
    events: int = 0
    held: int = 0
    """Archived events flagged ``held`` (a hold, or a receipt, kept them in the hot store)."""
    tree_size: int = 0
    """How many leaves of the log the archive holds (the last receipt's ``tree.size``)."""
    recomputed: int = 0
    """How many receipts' log chain head and Merkle root were recomputed from the first leaf."""
    evidence_seals: int = 0
    """Seals of ``evidence`` whose tree size the archive reaches, compared with it."""
    with_store: bool = False
    problems: list[ArchiveProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "intact": self.intact,
            "receipts": self.receipts,
            "segments": self.segments,
            "events": self.events,
            "held": self.held,
            "tree_size": self.tree_size,
            "recomputed": self.recomputed,
            "evidence_seals": self.evidence_seals,
            "with_store": self.with_store,
            "problems": [problem.to_dict() for problem in self.problems],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class _Tree:
    start: int
    size: int
    root: str
    head: str
    max_position: int


@dataclass(frozen=True, slots=True)
class _Manifest:
    """A manifest read and its shape checked: the receipt, its tree, heads, released events."""

    path: Path
    receipt: dict[str, Any]
    tree: _Tree
    segments: list[archive.SegmentInfo]
    heads: list[Any]
    released: list[Any]


class _Walk:
    """The recomputation from the first leaf: log chain, Merkle frontier, aggregate chains."""

    def __init__(self, report: ArchiveReport, evidence: Sequence[Seal]) -> None:
        self.report = report
        self.head = LOG_GENESIS
        self.frontier = MerkleFrontier()
        self.next_leaf = 0
        self.highest = 0
        self.broken: str | None = None
        """Why the log chain and tree can no longer be recomputed (a leaf is missing)."""
        self.aggregates: dict[str, tuple[int, bytes, int]] = {}
        """Each aggregate's last archived (version, hash, position)."""
        self.held: dict[int, bytes] = {}
        """Held events not released yet: position → hash."""
        self.receipt_events: dict[int, RecordedEvent] = {}
        self.seals: dict[int, list[Seal]] = {}
        for seal in evidence:
            self.seals.setdefault(seal.event_count, []).append(seal)

    def problem(self, kind: str, message: str, **where: Any) -> None:
        self.report.problems.append(ArchiveProblem(kind, message, **where))

    def lose(self, why: str) -> None:
        """From here on, leaves are missing: the tree and chains cannot be recomputed."""
        if self.broken is None:
            self.broken = why

    def step(self, item: ArchivedEvent, path: Path, number: int, tree: _Tree) -> None:
        event, leaf = item.event, item.leaf_index
        where = {"path": str(path), "receipt": number, "leaf": leaf, "position": event.position}
        if leaf != self.next_leaf:
            missing = leaf > self.next_leaf
            self.problem(
                LEAF_MISSING,
                f"{path}: leaf {self.next_leaf} expected, found leaf {leaf} "
                + ("(leaves are missing)" if missing else "(a leaf repeats or is out of order)"),
                **where,
            )
            self.lose(f"{path} lacks leaf {self.next_leaf}")
        if not tree.start <= leaf < tree.size:
            self.problem(
                LEAF_MISSING,
                f"{path}: leaf {leaf} is outside receipt {number}'s range "
                f"[{tree.start}, {tree.size})",
                **where,
            )
        self.next_leaf = leaf + 1
        self.highest = max(self.highest, event.position)
        if self.broken is None:
            self.head = log_step(self.head, event.position, event.hash)
            self.frontier.append(leaf_hash(event.hash))
            self._seals_at(self.frontier.size)
        self._chain(event, where)
        if item.held:
            self.held[event.position] = event.hash
        if event.aggregate_id == RECEIPT_AGGREGATE and event.event_type == RECEIPT_APPLIED:
            self.receipt_events[event.version] = event

    def _chain(self, event: RecordedEvent, where: dict[str, Any]) -> None:
        known = self.aggregates.get(event.aggregate_id)
        version = known[0] + 1 if known else 1
        name = f"{event.aggregate_id} v{event.version}"
        if event.version != version:
            # After a missing leaf, versions may be missing for that reason alone.
            if self.broken is None:
                self.problem(
                    VERSION_GAP,
                    f"{where['path']}: leaf {where['leaf']} (position {event.position}) is "
                    f"{name}, but the archive's previous event of {event.aggregate_id} is "
                    f"version {version - 1}: archived versions are missing or repeated",
                    **where,
                )
        elif expected_hash(event, known[1] if known else GENESIS) != event.hash:
            self.problem(
                EVENT_ALTERED,
                f"{where['path']}: leaf {where['leaf']} (position {event.position}, {name}) "
                "does not hash to its recorded hash: its content, or an earlier event of "
                "its aggregate, was changed",
                **where,
            )
        self.aggregates[event.aggregate_id] = (event.version, event.hash, event.position)

    def _seals_at(self, size: int) -> None:
        for seal in self.seals.get(size, ()):
            self.report.evidence_seals += 1
            root_differs = seal.root is not None and seal.root != self.frontier.root()
            if root_differs or seal.head != self.head:
                self.problem(
                    SEAL_MISMATCH,
                    f"seal {seal.number} (kept outside the database) covers the first {size} "
                    "events, but the archived events do not hash to its "
                    + ("Merkle root" if root_differs else "log chain head")
                    + ": the archive, or the seal, was changed",
                    leaf=size - 1,
                )


def verify_archive(
    root: Path,
    *,
    trusted_keys: TrustedKeys | None = None,
    store: Any = None,
    evidence: Sequence[Seal] = (),
) -> ArchiveReport:
    """Verify the archive folder ``root`` (see the module's documentation).

    ``ArchiveError`` when ``root`` is not a folder; everything found wrong inside it is a problem
    of the report. ``store``, when given, must keep retention (``capabilities.retention``).
    """
    if not root.is_dir():
        raise ArchiveError(f"the archive folder {root} does not exist (or is not a folder)")
    trusted = trusted_keys or {}
    report = ArchiveReport(root, with_store=store is not None)
    walk = _Walk(report, evidence)
    stored = _StoreSide(store) if store is not None else None
    folders = archive.run_folders(root)
    manifests: dict[int, dict[str, Any]] = {}
    previous_size: int | None = 0
    unsigned = signed = 0
    for number, folder in enumerate(folders, start=1):
        last = number == len(folders)
        if last and stored is not None and stored.interrupted(number):
            report.warnings.append(
                f"{folder}: the store records no receipt {number}: a run interrupted before "
                "its receipt (the next retention run discards the folder); not checked"
            )
            break
        report.receipts += 1
        if folder.name != archive.receipt_folder(root, number).name:
            walk.problem(
                RECEIPT_OUT_OF_ORDER,
                f"{folder}: receipt {number} expected here (receipts are numbered 1 to N, "
                f"one folder each): receipt-{number:06d} is missing or misnamed",
                path=str(folder),
                receipt=number,
            )
        manifest = _manifest(folder, number, walk, stored is None and last)
        if manifest is None:
            walk.lose(f"receipt {number} has no readable manifest")
            walk.next_leaf, previous_size = -1, None
            continue
        receipt, tree, path = manifest.receipt, manifest.tree, manifest.path
        manifests[number] = receipt
        _check_receipt(manifest, number, previous_size, walk)
        if receipt.get("signature") is None:
            unsigned += 1
        else:
            signed += 1
        why = signature_problem(receipt, trusted)
        if why is None and trusted and receipt.get("signature") is None:
            why = "it is unsigned although keys are trusted (chronicle verify says the same)"
        if why is not None:
            walk.problem(
                RECEIPT_ALTERED, f"{path}: receipt {number}: {why}", path=str(path), receipt=number
            )
        if previous_size is None or walk.next_leaf != tree.start:
            walk.next_leaf = tree.start  # resynchronised (a problem was reported already)
        _check_segments(folder, manifest, number, walk)
        _check_cut(manifest, number, walk, manifests)
        if stored is not None:
            stored.check(number, receipt, tree, path, walk)
        previous_size = tree.size
        report.tree_size = tree.size
    if stored is not None:
        stored.check_all(len(folders), walk)
    if not folders:
        report.warnings.append(f"{root} holds no receipt folder: nothing was archived yet")
    if walk.broken is not None and folders:
        report.warnings.append(
            f"the log chain and Merkle root were recomputed for {report.recomputed} of "
            f"{len(folders)} receipts only: {walk.broken}"
        )
    if unsigned and not trusted:
        report.warnings.append(
            f"{unsigned} receipt(s) are unsigned: no key vouches for them (the seals in the "
            "log cover their receipt events)"
        )
    if signed and not trusted:
        report.warnings.append(
            "no trusted key given (CHRONICLE_TRUSTED_KEYS): the receipts' signatures were "
            "checked against the keys they name, which nothing ties to a key kept elsewhere"
        )
    return report


def _manifest(folder: Path, number: int, walk: _Walk, maybe_interrupted: bool) -> _Manifest | None:
    """The manifest with its receipt's tree parsed, or None (a problem reported)."""
    path = folder / "manifest.json"
    where = {"path": str(path), "receipt": number}
    if not path.exists():
        hint = (
            " (unless a run was interrupted before its receipt: --with-store tells)"
            if maybe_interrupted
            else ""
        )
        walk.problem(MANIFEST_MISSING, f"{path}: the manifest is missing{hint}", **where)
        return None
    try:
        document = archive.read_manifest(folder)
        receipt = document["receipt"]
        if type(receipt) is not dict or type(receipt["tree"]) is not dict:
            raise ValueError("its receipt is not a JSON object with a tree")
        tree = receipt["tree"]
        parsed = _Tree(
            _whole(tree["start"]),
            _whole(tree["size"]),
            str(tree["root"]),
            str(tree["head"]),
            _whole(tree["max_position"]),
        )
        if parsed.size < parsed.start:
            raise ValueError("its receipt's leaf range is reversed")
        for key in ("heads", "released"):
            if type(document[key]) is not list:
                raise ValueError(f"{key!r} is not a list")
        manifest = _Manifest(
            path,
            receipt,
            parsed,
            archive.segments_of(document),
            document["heads"],
            document["released"],
        )
    except ArchiveDamagedError as exc:
        walk.problem(MANIFEST_UNREADABLE, str(exc), **where)
        return None
    except (KeyError, TypeError, ValueError) as exc:
        walk.problem(
            MANIFEST_UNREADABLE, f"{path}: not a retention manifest: {exc!r:.200}", **where
        )
        return None
    return manifest


def _whole(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r:.40} is not a whole number")
    return value


def _check_receipt(
    manifest: _Manifest, number: int, previous_size: int | None, walk: _Walk
) -> None:
    receipt, tree, path = manifest.receipt, manifest.tree, manifest.path
    where = {"path": str(path), "receipt": number}
    if receipt.get("number") != number:
        walk.problem(
            RECEIPT_OUT_OF_ORDER,
            f"{path}: the receipt says it is number {receipt.get('number')!r:.20}, its folder "
            f"is receipt {number}",
            **where,
        )
    if previous_size is not None and tree.start != previous_size:
        walk.problem(
            RECEIPT_OUT_OF_ORDER,
            f"{path}: receipt {number} starts at leaf {tree.start}, but "
            + (
                f"receipt {number - 1} ended at leaf {previous_size}"
                if number > 1
                else "the first receipt starts at leaf 0"
            )
            + ": archived leaves are missing or overlap",
            **where,
        )
        walk.lose(f"receipt {number} does not start where receipt {number - 1} ended")
    previous = receipt.get("previous_receipt")
    if number == 1 and previous is not None:
        walk.problem(
            RECEIPT_ALTERED,
            f"{path}: receipt 1 names a previous receipt ({previous!r:.70}): receipts were "
            "removed before it",
            **where,
        )
    if number > 1 and (type(previous) is not str or _HEX64.fullmatch(previous) is None):
        walk.problem(
            RECEIPT_ALTERED,
            f"{path}: receipt {number} does not name the previous receipt's hash "
            f"(previous_receipt is {previous!r:.70})",
            **where,
        )
    try:
        digest = heads_digest_of_rows(manifest.heads)
    except (TypeError, ValueError, ChronicleError) as exc:
        walk.problem(HEADS_MISMATCH, f"{path}: the kept heads cannot be read: {exc}", **where)
        return
    if digest != receipt.get("heads_sha256"):
        walk.problem(
            HEADS_MISMATCH,
            f"{path}: the kept heads listed hash to {digest}, the receipt says "
            f"{receipt.get('heads_sha256')!r:.70}: the list of heads was changed",
            **where,
        )


def _check_segments(folder: Path, manifest: _Manifest, number: int, walk: _Walk) -> None:
    report, tree, infos = walk.report, manifest.tree, manifest.segments
    wanted = {}
    for row in manifest.heads:
        try:
            wanted[(str(row[0]), int(row[1]))] = (str(row[2]), int(row[3]))
        except (IndexError, TypeError, ValueError):
            continue  # reported by the heads digest
    found: set[tuple[str, int]] = set()
    held = 0
    named = set()
    for info in infos:
        path = folder / info.name
        named.add(info.name)
        where = {"path": str(path), "receipt": number}
        report.segments += 1
        if _SEGMENT_NAME.fullmatch(info.name) is None:
            walk.problem(
                SEGMENT_DAMAGED,
                f"{folder / 'manifest.json'}: names a segment {info.name!r:.80}, which is not "
                "a segment's name",
                **where,
            )
            walk.lose(f"{folder} names a segment that cannot be one")
            walk.next_leaf = info.last_index + 1
            continue
        if not path.is_file():
            walk.problem(
                SEGMENT_MISSING,
                f"{path}: the segment is missing (leaves {info.first_index}-{info.last_index}, "
                f"{info.events} events)",
                leaf=info.first_index,
                **where,
            )
            walk.lose(f"{path} is missing")
            walk.next_leaf = info.last_index + 1
            continue
        damage: str | None = None
        try:
            archive.check_segment(folder, info)
        except ArchiveDamagedError as exc:
            damage = str(exc)
            walk.problem(SEGMENT_DAMAGED, damage, **where)
        try:
            for item in archive.read_segment(folder, info):
                report.events += 1
                held += item.held
                walk.step(item, path, number, tree)
                event = item.event
                head = wanted.get((event.aggregate_id, event.version))
                if head == (event.hash.hex(), event.position):
                    found.add((event.aggregate_id, event.version))
        except ArchiveDamagedError as exc:
            if str(exc) != damage:
                walk.problem(SEGMENT_DAMAGED, str(exc), **where)
            walk.lose(f"{path} cannot be decoded whole")
            walk.next_leaf = max(walk.next_leaf, info.last_index + 1)
    report.held += held
    _check_counts(manifest, number, walk, held)
    _check_heads(manifest, number, walk, wanted, found)
    for stray in sorted(folder.iterdir()):
        if stray.name != "manifest.json" and stray.name not in named:
            report.warnings.append(f"{stray}: not named by its manifest")


def _check_counts(manifest: _Manifest, number: int, walk: _Walk, held: int) -> None:
    path, tree, folder = manifest.path, manifest.tree, manifest.path.parent
    where = {"path": str(path), "receipt": number}
    if walk.next_leaf != tree.size:
        walk.problem(
            LEAF_MISSING,
            f"{folder}: the segments end before leaf {walk.next_leaf}, receipt {number}'s range "
            f"ends before leaf {tree.size}: "
            + ("leaves are missing" if walk.next_leaf < tree.size else "leaves are left over"),
            leaf=min(walk.next_leaf, tree.size),
            **where,
        )
        if walk.next_leaf < tree.size:
            walk.lose(f"receipt {number} lacks leaves {walk.next_leaf}-{tree.size - 1}")
        walk.next_leaf = tree.size
    counts = manifest.receipt.get("counts")
    counts = counts if type(counts) is dict else {}
    archived = tree.size - tree.start
    in_segments = sum(info.events for info in manifest.segments)
    released = len(manifest.released)
    expected = {"archived": archived, "released": released}
    if walk.broken is None:
        expected |= {"held": held, "removed": archived - held + released}
    differs = [
        f"{name} {counts.get(name)!r:.20} (the archive holds {value})"
        for name, value in expected.items()
        if counts.get(name) != value
    ]
    if in_segments != archived:
        differs.append(f"its segments list {in_segments} events for {archived} leaves")
    if differs:
        walk.problem(
            RECEIPT_ALTERED,
            f"{path}: receipt {number}'s counts are not the archive's: " + "; ".join(differs),
            **where,
        )


def _check_heads(
    manifest: _Manifest,
    number: int,
    walk: _Walk,
    wanted: dict[tuple[str, int], tuple[str, int]],
    found: set[tuple[str, int]],
) -> None:
    path = manifest.path
    where = {"path": str(path), "receipt": number}
    if walk.broken is not None:
        return  # a missing leaf was reported; what it held cannot be matched
    for (aggregate_id, version), (digest, position) in sorted(wanted.items()):
        if (aggregate_id, version) in found:
            continue
        last = walk.aggregates.get(aggregate_id)
        if last is None or (last[0], last[1].hex(), last[2]) != (version, digest, position):
            walk.problem(
                HEADS_MISMATCH,
                f"{path}: the kept head {aggregate_id} v{version} (position {position}) is "
                "not an archived event with that hash",
                position=position,
                **where,
            )
    for row in manifest.released:
        try:
            position, released = int(row[0]), bytes.fromhex(str(row[1]))
        except (IndexError, TypeError, ValueError):
            walk.problem(
                HEADS_MISMATCH, f"{path}: a released event cannot be read: {row!r:.80}", **where
            )
            continue
        if walk.held.pop(position, None) != released:
            walk.problem(
                HEADS_MISMATCH,
                f"{path}: the released event at position {position} is not an event an "
                "earlier receipt archived as held",
                position=position,
                **where,
            )


def _check_cut(
    manifest: _Manifest, number: int, walk: _Walk, manifests: dict[int, dict[str, Any]]
) -> None:
    """The recomputed log chain head and Merkle root at the receipt's size; archived receipt
    events against the manifests of the receipts they record."""
    path, tree = manifest.path, manifest.tree
    where = {"path": str(path), "receipt": number}
    for version, event in sorted(walk.receipt_events.items()):
        recorded = manifests.get(version)
        following = manifests.get(version + 1)
        if recorded is not None and event.data != recorded:
            walk.problem(
                RECEIPT_ALTERED,
                f"{path.parent.parent / f'receipt-{version:06d}' / 'manifest.json'}: receipt "
                f"{version} differs from its RetentionApplied event archived at position "
                f"{event.position}",
                path=str(path.parent.parent / f"receipt-{version:06d}" / "manifest.json"),
                receipt=version,
                position=event.position,
            )
        if following is not None and following.get("previous_receipt") != event.hash.hex():
            walk.problem(
                RECEIPT_ALTERED,
                f"receipt {version + 1} does not name the hash of receipt {version}'s event "
                f"archived at position {event.position}",
                receipt=version + 1,
                position=event.position,
            )
        if following is not None:
            del walk.receipt_events[version]
    if walk.broken is not None:
        return
    walk.report.recomputed += 1
    if walk.head.hex() != tree.head:
        walk.problem(
            TREE_MISMATCH,
            f"{path}: the archived events of leaves 0-{tree.size - 1} chain to log head "
            f"{walk.head.hex()}, receipt {number} says {tree.head}: events were changed, "
            "removed or reordered in the segments, or the receipt was changed",
            **where,
        )
    root = walk.frontier.root().hex()
    if root != tree.root:
        walk.problem(
            TREE_MISMATCH,
            f"{path}: the archived events of leaves 0-{tree.size - 1} hash to Merkle root "
            f"{root}, receipt {number} says {tree.root}: events were changed, removed or "
            "reordered in the segments, or the receipt was changed",
            **where,
        )
    if walk.highest != tree.max_position:
        walk.problem(
            RECEIPT_ALTERED,
            f"{path}: the highest archived position is {walk.highest}, receipt {number} says "
            f"{tree.max_position}",
            **where,
        )


class _StoreSide:
    """The receipts and cuts the store records, to compare with the archive."""

    def __init__(self, store: Any) -> None:
        if not getattr(store.capabilities, "retention", False):
            raise ArchiveError(f"the {store.backend} store keeps no retention receipts")
        self.store = store
        self.receipts = {event.version: event for event in receipts_of(store)}
        self.cuts = {cut.number: cut for cut in store.retention_cuts()}

    def interrupted(self, number: int) -> bool:
        """Whether receipt folder ``number`` is a run's the store has no receipt of yet: one
        interrupted between its manifest and its receipt event."""
        return number not in self.receipts and number == len(self.receipts) + 1

    def check(
        self, number: int, receipt: dict[str, Any], tree: _Tree, path: Path, walk: _Walk
    ) -> None:
        where = {"path": str(path), "receipt": number}
        event = self.receipts.get(number)
        if event is None:
            walk.problem(
                STORE_MISMATCH,
                f"{path}: the store records no RetentionApplied event for receipt {number}",
                **where,
            )
            return
        if event.data != receipt:
            walk.problem(
                STORE_MISMATCH,
                f"{path}: receipt {number} differs from the store's RetentionApplied event at "
                f"position {event.position}",
                **where,
            )
        before = self.receipts.get(number - 1)
        if before is not None and receipt.get("previous_receipt") != before.hash.hex():
            walk.problem(
                STORE_MISMATCH,
                f"{path}: receipt {number} does not name the hash of the store's receipt "
                f"{number - 1} event (position {before.position})",
                **where,
            )
        cut = self.cuts.get(number)
        if cut is None:
            walk.problem(
                STORE_MISMATCH, f"{path}: the store has no cut row for receipt {number}", **where
            )
        else:
            why = cut_problem(cut, event)
            if why is not None:
                walk.problem(STORE_MISMATCH, f"{path}: receipt {number}: {why}", **where)
        root = stored_root(self.store, tree.size)
        if root is None or root.hex() != tree.root:
            walk.problem(
                STORE_MISMATCH,
                f"{path}: the store's Merkle tree at size {tree.size} "
                + ("lacks nodes" if root is None else f"has root {root.hex()}")
                + f", receipt {number} says {tree.root}",
                **where,
            )

    def check_all(self, folders: int, walk: _Walk) -> None:
        for number, event in sorted(self.receipts.items()):
            if number > folders:
                walk.problem(
                    STORE_MISMATCH,
                    f"{archive.receipt_folder(walk.report.root, number)}: receipt {number} "
                    f"(position {event.position} in the store) has no folder in the archive",
                    path=str(archive.receipt_folder(walk.report.root, number)),
                    receipt=number,
                )


# -- reading ------------------------------------------------------------------------------------


def archived_history(root: Path, aggregate_id: str) -> list[RecordedEvent]:
    """Every archived event of ``aggregate_id``, by version, each version once (an event a hold
    kept in the hot store is in the archive too).

    Each segment read must have the SHA-256 its manifest names (``ArchiveDamagedError``
    otherwise; ``chronicle archive verify`` says more); ``ArchiveError`` when ``root`` is not a
    folder.
    """
    if not root.is_dir():
        raise ArchiveError(f"the archive folder {root} does not exist (or is not a folder)")
    found: dict[int, RecordedEvent] = {}
    for item in _archived(root):
        if item.event.aggregate_id == aggregate_id:
            found.setdefault(item.event.version, item.event)
    return [found[version] for version in sorted(found)]


def archived_events(root: Path) -> Iterator[RecordedEvent]:
    """Every archived event, segment by segment, each segment checked against its manifest
    (``ArchiveDamagedError`` otherwise); an event a hold kept hot may come twice."""
    for item in _archived(root):
        yield item.event


def _archived(root: Path) -> Iterator[ArchivedEvent]:
    for folder in archive.run_folders(root):
        manifest = archive.read_manifest(folder)
        for info in archive.segments_of(manifest):
            yield from archive.read_verified(folder, info)
