"""Rebuilding read models from the log, with readers and writers carrying on."""

from __future__ import annotations

import random
import threading

import pytest

from chronicle import EventStore, NewEvent
from chronicle.projections.inline import InlineProjections
from chronicle.projections.rebuild import rebuild
from chronicle.projections.runner import ProjectionRunner
from tests.integration.projections.notes import Notes, expected_notes, notes_registry, read_notes


def write_notes(
    store: EventStore, count: int, *, prefix: str = "note", inline=None, seed: int = 1
) -> None:
    rng = random.Random(seed)
    ids = []
    for number in range(count):
        if ids and rng.random() < 0.5:
            note = rng.choice(ids)
            store.append(
                note,
                [NewEvent("NoteEdited", {"text": f"edit {number}"})],
                expected_version=None,
                aggregate_type="Note",
                inline=inline,
            )
        else:
            note = f"{prefix}_{number}"
            ids.append(note)
            store.append(
                note,
                [NewEvent("NoteAdded", {"text": f"add {number}"})],
                expected_version=0,
                aggregate_type="Note",
                inline=inline,
            )


def everything(store: EventStore) -> list:
    return store.get_all_events(limit=100_000)


def test_a_rebuild_equals_the_incremental_build(store: EventStore) -> None:
    write_notes(store, 300)
    runner = ProjectionRunner(store, Notes(notes_registry))
    runner.catch_up()
    incremental = read_notes(store)
    result = rebuild(store, Notes, notes_registry, mode="async", batch_size=64)
    assert result.events == 300
    assert read_notes(store) == incremental == expected_notes(everything(store))
    assert runner.run_once() == 0  # the live checkpoint moved with the swap
    write_notes(store, 10, prefix="later", seed=2)
    runner.catch_up()
    assert read_notes(store) == expected_notes(everything(store))


def test_a_rebuild_can_run_again_and_keeps_its_indexes(store: EventStore) -> None:
    write_notes(store, 50)
    for _ in range(2):
        rebuild(store, Notes, notes_registry, mode="async", batch_size=16)
    assert read_notes(store) == expected_notes(everything(store))
    with store.session() as session:
        if session.backend == "sqlite":
            names = {
                row[0]
                for row in session.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")
            }
        else:
            names = {
                row[0]
                for row in session.fetchall(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                )
            }
    assert "notes_by_text" in names


def test_an_interrupted_rebuild_resumes_and_finishes(store: EventStore) -> None:
    write_notes(store, 200)
    calls = []

    def interrupt_after_two_batches(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(
            store,
            Notes,
            notes_registry,
            mode="async",
            batch_size=50,
            progress=interrupt_after_two_batches,
        )
    assert read_notes(store) == {}  # readers still see the old (here: empty) read model
    result = rebuild(store, Notes, notes_registry, mode="async", batch_size=50)
    assert result.events == 100  # only what the first run had not applied
    assert read_notes(store) == expected_notes(everything(store))


@pytest.mark.parametrize("mode", ["inline", "async"])
def test_a_rebuild_during_concurrent_writes_misses_nothing_and_readers_never_see_it_empty(
    store: EventStore, mode: str
) -> None:
    inline = InlineProjections([Notes(notes_registry)]) if mode == "inline" else None
    if inline:
        inline.ensure_tables(store)
    write_notes(store, 200, inline=inline)
    runner = ProjectionRunner(store, Notes(notes_registry))
    if mode == "async":
        runner.catch_up()
    floor = len(read_notes(store))
    stop = threading.Event()
    smallest_seen = [floor]

    def read_continuously() -> None:
        while not stop.is_set():
            smallest_seen[0] = min(smallest_seen[0], len(read_notes(store)))

    def follow() -> None:
        runner.run(stop, poll_interval=0.05)

    threads = [threading.Thread(target=read_continuously)]
    if mode == "async":
        threads.append(threading.Thread(target=follow))
    writers = [
        threading.Thread(
            target=write_notes,
            args=(store, 100),
            kwargs={"prefix": f"w{n}", "inline": inline, "seed": n},
        )
        for n in range(3)
    ]
    for thread in threads + writers:
        thread.start()
    rebuild(store, Notes, notes_registry, mode=mode, batch_size=40)  # type: ignore[arg-type]
    for thread in writers:
        thread.join()
    if mode == "async":
        runner.catch_up()
    stop.set()
    for thread in threads:
        thread.join()

    assert smallest_seen[0] >= floor
    assert read_notes(store) == expected_notes(everything(store))


def test_rebuilding_several_read_models_reads_the_log_once_and_swaps_each_in(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronicle.projections.rebuild import rebuild_all
    from tests.integration.projections.notes import NoteCounts

    write_notes(store, 200)
    reads: list[int | None] = []
    read_all = store.read_all

    def counted(after: int | None = None, limit: int = 1000) -> list:
        reads.append(after)
        return read_all(after=after, limit=limit)

    monkeypatch.setattr(store, "read_all", counted)
    results = rebuild_all(
        store, [(Notes, "async"), (NoteCounts, "async")], notes_registry, batch_size=64
    )
    monkeypatch.undo()
    assert [(result.projection, result.events) for result in results] == [
        ("notes", 200),
        ("note_counts", 200),
    ]
    # 200 events in pages of 64: four reads fill both, one more each finds nothing at the swap.
    assert len(reads) == 4 + 2
    assert read_notes(store) == expected_notes(everything(store))
    with store.read_session() as session:
        counts = dict(session.fetchall("SELECT id, applied FROM note_counts", {}))
    assert counts == {note: 1 + edits for note, (_, edits, _) in read_notes(store).items()}


def test_read_models_whose_rebuilds_stopped_apart_each_resume_from_their_own_checkpoint(
    store: EventStore,
) -> None:
    from chronicle.projections.rebuild import rebuild_all
    from tests.integration.projections.notes import NoteCounts

    write_notes(store, 100)

    def interrupt_after_one_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # notes stops after its first batch, alone
        rebuild(
            store,
            Notes,
            notes_registry,
            mode="async",
            batch_size=30,
            progress=interrupt_after_one_batch,
        )
    results = rebuild_all(
        store, [(Notes, "async"), (NoteCounts, "async")], notes_registry, batch_size=30
    )
    assert [(result.projection, result.events) for result in results] == [
        ("notes", 70),
        ("note_counts", 100),
    ]
    assert read_notes(store) == expected_notes(everything(store))
