"""The chat writer on every backend: one repository per class, and both settings of the switch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chronicle.chat.domain import Message, User
from chronicle.chat.read_models import queries
from chronicle.chat.service.writer import Writer
from chronicle.chat.wiring import ChatContext, open_chat
from chronicle.config import load_settings
from chronicle.errors import ConcurrencyError, EventTooLargeError
from chronicle.events import RecordedEvent
from chronicle.store.ports import Session
from chronicle.store.prepare import partition_of


@pytest.fixture(params=[True, False], ids=["event-sourced", "disabled"])
def chat(request: pytest.FixtureRequest, store_url: str) -> Iterator[ChatContext]:
    opened = open_chat(store_url, settings=load_settings(enabled=request.param))
    yield opened
    opened.close()


def read_message(chat: ChatContext, message_id: str) -> dict[str, object] | None:
    with chat.store.read_session() as session:
        return queries.message(session, message_id)


def test_a_created_and_changed_message_reaches_the_read_model(chat: ChatContext) -> None:
    writer = chat.writer()
    created = writer.create(Message.create("hello", "alice"), user_id="user_alice")
    changed = writer.change(
        Message, created.aggregate.id, lambda m: m.edit("edited"), user_id="user_alice"
    )
    assert [event.version for event in created.events + changed.events] == [1, 2]
    row = read_message(chat, created.aggregate.id)
    assert row is not None and (row["content"], row["version"]) == ("edited", 2)
    assert chat.store.get_event_count() == (2 if chat.settings.enabled else 0)


def test_a_stale_expected_version_is_refused_and_writes_nothing(chat: ChatContext) -> None:
    writer = chat.writer()
    message = writer.create(Message.create("hello", "alice"), user_id="user_alice").aggregate
    writer.change(Message, message.id, lambda m: m.edit("second"), user_id="user_alice")
    with pytest.raises(ConcurrencyError) as caught:
        writer.change(
            Message, message.id, lambda m: m.edit("late"), user_id="user_alice", expected_version=1
        )
    assert (caught.value.expected_version, caught.value.actual_version) == (1, 2)
    row = read_message(chat, message.id)
    assert row is not None and row["content"] == "second"


def test_a_writes_also_handler_runs_in_its_transaction_with_its_events(chat: ChatContext) -> None:
    seen: list[tuple[str, int]] = []

    def note(session: Session, recorded: list[RecordedEvent]) -> None:
        seen.extend((event.event_type, event.version) for event in recorded)

    writer = chat.writer()
    user = writer.create(User.create("alice", "a@example.com", "member"), user_id="x", also=note)
    writer.change(User, user.aggregate.id, lambda u: u.update(role="admin"), user_id="x", also=note)
    assert seen == [("UserCreated", 1), ("UserUpdated", 2)]


@pytest.mark.parametrize("enabled", [True, False], ids=["event-sourced", "disabled"])
def test_an_event_over_the_size_limit_is_refused_in_either_mode_and_changes_nothing(
    store_url: str, enabled: bool
) -> None:
    chat = open_chat(store_url, settings=load_settings(enabled=enabled, max_event_bytes=1024))
    try:
        writer = chat.writer()
        message = writer.create(Message.create("hello", "alice"), user_id="user_alice").aggregate
        with pytest.raises(EventTooLargeError):
            writer.change(Message, message.id, lambda m: m.edit("x" * 2000), user_id="user_alice")
        row = read_message(chat, message.id)
    finally:
        chat.close()
    assert row is not None and (row["content"], row["version"]) == ("hello", 1)


def test_with_event_sourcing_disabled_unstored_events_carry_an_appends_envelope(
    store_url: str,
) -> None:
    chat = open_chat(store_url, settings=load_settings(enabled=False))
    try:
        message = Message.create("hello", "alice")
        message.edit("edited")
        written = chat.writer().create(message, user_id="user_alice", correlation_id="req-7")
    finally:
        chat.close()
    first, second = written.events
    assert (first.version, second.version) == (1, 2)
    assert second.position == first.position + 1
    assert {event.correlation_id for event in written.events} == {"req-7"}
    assert {event.causation_id for event in written.events} == {None}
    assert {event.user_id for event in written.events} == {"user_alice"}
    assert {event.partition for event in written.events} == {partition_of(message.id)}
    assert first.timestamp == second.timestamp and first.timestamp.utcoffset() is not None


def test_without_a_correlation_id_the_first_events_id_correlates_the_write(
    chat: ChatContext,
) -> None:
    message = Message.create("hello", "alice")
    message.edit("edited")
    written = chat.writer().create(message, user_id="user_alice")
    assert {event.correlation_id for event in written.events} == {written.events[0].event_id}


def test_the_writer_keeps_one_repository_per_aggregate_class(chat: ChatContext) -> None:
    writer: Writer = chat.writer()
    assert writer.repository(Message) is writer.repository(Message)
    assert writer.repository(Message) is not writer.repository(User)
    assert writer.repository(User).cls is User
