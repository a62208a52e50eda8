"""``chronicle history`` and ``chronicle state`` against real stores on every backend."""

from __future__ import annotations

from datetime import timedelta

import orjson
from typer.testing import CliRunner

from chronicle import EventStore
from chronicle.chat.domain import Message, Ticket, new_id
from chronicle.cli import app
from chronicle.repository import Repository

runner = CliRunner()


def chronicle(store_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--store-url", store_url])
    return result.exit_code, result.stdout, result.stderr


def a_ticket_history(store: EventStore) -> tuple[Ticket, list[dict]]:
    """A ticket saved one event per append, and its state after each version."""
    repository = Repository(store, Ticket, snapshot_interval=3)
    ticket = Ticket.create("Bug", new_id("Project"), priority="high")
    states = []
    steps = [
        lambda: None,
        lambda: ticket.assign(new_id("User"), new_id("User")),
        lambda: ticket.change_status("in_progress"),
        lambda: ticket.change_status("resolved"),
        lambda: ticket.change_status("closed"),
        lambda: ticket.change_status("open"),
        lambda: ticket.assign(new_id("User"), new_id("User")),
    ]
    for step in steps:
        step()
        repository.save(ticket, user_id="user_ops")
        states.append(ticket.state())
    return ticket, states


def test_state_at_version_k_is_the_state_after_the_first_k_events(
    store: EventStore, store_url: str
) -> None:
    ticket, states = a_ticket_history(store)
    for version, expected in enumerate(states, start=1):
        code, out, _ = chronicle(store_url, "state", ticket.id, "--version", str(version), "--json")
        assert code == 0
        shown = orjson.loads(out)
        assert shown["version"] == version and shown["state"] == expected
        assert shown["aggregate_type"] == "Ticket"


def test_state_at_each_events_timestamp_agrees_with_its_version(
    store: EventStore, store_url: str
) -> None:
    ticket, states = a_ticket_history(store)
    for event in store.get_events_for_aggregate(ticket.id):
        code, out, _ = chronicle(
            store_url, "state", ticket.id, "--at", event.timestamp.isoformat(), "--json"
        )
        assert code == 0
        assert orjson.loads(out)["state"] == states[event.version - 1]


def test_state_without_options_is_the_current_state_as_a_table(
    store: EventStore, store_url: str
) -> None:
    ticket, _ = a_ticket_history(store)
    code, out, _ = chronicle(store_url, "state", ticket.id)
    assert code == 0
    assert "at version 7" in out and "assigned_to" in out and ticket.assigned_to in out


def test_state_at_an_instant_before_the_first_event_says_it_did_not_exist_yet(
    store: EventStore, store_url: str
) -> None:
    ticket, _ = a_ticket_history(store)
    first = store.get_events_for_aggregate(ticket.id)[0].timestamp - timedelta(seconds=1)
    code, out, err = chronicle(store_url, "state", ticket.id, "--at", first.isoformat())
    assert code == 1 and out == ""
    assert "did not exist yet" in err


def test_an_unknown_aggregate_exits_1_with_a_clear_message(store_url: str) -> None:
    unknown = new_id("Message")
    for command in ("state", "history"):
        code, _, err = chronicle(store_url, command, unknown)
        assert code == 1 and f"no events are stored for aggregate '{unknown}'" in err


def test_malformed_time_travel_options_exit_2_and_name_the_problem(
    store: EventStore, store_url: str
) -> None:
    ticket, _ = a_ticket_history(store)
    cases = [
        (["--at", "yesterday"], "not an ISO-8601"),
        (["--at", "2030-01-01T00:00:00"], "no timezone"),
        (["--at", "2030-01-01T00:00:00Z", "--version", "2"], "not both"),
    ]
    for options, message in cases:
        code, _, err = chronicle(store_url, "state", ticket.id, *options)
        assert code == 2 and message in err
    code, _, err = chronicle(store_url, "state", ticket.id, "--version", "8")
    assert code == 1 and "no version 8" in err


def test_history_as_json_lists_each_event_with_who_when_and_changes(
    store: EventStore, store_url: str
) -> None:
    repository = Repository(store, Message)
    message = Message.create("hello", "alice")
    repository.save(message, user_id="user_alice")
    message.edit("hello @bob")
    repository.save(message, user_id="user_bob")
    code, out, _ = chronicle(store_url, "history", message.id, "--json")
    assert code == 0
    shown = orjson.loads(out)
    recorded = store.get_events_for_aggregate(message.id)
    assert shown["aggregate_id"] == message.id
    assert [e["timestamp"] for e in shown["events"]] == [r.timestamp.isoformat() for r in recorded]
    edit = shown["events"][1]
    assert (edit["version"], edit["event_type"], edit["user_id"]) == (
        2,
        "MessageUpdated",
        "user_bob",
    )
    assert {"field": "content", "old": "hello", "new": "hello @bob"} in edit["changes"]


def test_history_as_a_table_shows_each_event(store: EventStore, store_url: str) -> None:
    repository = Repository(store, Message)
    message = Message.create("hello", "alice")
    message.delete()
    repository.save(message, user_id="user_alice")
    code, out, _ = chronicle(store_url, "history", message.id)
    assert code == 0
    assert "MessageCreated" in out and "MessageDeleted" in out and "user_alice" in out
    assert "is_deleted" in out and "false → true" in out  # the table may wrap a cell
