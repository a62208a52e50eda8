"""The archive folder: segments of archived events and the manifest of each retention run.

Layout (``CHRONICLE_ARCHIVE_DIR``)::

    receipt-000001/
        segment-000001.ndjson.zst   events of Merkle leaves [start, …), one JSON line each
        segment-000002.ndjson.zst
        manifest.json               the receipt (as recorded in the store), the kept heads

A segment is zstd-compressed NDJSON; each line is ``{"leaf_index": i, "held": bool, "event":
{…}}`` where the event is :meth:`~chronicle.events.RecordedEvent.to_dict` (the export's
format, hash included). Segments hold *every* event of their leaf range, those kept in the hot
store by a legal hold too (``held``), so the archive alone recomputes the log chain and the
Merkle tree up to each cut (``chronicle archive verify``).

Every file is written under a temporary name, flushed to disk, renamed into place, and read back
before the run goes on: nothing is removed from the store that is not in a segment read back
whole with the SHA-256 the manifest names.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import zstandard

from chronicle.errors import ChronicleError, RetentionRefusedError
from chronicle.events import RecordedEvent, recorded_event

FORMAT = 1
SEGMENT_EVENTS = 100_000
"""Events per segment: a segment of chat events is a few MB compressed."""
_LEVEL = 9
"""zstd level of segments: written once, read rarely; 9 compresses chat NDJSON about 5x."""
_MANIFEST = "manifest.json"


class ArchiveError(ChronicleError):
    """The archive folder cannot be written or read as it must be (nothing was removed)."""


class ArchiveDamagedError(ArchiveError):
    """A segment or manifest is not what the manifest and the receipts say."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A segment as the manifest names it."""

    name: str
    sha256: str
    events: int
    bytes: int
    first_index: int
    last_index: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "events": self.events,
            "bytes": self.bytes,
            "first_index": self.first_index,
            "last_index": self.last_index,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> SegmentInfo:
        return cls(
            str(document["name"]),
            str(document["sha256"]),
            int(document["events"]),
            int(document["bytes"]),
            int(document["first_index"]),
            int(document["last_index"]),
        )


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    leaf_index: int
    held: bool
    event: RecordedEvent


def receipt_folder(root: Path, number: int) -> Path:
    return root / f"receipt-{number:06d}"


def _at_least(value: Any, least: int, name: str) -> int:
    number = int(value)
    if number < least:
        raise ValueError(f"{name} {number} is below {least}")
    return number


def event_from_document(document: dict[str, Any]) -> RecordedEvent:
    """A :class:`RecordedEvent` from its ``to_dict()`` form (``ValueError`` when a version or
    position could not be a stored one: a damaged segment can still decode)."""
    return recorded_event(
        str(document["event_id"]),
        str(document["aggregate_id"]),
        str(document["aggregate_type"]),
        str(document["event_type"]),
        _at_least(document["version"], 1, "version"),
        _at_least(document["position"], 1, "position"),
        datetime.fromisoformat(document["timestamp"]),
        document["user_id"],
        document["data"],
        document["metadata"],
        int(document["schema_version"]),
        int(document["partition"]),
        bytes.fromhex(document["hash"]),
    )


def prepare_root(root: Path, *, default: bool) -> None:
    """The archive folder, ready to write: the default one is created; a configured one must
    exist and be writable (``ArchiveError`` saying which)."""
    if not root.exists():
        if not default:
            raise ArchiveError(
                f"the archive folder {root} does not exist: create it, or point "
                "CHRONICLE_ARCHIVE_DIR at one that does (nothing was removed)"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create the archive folder {root}: {exc}") from exc
    if not root.is_dir():
        raise ArchiveError(f"the archive folder {root} is not a folder (nothing was removed)")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ArchiveError(
            f"the archive folder {root} is not writable by this user (nothing was removed)"
        )


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold the archive folder's lock for a run (released with the process, even on SIGKILL):
    ``RetentionRefusedError`` when another run holds it."""
    try:
        handle = open(root / ".retention.lock", "a+b")  # noqa: SIM115 - held for the run
    except OSError as exc:
        raise ArchiveError(
            f"cannot open the lock file in {root}: {exc} (nothing was removed)"
        ) from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetentionRefusedError(
                f"another retention run is writing to {root}: try again when it has finished "
                "(nothing was removed)"
            ) from None
        yield
    finally:
        handle.close()


def discard(folder: Path) -> None:
    """Remove a run's folder that no receipt names (a run interrupted before its receipt)."""
    if folder.exists():
        shutil.rmtree(folder)


def write_segment(folder: Path, number: int, events: Iterable[ArchivedEvent]) -> SegmentInfo:
    """Write one segment, flushed to disk, then read it back whole; what the manifest names."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"segment-{number:06d}.ndjson.zst"
    final, partial = folder / name, folder / f"{name}.partial"
    count, first, last = 0, -1, -1
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as raw:
            hashing = _HashingWriter(raw, digest)
            with zstandard.ZstdCompressor(level=_LEVEL).stream_writer(
                hashing,  # type: ignore[arg-type]  # any object with write() will do
                closefd=False,
            ) as writer:
                for archived in events:
                    writer.write(_line(archived))
                    count += 1
                    first = archived.leaf_index if first < 0 else first
                    last = archived.leaf_index
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
        _sync_folder(folder)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write {final}: {exc} (nothing was removed)") from exc
    info = SegmentInfo(name, digest.hexdigest(), count, final.stat().st_size, first, last)
    check_segment(folder, info)
    return info


def check_segment(folder: Path, info: SegmentInfo) -> None:
    """``ArchiveDamagedError`` unless the segment has the manifest's SHA-256 and decodes to
    its number of events over its leaf range, each line a whole event."""
    path = folder / info.name
    count, expected = 0, info.first_index
    for archived in read_verified(folder, info):
        if archived.leaf_index != expected:
            raise ArchiveDamagedError(
                f"{path}: leaf {expected} expected, found {archived.leaf_index}"
            )
        count, expected = count + 1, expected + 1
    if count != info.events or (count and expected - 1 != info.last_index):
        raise ArchiveDamagedError(f"{path}: holds {count} events, the manifest says {info.events}")


def read_verified(folder: Path, info: SegmentInfo) -> Iterator[ArchivedEvent]:
    """The segment's events, read once and only if it has the manifest's SHA-256
    (``ArchiveDamagedError`` otherwise)."""
    path = folder / info.name
    data = _contents(path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != info.sha256:
        raise ArchiveDamagedError(
            f"{path}: its SHA-256 is {actual}, the manifest says {info.sha256}: the segment "
            "was altered or damaged"
        )
    return _read(path, data)


def read_segment(folder: Path, info: SegmentInfo) -> Iterator[ArchivedEvent]:
    """The segment's events as stored, unchecked (the verifier reads a damaged one too)."""
    path = folder / info.name
    return _read(path, _contents(path))


def _contents(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArchiveDamagedError(f"{path}: cannot be read: {exc}") from exc


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the run's manifest (flushed, renamed into place, read back)."""
    final, partial = folder / _MANIFEST, folder / f"{_MANIFEST}.partial"
    body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    try:
        with open(partial, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        _sync_folder(folder)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write {final}: {exc} (nothing was removed)") from exc
    if read_manifest(folder) != manifest:
        raise ArchiveDamagedError(f"{final} does not read back as written")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / _MANIFEST
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ArchiveDamagedError(f"{path}: cannot be read: {exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise ArchiveDamagedError(f"{path}: is not JSON: {exc}") from exc
    if type(document) is not dict or document.get("format") != FORMAT:
        raise ArchiveDamagedError(f"{path}: not a Chronicle archive manifest of format {FORMAT}")
    return document


def run_folders(root: Path) -> list[Path]:
    """The runs' folders in receipt order."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.glob("receipt-*") if path.is_dir())


def segments_of(manifest: dict[str, Any]) -> list[SegmentInfo]:
    return [SegmentInfo.from_dict(item) for item in manifest["receipt"]["segments"]]


def _line(archived: ArchivedEvent) -> bytes:
    return (
        orjson.dumps(
            {
                "leaf_index": archived.leaf_index,
                "held": archived.held,
                "event": archived.event.to_stored_dict(),  # ciphertext only
            }
        )
        + b"\n"
    )


def _read(path: Path, data: bytes) -> Iterator[ArchivedEvent]:
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
        lines = io.TextIOWrapper(reader, encoding="utf-8")
        for number, line in enumerate(lines, start=1):
            yield _archived(path, number, line)
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise ArchiveDamagedError(f"{path}: cannot be decoded: {exc}") from exc


def _archived(path: Path, number: int, line: str) -> ArchivedEvent:
    try:
        document = orjson.loads(line)
        return ArchivedEvent(
            _at_least(document["leaf_index"], 0, "leaf_index"),
            bool(document["held"]),
            event_from_document(document["event"]),
        )
    except (KeyError, TypeError, ValueError) as exc:  # orjson's errors are ValueErrors
        raise ArchiveDamagedError(f"{path}: line {number} is not an archived event: {exc}") from exc


class _HashingWriter(io.RawIOBase):
    """Passes bytes to ``raw`` and into ``digest``: the segment's SHA-256 as it is written."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self._raw, self._digest = raw, digest

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._digest.update(data)
        return int(self._raw.write(data))


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
