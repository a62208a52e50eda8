"""A projection process killed with SIGKILL at random moments neither loses nor repeats events."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from chronicle import EventStore, NewEvent
from chronicle.projections.runner import ProjectionRunner
from tests.integration.cli.subprocesses import subprocess_env
from tests.integration.projections.notes import NoteCounts, notes_registry

ROOT = Path(__file__).resolve().parents[3]


def test_a_projection_killed_at_random_moments_applies_every_event_exactly_once(
    store: EventStore, store_url: str
) -> None:
    rng = random.Random(7)
    appended: dict[str, int] = {}
    for number in range(3000):
        note = f"note_{rng.randrange(60)}"
        kind = "NoteEdited" if note in appended else "NoteAdded"
        store.append(
            note,
            [NewEvent(kind, {"text": str(number)})],
            expected_version=None,
            aggregate_type="Note",
        )
        appended[note] = appended.get(note, 0) + 1

    last = max(event.position for event in store.get_all_events(limit=100_000))
    checkpoints = []
    for _ in range(6):
        current = store.get_checkpoint("projection.note_counts") or 0
        target = rng.randrange(current + 1, current + (last - current) // 3 + 2)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.projections.run_counts", store_url],
            cwd=ROOT,
            env=subprocess_env(),  # this tree's src first; cwd=ROOT makes tests importable
        )
        deadline = time.monotonic() + 60
        while (store.get_checkpoint("projection.note_counts") or 0) < target:
            assert time.monotonic() < deadline, "the projection process made no progress"
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))  # land anywhere in the batch that follows
        process.send_signal(signal.SIGKILL)
        process.wait()
        checkpoints.append(store.get_checkpoint("projection.note_counts") or 0)

    # Whatever state the kills left, a fresh runner finishes the job.
    ProjectionRunner(store, NoteCounts(notes_registry)).catch_up()
    with store.session() as session:
        counts = dict(session.fetchall("SELECT id, applied FROM note_counts"))
    mid_run = [position for position in checkpoints if 0 < position < last]
    assert len(mid_run) >= 2, f"the kills should land mid-run, checkpoints were {checkpoints}"
    assert counts == appended
