"""A retention run killed (SIGKILL) at random points loses nothing: rerun, it completes or rolls
back, every event is in the store or in a verified segment, every aggregate loads as before."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.chat.wiring import snapshot_check
from chronicle.integrity import Verifier
from chronicle.repository import load_aggregate
from chronicle.retention import archive
from tests.integration.cli.subprocesses import run_chronicle, store_env
from tests.support.chat_history import sentence
from tests.support.old_history import sealed_whole
from tests.support.stores import chat_store

pytestmark = pytest.mark.needs("retention")

LONG_AGO = datetime.now(UTC) - timedelta(days=500)
LATER = (datetime.now(UTC) + timedelta(days=400)).isoformat()
ROUNDS = 5
MESSAGES = 400


def old_messages(store: EventStore, round_number: int, rng: random.Random) -> None:
    """``MESSAGES`` messages recorded long ago, a third of them edited."""
    at = LONG_AGO + timedelta(hours=round_number)
    for index in range(MESSAGES):
        message = f"message_{round_number:08x}{index:024x}"
        created = {"content": sentence(rng), "username": "ana", "message_type": "text"}
        events = [NewEvent("MessageCreated", created)]
        if index % 3 == 0:
            events.append(NewEvent("MessageUpdated", {"content": sentence(rng)}))
        store.import_events(message, events, expected_version=0, aggregate_type="Message",
                            user_id="user_" + "a" * 32, recorded_at=at)  # fmt: skip


def archived_events(root: Path) -> dict[str, bytes]:
    """Every event in a segment some manifest names, by id, with its hash; each segment read
    whole against its manifest's SHA-256."""
    found: dict[str, bytes] = {}
    for folder in archive.run_folders(root):
        if not (folder / "manifest.json").exists():
            continue
        for info in archive.segments_of(archive.read_manifest(folder)):
            archive.check_segment(folder, info)
            for item in archive.read_segment(folder, info):
                found[item.event.event_id] = item.event.hash
    return found


def test_a_retention_run_killed_at_random_points_loses_nothing(
    store_url: str, tmp_path: Path
) -> None:
    store = chat_store(store_url)  # as `chronicle retention` opens it: personal fields sealed
    rng = random.Random(20261201)
    root = tmp_path / "archive"
    root.mkdir()
    env = store_env(store_url, CHRONICLE_ARCHIVE_DIR=str(root))
    written: dict[str, bytes] = {}
    expected: dict[str, dict[str, object]] = {}
    for round_number in range(ROUNDS):
        old_messages(store, round_number, rng)
        sealed_whole(store)
        for event in store.read_all(limit=100_000):
            written.setdefault(event.event_id, event.hash)
            if event.aggregate_type == "Message":
                expected[event.aggregate_id] = load_aggregate(
                    store, CHAT_AGGREGATES["Message"], event.aggregate_id
                ).state()

        run = subprocess.Popen(
            [sys.executable, "-m", "chronicle", "retention", "--now", LATER, "--force"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 3.0))  # the interpreter starts in about half a second
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)

        done = run_chronicle("retention", "--now", LATER, "--force", env=env, timeout=300)
        assert done.returncode == 0, done.stderr

        hot = {event.event_id: event.hash for event in store.read_all(limit=100_000)}
        kept = archived_events(root)
        assert all(hot.get(event_id, kept.get(event_id)) == digest
                   for event_id, digest in written.items())  # fmt: skip
        for aggregate_id, state in expected.items():
            loaded = load_aggregate(store, CHAT_AGGREGATES["Message"], aggregate_id)
            assert loaded.state() == state, aggregate_id
        outcome = Verifier(store, snapshot_check=snapshot_check(store)).verify()
        assert outcome.intact, (round_number, outcome.problems)

    left = [e for e in store.read_all(limit=100_000) if e.aggregate_type == "Message"]
    assert left == []  # in the end every old message event left the store, none was lost
