"""Time travel and audit history on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chronicle import EventStore, InvalidEventError, UnknownAggregateError
from chronicle.chat.domain import CHAT_AGGREGATES, Message, Project, new_id
from chronicle.errors import AggregateNotYetCreatedError
from chronicle.history import history, state_at, state_at_version
from chronicle.repository import Repository


def message_history(store: EventStore, snapshot_interval: int = 0) -> tuple[Message, list[dict]]:
    """A message saved one event per append, and its state after each version."""
    repository = Repository(store, Message, snapshot_interval=snapshot_interval)
    message = Message.create("v1 @ann", "alice")
    repository.save(message, user_id="user_alice")
    states = [message.state()]
    for text in ("v2 @bob", "v3", "v4 @cy"):
        message.edit(text)
        repository.save(message, user_id="user_bob")
        states.append(message.state())
    message.delete()
    repository.save(message)
    states.append(message.state())
    return message, states


@pytest.mark.parametrize("snapshot_interval", [0, 2])
def test_the_state_at_each_version_is_the_state_after_that_many_events(
    store: EventStore, snapshot_interval: int
) -> None:
    message, states = message_history(store, snapshot_interval)
    for version, expected in enumerate(states, start=1):
        result = state_at_version(store, CHAT_AGGREGATES, message.id, version)
        assert (result.version, result.state) == (version, expected)
        assert result.aggregate_type == "Message"
    assert state_at_version(store, CHAT_AGGREGATES, message.id).state == states[-1]


def test_the_state_at_each_events_timestamp_agrees_with_the_state_at_its_version(
    store: EventStore,
) -> None:
    message, states = message_history(store)
    for event in store.get_events_for_aggregate(message.id):
        result = state_at(store, CHAT_AGGREGATES, message.id, event.timestamp)
        assert result.version == event.version and result.state == states[event.version - 1]
        later = state_at(store, CHAT_AGGREGATES, message.id, event.timestamp + timedelta(0))
        assert later.state == result.state


def test_an_instant_after_the_last_event_gives_the_current_state(store: EventStore) -> None:
    message, states = message_history(store)
    in_paris = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris"))
    result = state_at(store, CHAT_AGGREGATES, message.id, in_paris + timedelta(days=1))
    assert result.version == 5 and result.state == states[-1]


def test_an_instant_before_the_first_event_says_the_aggregate_did_not_exist_yet(
    store: EventStore,
) -> None:
    message, _ = message_history(store)
    first = store.get_events_for_aggregate(message.id)[0].timestamp
    with pytest.raises(AggregateNotYetCreatedError, match="did not exist yet"):
        state_at(store, CHAT_AGGREGATES, message.id, first - timedelta(microseconds=1))


def test_a_naive_instant_is_refused(store: EventStore) -> None:
    message, _ = message_history(store)
    with pytest.raises(InvalidEventError, match="timezone"):
        state_at(store, CHAT_AGGREGATES, message.id, datetime(2030, 1, 1))


@pytest.mark.parametrize("version", [0, -1, 6])
def test_a_version_outside_the_history_is_refused(store: EventStore, version: int) -> None:
    message, _ = message_history(store)
    with pytest.raises(InvalidEventError):
        state_at_version(store, CHAT_AGGREGATES, message.id, version)


def test_time_travel_on_an_unknown_aggregate_raises_a_typed_error(store: EventStore) -> None:
    with pytest.raises(UnknownAggregateError):
        state_at_version(store, CHAT_AGGREGATES, new_id("Ticket"), 1)
    with pytest.raises(UnknownAggregateError):
        history(store, CHAT_AGGREGATES, new_id("Ticket"))


def test_history_lists_who_did_which_event_when_and_the_fields_it_changed(
    store: EventStore,
) -> None:
    message, _ = message_history(store)
    entries = history(store, CHAT_AGGREGATES, message.id)
    recorded = store.get_events_for_aggregate(message.id)
    assert [e.version for e in entries] == [1, 2, 3, 4, 5]
    assert [e.event_type for e in entries] == [
        "MessageCreated",
        "MessageUpdated",
        "MessageUpdated",
        "MessageUpdated",
        "MessageDeleted",
    ]
    assert [e.timestamp for e in entries] == [r.timestamp for r in recorded]
    assert [e.user_id for e in entries] == ["user_alice", "user_bob", "user_bob", "user_bob", None]
    assert entries[0].correlation_id == recorded[0].event_id
    assert entries[0].created and not any(entry.created for entry in entries[1:])
    initial = {c.field: (c.old, c.new) for c in entries[0].changes}
    assert initial["content"] == (None, "v1 @ann") and initial["edit_count"] == (None, 0)
    assert set(initial) == set(type(message).STATE_FIELDS)  # every initial value, not a diff
    changes = {c.field: (c.old, c.new) for c in entries[1].changes}
    assert changes == {
        "content": ("v1 @ann", "v2 @bob"),
        "mentions": (["ann"], ["bob"]),
        "edit_count": (0, 1),
    }
    assert [c.to_dict() for c in entries[4].changes] == [
        {"field": "is_deleted", "old": False, "new": True}
    ]


def test_history_of_a_status_change_names_the_old_and_new_status(store: EventStore) -> None:
    repository = Repository(store, Project)
    project = Project.create("Apollo", new_id("User"))
    project.change_status("on_hold")
    repository.save(project)
    entries = history(store, CHAT_AGGREGATES, project.id)
    assert [c.to_dict() for c in entries[1].changes] == [
        {"field": "status", "old": "active", "new": "on_hold"}
    ]
    assert entries[1].data == {"old_status": "active", "new_status": "on_hold"}
