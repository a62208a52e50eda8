"""Message: given events, when a command, then events or a typed error."""

from __future__ import annotations

import pytest

from chronicle.chat.domain import InvalidMessageError, Message, MessageDeletedError, new_id
from chronicle.chat.domain.events import MessageCreated, MessageDeleted, MessageUpdated
from chronicle.chat.domain.message import MAX_CONTENT_LENGTH
from chronicle.errors import DomainError


def given(*events: object) -> Message:
    return Message.replay(new_id("Message"), events)  # type: ignore[arg-type]


CREATED = MessageCreated(content="hi @bob", username="alice", message_type="text", mentions=["bob"])


def test_creating_a_message_records_its_content_author_type_and_mentions() -> None:
    project_id = new_id("Project")
    message = Message.create("hi @Bob, ask @carol.", "alice", "markdown", project_id=project_id)
    assert message.id.startswith("message_") and message.id == message.id.lower()
    assert message.pending_events == [
        MessageCreated(
            content="hi @Bob, ask @carol.",
            username="alice",
            message_type="markdown",
            project_id=project_id,
            mentions=["bob", "carol"],
        )
    ]
    assert message.version == 1 and message.saved_version == 0


def test_two_new_messages_never_share_an_id() -> None:
    assert len({Message.create("x", "alice").id for _ in range(1000)}) == 1000


@pytest.mark.parametrize("content", ["", "   \n\t", "x" * (MAX_CONTENT_LENGTH + 1)])
def test_an_empty_or_oversized_message_is_refused(content: str) -> None:
    with pytest.raises(InvalidMessageError):
        Message.create(content, "alice")


def test_a_message_of_the_longest_allowed_length_is_accepted() -> None:
    assert Message.create("x" * MAX_CONTENT_LENGTH, "alice").content == "x" * MAX_CONTENT_LENGTH


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"username": ""}, "username"),
        ({"message_type": "video"}, "message_type"),
        ({"project_id": "ticket_" + "0" * 32}, "project_id"),
        ({"message_id": "message_NOT-HEX"}, "message_id"),
        ({"project_id": "project_" + "0" * 32 + "\n"}, "project_id"),
    ],
)
def test_a_message_with_a_bad_author_type_or_id_is_refused(
    arguments: dict[str, str], error: str
) -> None:
    options: dict[str, str] = {"username": "alice", **arguments}
    username = options.pop("username")
    with pytest.raises(DomainError, match=error):
        Message.create("hello", username, **options)


def test_editing_a_message_records_the_new_content() -> None:
    message = given(CREATED)
    message.edit("hello @dave")
    assert message.pending_events == [MessageUpdated(content="hello @dave")]
    assert message.content == "hello @dave" and message.mentions == ["dave"]
    assert message.edit_count == 1 and message.saved_version == 1


def test_editing_to_the_same_content_records_nothing() -> None:
    message = given(CREATED)
    message.edit("hi @bob")
    assert message.pending_events == []


def test_an_edit_to_empty_content_is_refused_and_records_nothing() -> None:
    message = given(CREATED)
    with pytest.raises(InvalidMessageError):
        message.edit(" ")
    assert message.pending_events == [] and message.content == "hi @bob"


def test_deleting_a_message_records_its_deletion() -> None:
    message = given(CREATED, MessageUpdated(content="edited"))
    message.delete()
    assert message.pending_events == [MessageDeleted()]
    assert message.is_deleted and message.version == 3


@pytest.mark.parametrize("command", ["edit", "delete"])
def test_a_deleted_message_can_be_neither_edited_nor_deleted_again(command: str) -> None:
    message = given(CREATED, MessageDeleted())
    with pytest.raises(MessageDeletedError):
        if command == "edit":
            message.edit("back from the dead")
        else:
            message.delete()
    assert message.pending_events == [] and message.version == 2


def test_a_message_that_was_never_created_cannot_be_edited() -> None:
    with pytest.raises(InvalidMessageError, match="does not exist"):
        given().edit("hello")


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f"])
def test_a_message_with_a_control_character_is_refused_and_records_nothing(character: str) -> None:
    with pytest.raises(InvalidMessageError, match="control character"):
        Message.create(f"hello{character}world", "alice")


def test_tabs_and_newlines_are_ordinary_text() -> None:
    message = Message.create("line one\n\tline two\r\n", "alice")
    assert message.pending_events


def test_a_replayed_message_has_the_mentions_of_its_last_content_only() -> None:
    message = given(CREATED, MessageUpdated("ask @carol"), MessageUpdated("thanks @Dave and @dave"))
    assert message.mentions == ["dave"] and message.content == "thanks @Dave and @dave"
    assert message.edit_count == 2


def test_a_replay_that_ends_at_the_creation_keeps_the_mentions_it_recorded() -> None:
    # Stored mentions are kept as recorded, even where today's rule would find others.
    created = MessageCreated(content="hi @bob", username="alice", message_type="text", mentions=[])
    assert given(created).mentions == []
    assert given(created, MessageUpdated("hi @bob")).mentions == ["bob"]


def test_applying_events_one_at_a_time_gives_the_state_of_applying_them_all_at_once() -> None:
    events = [
        CREATED,
        MessageUpdated("ask @carol"),
        MessageUpdated("no one here"),
        MessageUpdated("@erin and @frank"),
        MessageDeleted(),
    ]
    one_at_a_time = Message(new_id("Message"))
    for count, event in enumerate(events, 1):
        one_at_a_time.apply(event)
        all_at_once = Message(one_at_a_time.id)
        all_at_once.apply_all(events[:count])
        assert all_at_once.state() == one_at_a_time.state()
        assert all_at_once.version == one_at_a_time.version == count


def test_an_edit_finds_the_mentions_of_the_new_content_at_once() -> None:
    message = given(CREATED)
    message.edit("now @carol")
    assert message.mentions == ["carol"] and message.pending_events == [
        MessageUpdated("now @carol")
    ]
