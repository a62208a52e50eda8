"""The repository on every backend: load, save with the expected version, retries, snapshots."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest

from chronicle import ConcurrencyError, EventStore, NewEvent, Snapshot, UnknownAggregateError
from chronicle.bootstrap import open_repository
from chronicle.chat.domain import Message, MessageDeletedError, Ticket, User, new_id
from chronicle.config import load_settings
from chronicle.errors import AggregateTypeError, InvalidEventError
from chronicle.events import Replay
from chronicle.integrity import Sealer
from chronicle.integrity.attestation import SnapshotAttestor, replay_from
from chronicle.repository import Repository, load_aggregate
from chronicle.store.ports import InlineHandler


def saved_message(repository: Repository[Message], edits: int = 0) -> Message:
    message = Message.create("hello", "alice")
    repository.save(message)
    for n in range(edits):
        message.edit(f"edit {n}")
        repository.save(message)
    return message


def test_a_saved_aggregate_loads_back_with_the_same_state_and_version(store: EventStore) -> None:
    repository = Repository(store, Ticket)
    ticket = Ticket.create("Bug", new_id("Project"), priority="high")
    ticket.assign(new_id("User"), new_id("User"))
    ticket.change_status("in_progress")
    recorded = repository.save(ticket, user_id="user_alice", correlation_id="req-1")
    assert [event.version for event in recorded] == [1, 2, 3]
    assert {event.correlation_id for event in recorded} == {"req-1"}
    assert {event.user_id for event in recorded} == {"user_alice"}
    assert ticket.pending_events == []
    loaded = repository.load(ticket.id)
    assert loaded.state() == ticket.state() and loaded.version == 3


def test_saving_several_pending_events_is_one_atomic_append(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = Message.create("hello", "alice")
    message.edit("edited")
    message.delete()
    recorded = repository.save(message)
    assert len({event.timestamp for event in recorded}) == 1  # one append stamps one instant
    assert len({event.correlation_id for event in recorded}) == 1
    assert store.get_event_count(message.id) == 3


def test_a_save_from_a_stale_load_raises_a_conflict_and_writes_nothing(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    first, second = repository.load(message.id), repository.load(message.id)
    first.edit("first")
    repository.save(first)
    second.edit("second")
    with pytest.raises(ConcurrencyError) as caught:
        repository.save(second)
    assert caught.value.expected_version == 1 and caught.value.actual_version == 2
    assert repository.load(message.id).content == "first"
    assert store.get_event_count(message.id) == 2


def test_execute_reruns_the_command_on_a_fresh_load_after_a_conflict(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    rival = repository.load(message.id)
    calls: list[int] = []

    def edit(loaded: Message) -> None:
        calls.append(loaded.version)
        if len(calls) == 1:  # another writer commits between this load and this save
            rival.edit("rival")
            repository.save(rival)
        loaded.edit(loaded.content + " +mine")

    result = repository.execute(message.id, edit, user_id="user_bob")
    assert calls == [1, 2] and result.attempts == 2
    assert repository.load(message.id).content == "rival +mine"
    assert [event.user_id for event in result.events] == ["user_bob"]


def test_execute_gives_up_after_the_given_number_of_conflicts(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    attempts: list[int] = []

    def always_beaten(loaded: Message) -> None:
        attempts.append(1)
        rival = repository.load(message.id)
        rival.edit(f"rival {len(attempts)}")
        repository.save(rival)
        loaded.edit("mine")

    with pytest.raises(ConcurrencyError):
        repository.execute(message.id, always_beaten, attempts=3)
    assert len(attempts) == 3
    assert repository.load(message.id).content == "rival 3"


def test_execute_does_not_retry_a_command_that_breaks_a_domain_rule(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    message.delete()
    repository.save(message)
    with pytest.raises(MessageDeletedError):
        repository.execute(message.id, lambda loaded: loaded.edit("again"))
    assert store.get_event_count(message.id) == 2


def test_execute_at_the_expected_version_runs_the_command_once(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository, edits=1)
    result = repository.execute(message.id, lambda m: m.edit("third"), expected_version=2)
    assert result.attempts == 1 and [event.version for event in result.events] == [3]


def test_execute_at_a_stale_expected_version_refuses_before_the_command_runs(
    store: EventStore,
) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository, edits=1)
    calls: list[int] = []
    with pytest.raises(ConcurrencyError) as caught:
        repository.execute(message.id, lambda m: calls.append(m.version), expected_version=1)
    assert (caught.value.expected_version, caught.value.actual_version) == (1, 2)
    assert calls == [] and store.get_event_count(message.id) == 2


def test_execute_with_an_expected_version_does_not_retry_a_conflict(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    rival = repository.load(message.id)
    calls: list[int] = []

    def edit(loaded: Message) -> None:
        calls.append(loaded.version)
        rival.edit("rival")
        repository.save(rival)
        loaded.edit("mine")

    with pytest.raises(ConcurrencyError):
        repository.execute(message.id, edit, expected_version=1)
    assert calls == [1]
    assert repository.load(message.id).content == "rival"


def test_execute_refuses_an_expected_version_that_is_not_a_whole_number(
    store: EventStore,
) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository)
    with pytest.raises(InvalidEventError):
        repository.execute(message.id, lambda m: m.edit("x"), expected_version=-1)
    assert store.get_event_count(message.id) == 1


def test_a_saves_also_handler_runs_after_the_inline_one_with_the_same_events(
    store: EventStore,
) -> None:
    seen: list[tuple[str, list[int]]] = []

    def handler(name: str) -> InlineHandler:
        return lambda session, recorded: seen.append((name, [e.version for e in recorded]))

    repository = Repository(store, Message, inline=handler("inline"))
    message = Message.create("hello", "alice")
    message.edit("edited")
    repository.save(message, also=handler("also"))
    repository.execute(message.id, lambda m: m.edit("again"), also=handler("also"))
    assert seen == [("inline", [1, 2]), ("also", [1, 2]), ("inline", [3]), ("also", [3])]


def test_an_also_handler_runs_without_an_inline_one(store: EventStore) -> None:
    seen: list[int] = []
    repository = Repository(store, Message)
    repository.save(
        Message.create("hello", "alice"),
        also=lambda session, recorded: seen.extend(e.version for e in recorded),
    )
    assert seen == [1]


class Refused(Exception):
    """What a failing ``also`` handler raises in these tests."""


def test_a_failing_also_handler_rolls_the_save_back(store: EventStore) -> None:
    def refuse(session: object, recorded: object) -> None:
        raise Refused

    repository = Repository(store, Message)
    message = Message.create("hello", "alice")
    with pytest.raises(Refused):
        repository.save(message, also=refuse)
    assert store.get_event_count(message.id) == 0
    assert len(message.pending_events) == 1  # still unsaved: it can be saved again
    repository.save(message)
    assert store.get_event_count(message.id) == 1


def test_loading_an_unknown_aggregate_raises_a_typed_error(store: EventStore) -> None:
    with pytest.raises(UnknownAggregateError):
        Repository(store, Message).load(new_id("Message"))


def test_loading_an_aggregate_as_another_type_raises_a_typed_error(store: EventStore) -> None:
    message = saved_message(Repository(store, Message))
    with pytest.raises(AggregateTypeError):
        Repository(store, User).load(message.id)


def test_a_stored_v1_message_created_loads_as_v2(store: EventStore) -> None:
    message_id = new_id("Message")
    store.append(
        message_id,
        [
            NewEvent(
                "MessageCreated",
                {"content": "ping @bob", "username": "alice", "message_type": "text"},
                schema_version=1,
            )
        ],
        expected_version=0,
        aggregate_type="Message",
    )
    message = Repository(store, Message).load(message_id)
    assert message.mentions == ["bob"] and message.project_id is None
    stored = store.get_events_for_aggregate(message_id)[0]
    assert stored.schema_version == 1 and "mentions" not in stored.data  # never rewritten


# -- snapshots -------------------------------------------------------------------------------


def test_a_snapshot_is_stored_each_time_the_version_crosses_the_interval(store: EventStore) -> None:
    repository = Repository(store, Message, snapshot_interval=3)
    message = saved_message(repository, edits=7)  # versions 1..8
    snapshot = store.load_snapshot(message.id)
    assert snapshot is not None and snapshot.version == 6
    assert snapshot.state_schema_version == Message.STATE_SCHEMA_VERSION
    assert store.load_snapshot(message.id, max_version=5).version == 3  # type: ignore[union-attr]
    assert store.load_snapshot(message.id, max_version=2) is None


def test_a_save_of_several_events_snapshots_at_the_version_it_reaches(store: EventStore) -> None:
    repository = Repository(store, Message, snapshot_interval=2)
    message = Message.create("hello", "alice")
    message.edit("one")
    message.edit("two")
    repository.save(message)
    snapshot = store.load_snapshot(message.id)
    assert snapshot is not None and snapshot.version == 3
    assert snapshot.state == message.state()


def test_an_interval_of_zero_stores_no_snapshot(store: EventStore) -> None:
    message = saved_message(Repository(store, Message, snapshot_interval=0), edits=10)
    assert store.load_snapshot(message.id) is None


def test_open_repository_takes_the_interval_from_the_settings(
    make_store: Callable[..., EventStore],
) -> None:
    settings = load_settings(EVENT_STORE_SNAPSHOT_INTERVAL=2)
    repository = open_repository(make_store(), Message, settings=settings)
    assert repository.snapshot_interval == 2


class CountingReads:
    """The store, noting from which version each load reads an aggregate's events."""

    def __init__(self, store: EventStore) -> None:
        self.inner = store
        self.read_from: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        self.read_from.append(from_version)
        return self.inner.get_replay(aggregate_id, from_version, to_version)


def seal_and_attest(store: EventStore) -> None:
    """What the worker does: seal the log, then attest the snapshots it covers.

    On PostgreSQL the log holds back events behind any transaction still running on the server
    (another test's, too): wait until all are readable, so that the seal covers them.
    """
    deadline = time.monotonic() + 60
    while len(store.read_all(limit=100_000)) < store.get_event_count():
        assert time.monotonic() < deadline, "the log did not become readable"
        time.sleep(0.05)
    Sealer(store).run_once()
    SnapshotAttestor(store, replay_from(store, {"Message": Message})).run_once()


def test_loading_starts_from_an_attested_snapshot_and_applies_only_later_events(
    store: EventStore,
) -> None:
    repository = Repository(store, Message, snapshot_interval=4)
    message = saved_message(repository, edits=5)  # snapshot at 4, events up to 6
    seal_and_attest(store)
    counting = CountingReads(store)
    loaded = load_aggregate(counting, Message, message.id)  # type: ignore[arg-type]
    assert counting.read_from == [5]
    assert loaded.state() == message.state() and loaded.version == 6


def test_a_snapshot_nobody_attested_is_ignored_and_the_aggregate_replayed(
    store: EventStore,
) -> None:
    repository = Repository(store, Message, snapshot_interval=4)
    message = saved_message(repository, edits=5)
    seal_and_attest(store)
    snapshot = store.load_snapshot(message.id)
    assert snapshot is not None and snapshot.version == 4
    # A row inserted straight into the snapshot table, as anyone with INSERT could.
    store.save_snapshot(
        dataclasses.replace(
            snapshot, version=5, state={**snapshot.state, "username": "from-a-forged-row"}
        )
    )
    counting = CountingReads(store)
    loaded = load_aggregate(counting, Message, message.id)  # type: ignore[arg-type]
    assert loaded.username == "alice" and loaded.version == 6
    assert counting.read_from == [5]  # from the attested snapshot at 4, not the forged one


def test_a_snapshot_under_an_older_state_schema_is_ignored_not_misloaded(
    store: EventStore,
) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository, edits=2)
    store.save_snapshot(
        Snapshot(
            aggregate_id=message.id,
            aggregate_type="Message",
            version=3,
            state_schema_version=Message.STATE_SCHEMA_VERSION - 1,
            state={"text": "an old shape"},
        )
    )
    loaded = repository.load(message.id)
    assert loaded.state() == message.state() and loaded.version == 3


def test_an_older_valid_snapshot_is_used_when_the_newest_one_is_not(store: EventStore) -> None:
    repository = Repository(store, Message, snapshot_interval=2)
    message = saved_message(repository, edits=2)  # versions 1 to 3, a snapshot at 2
    seal_and_attest(store)
    store.save_snapshot(
        Snapshot(message.id, "Message", 3, 99, {"future": True})  # a shape this code cannot load
    )
    counting = CountingReads(store)
    loaded = load_aggregate(counting, Message, message.id)  # type: ignore[arg-type]
    assert counting.read_from == [3]
    assert loaded.state() == message.state() and loaded.version == 3


def test_a_loaded_message_has_the_mentions_of_its_last_content(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = Message.create("hi @bob", "alice")
    repository.save(message)
    for content in ("ask @carol", "no one", "thanks @Dave, @erin and @dave"):
        message.edit(content)
        repository.save(message)
    loaded = repository.load(message.id)
    assert loaded.mentions == ["dave", "erin"] == message.mentions
    assert loaded.state() == message.state() and loaded.version == message.version == 4
    at_two = load_aggregate(store, Message, message.id, to_version=2)
    assert at_two.mentions == ["carol"] and at_two.content == "ask @carol"


def test_the_replay_read_gives_what_the_full_read_gives_of_each_event(store: EventStore) -> None:
    repository = Repository(store, Message)
    message = saved_message(repository, edits=4)
    message.delete()
    repository.save(message)
    for from_version, to_version in ((0, None), (1, None), (3, None), (2, 4), (6, 6), (7, None)):
        full = store.get_events_for_aggregate(message.id, from_version, to_version)
        replay = store.get_replay(message.id, from_version, to_version)
        assert replay.aggregate_type == (full[0].aggregate_type if full else None)
        assert list(replay.changes) == [
            (event.event_type, event.schema_version, event.data) for event in full
        ]
        changes = list(replay.changes)
        assert [replay.changes[index] for index in range(len(full))] == changes
        assert list(replay.changes[1:]) == changes[1:] and len(replay.changes) == len(full)
    assert store.get_replay("message_" + "0" * 32).aggregate_type is None


def test_the_replay_read_checks_its_arguments_as_the_full_read_does(store: EventStore) -> None:
    for bad in ({"aggregate_id": "has space"}, {"from_version": -1}, {"to_version": "2"}):
        arguments: dict[str, object] = {"aggregate_id": "message_1", **bad}
        with pytest.raises(InvalidEventError):
            store.get_replay(**arguments)  # type: ignore[arg-type]
