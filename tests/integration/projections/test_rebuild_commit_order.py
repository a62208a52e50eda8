"""A rebuild's swap never applies an aggregate's events out of order while writers commit.

On PostgreSQL a transaction takes its id before it commits: an aggregate's version 2 can commit
after events of higher transaction ids, and its version 3 after that. A swap that read the tail
of the log page by page then met version 3 before version 2 and the version guard dropped 2 for
good. Here that interleaving is forced (a trigger holds version 2's transaction on an advisory
lock, released between two pages the swap reads) while another session holds the snapshot
horizon back, as other clients of the server do. With the tail read page by page in the swap,
version 2 was lost; left to the runner, it is applied in order.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from chronicle import EventStore, NewEvent
from chronicle.projections.rebuild import rebuild
from chronicle.projections.runner import ProjectionRunner
from tests.integration.projections.notes import Notes, expected_notes, notes_registry, read_notes

HOLD_VERSION_TWO = """
CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242); RETURN NEW; END $$;
CREATE TRIGGER test_hold AFTER INSERT ON chronicle_events FOR EACH ROW
    WHEN (NEW.aggregate_id = 'note_x' AND NEW.version = 2) EXECUTE FUNCTION test_hold();
"""


def add(store: EventStore, note: str) -> None:
    store.append(
        note, [NewEvent("NoteAdded", {"text": note})], expected_version=0, aggregate_type="Note"
    )


def edit(store: EventStore, note: str, text: str) -> None:
    store.append(
        note, [NewEvent("NoteEdited", {"text": text})], expected_version=None, aggregate_type="Note"
    )


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_version_committed_late_during_the_swap_is_not_lost(
    store: EventStore, store_url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for note in ["note_x", *(f"note_{n}" for n in range(20))]:
        add(store, note)
    runner = ProjectionRunner(store, Notes(notes_registry))
    runner.catch_up()
    with (
        psycopg.connect(store_url, autocommit=True) as control,
        psycopg.connect(postgres_url) as horizon,
    ):
        control.execute(HOLD_VERSION_TWO)
        control.execute("SELECT pg_advisory_lock(4242)")
        horizon.execute("SELECT pg_current_xact_id()")  # an open transaction elsewhere
        late = threading.Thread(target=edit, args=(store, "note_x", "edit v2"))
        late.start()
        time.sleep(0.3)  # version 2 has its transaction id and waits on the lock
        for n in range(50):
            edit(store, f"note_{n % 20}", f"later {n}")

        released = threading.Event()
        real_read_visible = store.read_visible

        def release() -> None:  # version 2 commits, then its writer's version 3 does
            if not released.is_set():
                released.set()
                control.execute("SELECT pg_advisory_unlock(4242)")
                late.join()
                edit(store, "note_x", "edit v3")

        def read_visible(*args: object, **kwargs: object) -> list:
            page = real_read_visible(*args, **kwargs)  # type: ignore[arg-type]
            release()  # between two pages of a swap that reads the tail itself
            return page

        monkeypatch.setattr(store, "read_visible", read_visible)
        rebuild(store, Notes, notes_registry, mode="async", batch_size=40)  # type: ignore[arg-type]
        monkeypatch.undo()
        release()  # a swap that leaves the tail to the runner: the same commits, after it
        horizon.rollback()
    runner.catch_up()
    assert not late.is_alive()
    expected = expected_notes(store.get_all_events(limit=100_000))
    assert read_notes(store)["note_x"] == expected["note_x"] == ("edit v3", 2, 3)
    assert read_notes(store) == expected
