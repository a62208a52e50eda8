"""Appends chain each event's hash to the previous one of its aggregate, on every path.

A one-event append and a batch take different routes into PostgreSQL (one statement, or the
server-side function); both must store exactly the chain that ``integrity.chain`` defines, and
both must keep the append contract (conflicts, retries).
"""

from __future__ import annotations

import pytest

from chronicle import ConcurrencyError, EventStore, NewEvent, RecordedEvent
from chronicle.errors import DuplicateEventError
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


# SQLite binds at most 32,766 parameters per statement: a batch this long takes three INSERTs.
LONG_BATCH = 4_500


def test_a_batch_longer_than_one_insert_is_stored_whole_with_its_hash_chain(
    store: EventStore,
) -> None:
    store.append("message_a", [message("first")], expected_version=0, aggregate_type="Message")
    events = [message(f"event {n}") for n in range(LONG_BATCH)]
    recorded = store.append(
        "message_a", events, expected_version=1, aggregate_type="Message", user_id="u1"
    )
    stored = store.get_events_for_aggregate("message_a")
    assert recorded == stored[1:]
    assert [event.event_id for event in recorded] == [event.event_id for event in events]
    assert [event.version for event in stored] == list(range(1, LONG_BATCH + 2))
    assert [event.data["content"] for event in recorded] == [
        f"event {n}" for n in range(LONG_BATCH)
    ]
    positions = [event.position for event in stored]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    previous = GENESIS
    for event in stored:
        assert event.hash == expected_hash(previous, event)
        previous = event.hash


def test_a_batch_longer_than_one_insert_refused_in_its_last_rows_writes_nothing(
    store: EventStore,
) -> None:
    taken = message("already stored")
    store.append("message_a", [taken], expected_version=0, aggregate_type="Message")
    events = [message(f"event {n}") for n in range(LONG_BATCH - 1)] + [taken]
    with pytest.raises(DuplicateEventError):
        store.append("message_a", events, expected_version=1, aggregate_type="Message")
    assert store.get_aggregate_version("message_a") == 1 and store.get_event_count() == 1
    store.append("message_a", events[:-1], expected_version=1, aggregate_type="Message")
    assert store.get_aggregate_version("message_a") == LONG_BATCH
