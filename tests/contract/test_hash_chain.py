"""Appends chain each event's hash to the previous one of its aggregate, on every path.

A one-event append and a batch take different routes into PostgreSQL (one statement, or the
server-side function); both must store exactly the chain that ``integrity.chain`` defines, and
both must keep the append contract (conflicts, retries).
"""

from __future__ import annotations

import pytest

from chronicle import ConcurrencyError, EventStore, NewEvent, RecordedEvent
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import GENESIS, chain, content_digest, format_timestamp


def message(content: str) -> NewEvent:
    return NewEvent("MessageCreated", {"content": content, "username": "alice"})


def expected_hash(previous: bytes, event: RecordedEvent) -> bytes:
    digest = content_digest(
        event_id=event.event_id,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        event_type=event.event_type,
        schema_version=event.schema_version,
        timestamp=format_timestamp(event.timestamp),
        user_id=event.user_id,
        data=canonical_json(event.data),
        metadata=canonical_json(event.metadata),
    )
    return chain(previous, event.version, digest)


def test_single_and_batched_appends_store_the_same_hash_chain(store: EventStore) -> None:
    store.append("message_a", [message("one")], expected_version=0, aggregate_type="Message")
    store.append(
        "message_a",
        [message("two"), message("three")],
        expected_version=1,
        aggregate_type="Message",
    )
    store.append("message_a", [message("four")], expected_version=None, aggregate_type="Message")
    store.append(
        "message_a", [message("five")], expected_version=4, aggregate_type="Message", user_id="u1"
    )
    stored = store.get_events_for_aggregate("message_a")
    assert [event.version for event in stored] == [1, 2, 3, 4, 5]
    previous = GENESIS
    for event in stored:
        assert event.hash == expected_hash(previous, event)
        previous = event.hash


def test_a_stale_single_event_append_is_a_conflict_and_writes_nothing(store: EventStore) -> None:
    store.append("message_a", [message("one")], expected_version=0, aggregate_type="Message")
    with pytest.raises(ConcurrencyError) as caught:
        store.append("message_a", [message("late")], expected_version=0, aggregate_type="Message")
    assert caught.value.actual_version == 1
    with pytest.raises(ConcurrencyError):
        store.append("message_a", [message("ahead")], expected_version=5, aggregate_type="Message")
    assert store.get_event_count() == 1


@pytest.mark.parametrize("retry_expected", [0, None])
def test_a_retried_single_event_returns_the_stored_event_and_writes_nothing(
    store: EventStore, retry_expected: int | None
) -> None:
    event = message("once")
    first = store.append("message_a", [event], expected_version=0, aggregate_type="Message")
    again = store.append(
        "message_a", [event], expected_version=retry_expected, aggregate_type="Message"
    )
    assert again == first
    assert store.get_event_count() == 1
