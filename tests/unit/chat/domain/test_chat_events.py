"""The chat registry: stable names, schema versions, the MessageCreated v1 -> v2 upcaster."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chronicle.chat.domain import chat_events, mentions_in
from chronicle.chat.domain.events import MessageCreated
from chronicle.events import RecordedEvent

SEED_NAMES = {
    "MessageCreated": {"content", "username", "message_type", "project_id", "mentions"},
    "MessageUpdated": {"content"},
    "MessageDeleted": set(),
    "UserCreated": {"username", "email", "role"},
    "UserUpdated": {"updates"},
    "ProjectCreated": {"name", "description", "owner_id"},
    "ProjectStatusChanged": {"old_status", "new_status"},
    "TicketCreated": {"title", "description", "project_id", "priority"},
    "TicketAssigned": {"assigned_to", "assigned_by"},
    "TicketStatusChanged": {"old_status", "new_status"},
}
ADDED_NAMES = {
    # Not in the seed: the record of an erasure of personal data.
    "PersonalDataErased": {"reason", "erased_on", "key_ids", "aggregates"},
}


def stored(data: dict[str, object], schema_version: int) -> RecordedEvent:
    return RecordedEvent(
        event_id="00000000-0000-4000-8000-000000000000",
        aggregate_id="message_" + "0" * 32,
        aggregate_type="Message",
        event_type="MessageCreated",
        version=1,
        position=1,
        timestamp=datetime(2024, 1, 1, tzinfo=UTC),
        user_id=None,
        data=data,
        metadata={},
        schema_version=schema_version,
    )


def test_every_seed_event_is_registered_under_its_name_with_its_fields() -> None:
    assert chat_events.names() == sorted({**SEED_NAMES, **ADDED_NAMES})
    for name, fields in {**SEED_NAMES, **ADDED_NAMES}.items():
        cls = chat_events.class_for(name)
        assert cls.event_type == name
        assert {field.name for field in dataclasses.fields(cls)} == fields


def test_message_created_is_at_schema_version_two_and_the_others_at_one() -> None:
    versions = {name: chat_events.class_for(name).schema_version for name in SEED_NAMES}
    assert versions.pop("MessageCreated") == 2
    assert set(versions.values()) == {1}


def test_mentions_are_the_distinct_at_names_in_order_and_not_email_addresses() -> None:
    assert mentions_in("@Bob hi @carol, @bob. mail bob@example.com @ @dave-x.") == [
        "bob",
        "carol",
        "dave-x",
    ]


content = st.text(alphabet=st.sampled_from("ab @._-\n"), min_size=1, max_size=40)


@given(content)
def test_a_v1_message_created_upcasts_to_the_v2_event_with_mentions_and_no_project(
    text: str,
) -> None:
    v1 = {"content": text, "username": "alice", "message_type": "text"}
    event = chat_events.to_domain(stored(v1, schema_version=1))
    assert event == MessageCreated(
        content=text,
        username="alice",
        message_type="text",
        project_id=None,
        mentions=mentions_in(text),
    )
    v2 = chat_events.to_new_event(event)
    assert chat_events.to_domain(stored(v2.data, schema_version=2)) == event
