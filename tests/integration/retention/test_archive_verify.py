"""``chronicle archive verify`` and archived history, on both SQL backends: an archive written
by two retention runs verifies from its files alone, every file damaged or rewritten in it is
named, and the history of an aggregate reads back from its first version."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import zstandard

from chronicle import EventStore
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.events import RecordedEvent
from chronicle.integrity.chains import expected_hash
from chronicle.integrity.keys import key_id
from chronicle.integrity.signing import SigningKey, load_signing_key, new_signing_key_text
from chronicle.retention.archive_check import ArchiveReport, archived_history, verify_archive
from chronicle.retention.holds import active_holds, place_hold, release_hold
from chronicle.retention.run import Retention
from chronicle.store.integrity import GENESIS
from tests.integration.cli.subprocesses import run_chronicle, store_env, wait_until
from tests.support.old_history import a_year_of_chat, message_id, sealed_whole, ticket_id

pytestmark = pytest.mark.needs("retention")

NOW = datetime.now(UTC)
START = NOW - timedelta(days=400)
FIRST_RUN = START + timedelta(days=365 + 120)  # archives the first 120 days of the year
SECOND_RUN = START + timedelta(days=365 + 240)  # then the next 120
HELD = ticket_id(0)  # held during the first run, released before the second
KEY = load_signing_key(new_signing_key_text())


@dataclass
class Archive:
    store: EventStore
    root: Path
    before: dict[str, list[RecordedEvent]]
    """Every aggregate's events as the store held them before retention."""

    def receipt(self, number: int) -> Path:
        return self.root / f"receipt-{number:06d}"

    def manifest(self, number: int) -> dict:
        return json.loads((self.receipt(number) / "manifest.json").read_text())

    def write_manifest(self, number: int, manifest: dict) -> None:
        (self.receipt(number) / "manifest.json").write_text(json.dumps(manifest, indent=2))


def archive_a_year(store: EventStore, root: Path, key: SigningKey | None = None) -> Archive:
    """A year of chat, sealed, then two retention runs (one aggregate on hold during the
    first): most of its first 240 days move to two receipts of ``root``."""
    a_year_of_chat(store, START)
    before: dict[str, list[RecordedEvent]] = {}
    for event in store.read_all(limit=100_000):
        before.setdefault(event.aggregate_id, []).append(event)
    hold = place_hold(store, "aggregate", HELD, "litigation", placed_by=None)
    holds_seen(store, 1)
    sealed_whole(store)
    retention = Retention(
        store,
        retention_days=365,
        archive_dir=root,
        aggregates=CHAT_AGGREGATES,
        default_folder=True,
        signing_key=key,
    )
    assert retention.run(FIRST_RUN, force=True).held > 0
    release_hold(store, hold.hold_id, "settled", released_by=None)
    holds_seen(store, 0)
    sealed_whole(store)
    assert retention.run(SECOND_RUN, force=True).released > 0
    return Archive(store, root, before)


def holds_seen(store: EventStore, count: int) -> None:
    """Wait until the hold events are readable: on PostgreSQL ``search_events`` (which
    ``active_holds`` folds) stops below every Chronicle writer still running on the server,
    those of other test sessions too."""
    wait_until(lambda: len(active_holds(store)) == count, f"{count} active hold(s)", 30)


@pytest.fixture
def archived(store: EventStore, tmp_path: Path) -> Archive:
    return archive_a_year(store, tmp_path / "archive")


@pytest.fixture
def signed(store: EventStore, tmp_path: Path) -> Archive:
    return archive_a_year(store, tmp_path / "archive", KEY)


def problems(report: ArchiveReport) -> list[tuple[str, str | None]]:
    return [(problem.kind, problem.path) for problem in report.problems]


def segment(archive: Archive, number: int = 1) -> Path:
    return archive.receipt(number) / "segment-000001.ndjson.zst"


def lines_of(path: Path) -> list[dict]:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes()))
    return [orjson.loads(line) for line in io.TextIOWrapper(reader, encoding="utf-8")]


def rewrite(archive: Archive, number: int, lines: list[dict]) -> None:
    """What an attacker with write access does: a new segment, its SHA-256 and size written
    into the manifest so the file checks pass."""
    path = segment(archive, number)
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    path.write_bytes(zstandard.ZstdCompressor(level=9).compress(body))
    manifest = archive.manifest(number)
    [entry] = manifest["receipt"]["segments"]
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    entry["bytes"] = path.stat().st_size
    archive.write_manifest(number, manifest)


def changed_message(archive: Archive, lines: list[dict]) -> tuple[int, dict]:
    """The first archived message that was never edited, its content changed in ``lines``."""
    for index, line in enumerate(lines):
        event = line["event"]
        if (
            event["event_type"] == "MessageCreated"
            and len(archive.before[event["aggregate_id"]]) == 1
        ):
            event["data"] = {**event["data"], "content": "nothing was said"}
            return index, line
    raise AssertionError("no message to change")


# -- intact ---------------------------------------------------------------------------------------


def test_an_archive_of_two_runs_verifies_intact_from_its_files_alone(archived: Archive) -> None:
    report = verify_archive(archived.root)
    assert problems(report) == [] and report.intact
    assert report.receipts == 2 and report.recomputed == 2 and report.segments == 2
    assert report.events == report.tree_size == archived.manifest(2)["receipt"]["tree"]["size"]
    assert report.held == archived.manifest(1)["receipt"]["counts"]["held"] > 0


def test_the_archive_agrees_with_the_receipts_cuts_and_tree_the_store_records(
    archived: Archive,
) -> None:
    report = verify_archive(archived.root, store=archived.store)
    assert problems(report) == [] and report.with_store


def test_a_receipt_changed_in_its_manifest_differs_from_the_store_and_is_named(
    archived: Archive,
) -> None:
    manifest = archived.manifest(1)
    manifest["receipt"]["cutoff"] = NOW.isoformat()  # covered by no hash when unsigned
    archived.write_manifest(1, manifest)

    assert verify_archive(archived.root).intact
    report = verify_archive(archived.root, store=archived.store)
    assert problems(report) == [("store_mismatch", str(archived.receipt(1) / "manifest.json"))]


def test_a_seal_kept_outside_whose_tree_size_the_archive_reaches_must_match_it(
    archived: Archive,
) -> None:
    tree = archived.manifest(1)["receipt"]["tree"]
    latest = archived.store.latest_seal()
    assert latest is not None
    at_cut = replace(
        latest,
        event_count=tree["size"],
        root=bytes.fromhex(tree["root"]),
        head=bytes.fromhex(tree["head"]),
    )
    report = verify_archive(archived.root, evidence=[at_cut])
    assert report.intact and report.evidence_seals == 1

    forged = replace(at_cut, root=bytes(32))
    report = verify_archive(archived.root, evidence=[forged])
    assert [problem.kind for problem in report.problems] == ["seal_mismatch"]


# -- damage and tampering -------------------------------------------------------------------------


def test_a_segment_with_one_byte_flipped_is_named(archived: Archive) -> None:
    path = segment(archived, 1)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    report = verify_archive(archived.root)
    assert not report.intact
    assert problems(report)[0] == ("segment_damaged", str(path))
    assert f"{path}: its SHA-256 is" in report.problems[0].message


@pytest.mark.parametrize("field", ["position", "version", "leaf_index"])
def test_a_segment_decoding_to_an_impossible_number_is_named_damaged(
    archived: Archive, field: str
) -> None:
    """A flipped byte can leave a segment that still decodes, to a negative position say."""
    lines = lines_of(segment(archived, 1))
    where = lines[0] if field == "leaf_index" else lines[0]["event"]
    where[field] = -3
    rewrite(archived, 1, lines)

    report = verify_archive(archived.root)
    assert not report.intact
    assert problems(report)[0] == ("segment_damaged", str(segment(archived, 1)))
    assert f"{field} -3 is below" in report.problems[0].message


def test_an_event_changed_and_its_segment_rehashed_in_the_manifest_is_caught_by_its_hash(
    archived: Archive,
) -> None:
    lines = lines_of(segment(archived, 1))
    index, line = changed_message(archived, lines)
    rewrite(archived, 1, lines)

    report = verify_archive(archived.root)
    [problem] = report.problems
    assert problem.kind == "event_altered" and problem.path == str(segment(archived, 1))
    assert problem.leaf == line["leaf_index"] == index
    assert problem.position == line["event"]["position"]
    assert f"leaf {index} (position {problem.position}" in problem.message


def test_an_event_changed_and_hashed_again_is_caught_by_the_log_chain_and_merkle_root(
    archived: Archive,
) -> None:
    lines = lines_of(segment(archived, 1))
    _, line = changed_message(archived, lines)
    event = archived.before[line["event"]["aggregate_id"]][0]
    forged = replace(event, data=line["event"]["data"])
    line["event"]["hash"] = expected_hash(forged, GENESIS).hex()  # the attacker knows how
    rewrite(archived, 1, lines)

    report = verify_archive(archived.root)
    manifest = str(archived.receipt(1) / "manifest.json")
    later = str(archived.receipt(2) / "manifest.json")
    assert sorted(problems(report)) == [
        ("heads_mismatch", manifest),  # the head kept for the message has its real hash
        ("tree_mismatch", manifest),  # log chain head
        ("tree_mismatch", manifest),  # Merkle root
        ("tree_mismatch", later),  # and so every later receipt's
        ("tree_mismatch", later),
    ]
    assert any("hash to Merkle root" in problem.message for problem in report.problems)


def test_a_signed_receipt_whose_segment_hash_was_rewritten_fails_its_signature(
    signed: Archive,
) -> None:
    trusted = {key_id(KEY.public): KEY.public}
    assert verify_archive(signed.root, trusted_keys=trusted).intact

    lines = lines_of(segment(signed, 1))
    changed_message(signed, lines)
    rewrite(signed, 1, lines)

    report = verify_archive(signed.root, trusted_keys=trusted)
    manifest = str(signed.receipt(1) / "manifest.json")
    assert ("receipt_altered", manifest) in problems(report)
    assert ("event_altered", str(segment(signed, 1))) in problems(report)
    assert any("signature does not verify" in problem.message for problem in report.problems)


def test_unsigned_receipts_are_a_problem_when_trusted_keys_are_given(archived: Archive) -> None:
    report = verify_archive(archived.root, trusted_keys={key_id(KEY.public): KEY.public})
    assert not report.intact
    assert sum("unsigned although keys are trusted" in p.message for p in report.problems) == 2
    assert any("2 receipt(s) are unsigned" in w for w in verify_archive(archived.root).warnings)


def test_a_deleted_segment_is_named(archived: Archive) -> None:
    path = segment(archived, 1)
    path.unlink()

    report = verify_archive(archived.root)
    assert problems(report) == [("segment_missing", str(path))]
    assert report.recomputed == 0
    assert any(f"{path} is missing" in warning for warning in report.warnings)


def test_a_deleted_manifest_is_named(archived: Archive) -> None:
    for number in (1, 2):
        path = archived.receipt(number) / "manifest.json"
        path.unlink()
        report = verify_archive(archived.root)
        assert ("manifest_missing", str(path)) in problems(report)


def test_a_deleted_receipt_folder_breaks_the_numbering_and_the_store_names_it(
    archived: Archive,
) -> None:
    for path in archived.receipt(2).iterdir():
        path.unlink()
    archived.receipt(2).rmdir()

    assert verify_archive(archived.root).intact  # a shorter archive is still a consistent one
    report = verify_archive(archived.root, store=archived.store)
    assert problems(report) == [("store_mismatch", str(archived.receipt(2)))]


def test_a_folder_of_a_run_interrupted_before_its_receipt_is_only_a_warning_against_the_store(
    archived: Archive,
) -> None:
    leftover = archived.root / "receipt-000003"
    leftover.mkdir()
    (leftover / "segment-000001.ndjson.zst.partial").write_bytes(b"half a segment")

    report = verify_archive(archived.root, store=archived.store)
    assert report.intact and report.receipts == 2
    assert any("a run interrupted before its receipt" in w for w in report.warnings)
    assert problems(verify_archive(archived.root)) == [
        ("manifest_missing", str(leftover / "manifest.json"))
    ]


# -- archived history -----------------------------------------------------------------------------


def test_archived_history_and_the_store_together_are_every_aggregate_s_full_history(
    archived: Archive,
) -> None:
    split = 0
    for aggregate_id, events in archived.before.items():
        early = archived_history(archived.root, aggregate_id)
        hot = archived.store.get_events_for_aggregate(aggregate_id)
        assert [e.to_dict() for e in early] == [e.to_dict() for e in events[: len(early)]]
        rest = [e for e in hot if e.version > len(early)]
        assert [e.version for e in early + rest] == [e.version for e in events]
        split += bool(early and rest)
    assert split > 0  # aggregates whose history is part archive, part store
    assert [e.version for e in archived_history(archived.root, HELD)] == [1, 2]


def test_archived_history_of_an_aggregate_never_archived_is_empty(archived: Archive) -> None:
    assert archived_history(archived.root, message_id(10_000)) == []


# -- the commands ---------------------------------------------------------------------------------


def test_archive_verify_exits_0_when_intact_and_1_naming_the_damaged_segment(
    archived: Archive, store_url: str
) -> None:
    env = store_env(store_url, CHRONICLE_ARCHIVE_DIR=str(archived.root))
    done = run_chronicle("archive", "verify", env=env)
    assert done.returncode == 0, done.stderr
    assert "intact" in done.stdout and "2 receipt(s)" in done.stdout

    done = run_chronicle("archive", "verify", str(archived.root), "--with-store", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["with_store"] is True

    path = segment(archived, 2)
    path.write_bytes(path.read_bytes()[:-7])
    done = run_chronicle("archive", "verify", str(archived.root), env=env)
    assert done.returncode == 1
    assert "DAMAGED" in done.stdout and str(path) in done.stdout

    done = run_chronicle("archive", "verify", str(archived.root / "nowhere"), env=env)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_history_include_archive_shows_version_1_and_where_the_store_s_history_starts(
    archived: Archive, store_url: str
) -> None:
    aggregate_id = next(
        aggregate_id
        for aggregate_id, events in archived.before.items()
        if aggregate_id.startswith("message_")
        and (hot := archived.store.get_events_for_aggregate(aggregate_id))
        and hot[0].version > 1
    )
    full = archived.before[aggregate_id]
    hot_from = archived.store.get_events_for_aggregate(aggregate_id)[0].version
    env = store_env(store_url, CHRONICLE_ARCHIVE_DIR=str(archived.root))

    done = run_chronicle("history", aggregate_id, "--include-archive", "--json", env=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert [e["version"] for e in shown["events"]] == [e.version for e in full]
    assert shown["events"][0]["created"] and shown["events"][0]["source"] == "archive"
    assert shown["events"][-1]["source"] == "store"
    assert shown["hot_from_version"] == hot_from == shown["archived_versions"] + 1

    done = run_chronicle("history", aggregate_id, "--include-archive", env=env)
    assert done.returncode == 0, done.stderr
    assert "MessageCreated (created)" in done.stdout
    assert f"the store's history starts at version {hot_from}" in done.stdout

    done = run_chronicle("archive", "read", aggregate_id, "--json", env=env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["version"] for line in lines] == list(range(1, hot_from))
    assert lines[0]["hash"] == full[0].hash.hex()
