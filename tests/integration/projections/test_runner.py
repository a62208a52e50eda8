"""The async runner, inline projections and parking, on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from chronicle import EventStore, NewEvent
from chronicle.projections.inline import InlineProjections, ProjectionError
from chronicle.projections.runner import ProjectionRunner, ProjectionStoppedError
from tests.integration.projections.notes import (
    POISON,
    NoteCounts,
    Notes,
    expected_notes,
    notes_registry,
    read_notes,
)


@pytest.fixture(autouse=True)
def poison_is_active():
    POISON["active"] = True
    yield
    POISON["active"] = True


def add(store: EventStore, note: str, text: str, **kwargs) -> None:
    store.append(
        note,
        [NewEvent("NoteAdded", {"text": text})],
        expected_version=0,
        aggregate_type="Note",
        **kwargs,
    )


def edit(store: EventStore, note: str, text: str, **kwargs) -> None:
    store.append(
        note,
        [NewEvent("NoteEdited", {"text": text})],
        expected_version=None,
        aggregate_type="Note",
        **kwargs,
    )


def runner_for(store: EventStore, projection=Notes, **kwargs) -> ProjectionRunner:
    return ProjectionRunner(store, projection(notes_registry), sleep=lambda _: None, **kwargs)


def wait_until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        time.sleep(0.02)


@contextmanager
def running(runner: ProjectionRunner) -> Iterator[None]:
    """Let ``runner`` follow the log in a thread for the block."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_runner_catches_up_and_its_read_model_equals_one_built_from_the_log(
    store: EventStore,
) -> None:
    for number in range(30):
        add(store, f"note_{number}", f"first {number}")
    for number in range(0, 30, 3):
        edit(store, f"note_{number}", f"second {number}")
    runner = runner_for(store, batch_size=7)
    assert runner.catch_up() == 40
    assert read_notes(store) == expected_notes(store.get_all_events(limit=1000))
    assert runner.checkpoint() == store.get_all_events(limit=1000)[-1].position
    assert runner.run_once() == 0


def test_events_of_types_a_projection_does_not_handle_only_move_its_checkpoint(
    store: EventStore,
) -> None:
    add(store, "note_a", "hello")
    store.append(
        "user_a",
        [NewEvent("UserCreated", {"username": "a"})],
        expected_version=0,
        aggregate_type="User",
    )
    runner = runner_for(store)
    assert runner.catch_up() == 2
    assert read_notes(store) == {"note_a": ("hello", 0, 1)}


def test_two_runners_of_one_projection_never_apply_an_event_twice(store: EventStore) -> None:
    for number in range(50):
        add(store, f"note_{number % 5}_{number}", "x")
        edit(store, f"note_{number % 5}_{number}", "y")
    first, second = (
        runner_for(store, NoteCounts, batch_size=9),
        runner_for(store, NoteCounts, batch_size=4),
    )
    while first.run_once() + second.run_once():
        pass
    with store.session() as session:
        counts = dict(session.fetchall("SELECT id, applied FROM note_counts"))
    assert set(counts.values()) == {2}
    assert len(counts) == 50


def test_an_inline_projection_is_up_to_date_when_the_append_returns(store: EventStore) -> None:
    inline = InlineProjections([Notes(notes_registry)])
    inline.ensure_tables(store)
    add(store, "note_a", "hello", inline=inline)
    edit(store, "note_a", "hello again", inline=inline)
    assert read_notes(store) == {"note_a": ("hello again", 1, 2)}


def test_a_failing_inline_projection_rolls_the_append_back(store: EventStore) -> None:
    inline = InlineProjections([Notes(notes_registry)])
    inline.ensure_tables(store)
    add(store, "note_a", "fine", inline=inline)
    with pytest.raises(ProjectionError):
        edit(store, "note_a", "poison pill", inline=inline)
    assert store.get_aggregate_version("note_a") == 1
    assert read_notes(store) == {"note_a": ("fine", 0, 1)}


def test_a_poison_event_is_parked_with_the_later_events_of_its_aggregate(store: EventStore) -> None:
    add(store, "note_a", "fine")
    edit(store, "note_a", "poison pill")
    edit(store, "note_a", "after the poison")
    add(store, "note_b", "unaffected")
    attempts: list[float] = []
    runner = ProjectionRunner(store, Notes(notes_registry), max_attempts=3, sleep=attempts.append)
    runner.catch_up()

    assert read_notes(store) == {"note_a": ("fine", 0, 1), "note_b": ("unaffected", 0, 1)}
    assert attempts == [0.05, 0.1]  # exponential backoff between the three attempts
    from chronicle.projections import parking

    with store.session() as session:
        parked = parking.parked(session, "notes")
    assert [(entry.aggregate_id, entry.attempts) for entry in parked] == [
        ("note_a", 3),
        ("note_a", 0),
    ]
    assert "cannot digest" in parked[0].error

    POISON["active"] = False
    assert runner.retry_parked() == (2, 0)
    assert read_notes(store) == expected_notes(store.get_all_events(limit=100))
    edit(store, "note_a", "later still")
    runner.catch_up()
    assert read_notes(store)["note_a"] == ("later still", 3, 4)


def test_a_projection_with_the_stop_policy_stops_at_a_poison_event(store: EventStore) -> None:
    add(store, "note_a", "poison")
    add(store, "note_b", "after")
    runner = runner_for(store, max_attempts=2, on_failure="stop")
    runner.catch_up()
    with pytest.raises(ProjectionStoppedError):
        runner.run_once()
    assert read_notes(store) == {}
    POISON["active"] = False
    runner.retry_parked()
    runner.catch_up()
    assert read_notes(store) == expected_notes(store.get_all_events(limit=100))


def test_an_event_a_projection_does_not_handle_never_stops_it_even_if_it_does_not_decode(
    store: EventStore,
) -> None:
    # A NoteAdded without its "text" cannot become a NoteAdded object; NoteCounts-like
    # projections that do not handle the type must not care.
    from chronicle.projections.projection import Projection, Table

    class NothingButEdits(Projection):
        name = "edits_only"
        tables = (Table("edits_only", "id TEXT PRIMARY KEY"),)

    store.append(
        "note_bad", [NewEvent("NoteAdded", {"wrong": 1})], expected_version=0, aggregate_type="Note"
    )
    runner = ProjectionRunner(store, NothingButEdits(notes_registry), sleep=lambda _: None)
    assert runner.catch_up() == 1
    from chronicle.projections import parking

    with store.session() as session:
        assert parking.parked(session, "edits_only") == []


def test_a_running_runner_applies_what_is_appended_while_it_follows(store: EventStore) -> None:
    add(store, "note_a", "before")
    runner = runner_for(store, batch_size=3)
    with running(runner):
        for number in range(10):
            add(store, f"note_{number}_later", "while running")
        edit(store, "note_a", "edited while running")
        wait_until(
            lambda: read_notes(store) == expected_notes(store.get_all_events(limit=100)),
            "the read model to catch up",
        )
    assert read_notes(store)["note_a"] == ("edited while running", 1, 2)
    assert runner.checkpoint() == store.read_all(limit=100)[-1].position


def test_a_running_runner_stopped_by_its_policy_goes_on_once_its_parked_events_are_retried(
    store: EventStore,
) -> None:
    add(store, "note_a", "poison")
    add(store, "note_b", "after")
    runner = runner_for(store, max_attempts=1, on_failure="stop")
    with running(runner):
        wait_until(lambda: runner.stopped_reason is not None, "the stop at the poison event")
        assert read_notes(store) == {}
        POISON["active"] = False
        assert runner.retry_parked() == (1, 0)
        wait_until(lambda: "note_b" in read_notes(store), "the runner to go on")
    assert read_notes(store) == expected_notes(store.get_all_events(limit=100))
