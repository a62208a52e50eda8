"""The wire form of a published event, and the consumer-side de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronicle.errors import InvalidEventError, PublishError
from chronicle.events import RecordedEvent
from chronicle.publishing import Backoff, Deduplicator, checkpoint_name, decode
from chronicle.publishing.messages import body, envelope, routing_key
from chronicle.publishing.publisher import redact


def recorded(data: dict[str, object] | None = None) -> RecordedEvent:
    return RecordedEvent(
        event_id="0b6c4a8e-9f57-4c6a-8d0e-1f2a3b4c5d6e",
        aggregate_id="message_01",
        aggregate_type="Message",
        event_type="MessageEdited",
        version=3,
        position=42,
        timestamp=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        user_id="user_alice",
        data=data if data is not None else {"content": "hello"},
        metadata={"correlation_id": "c", "causation_id": "d"},
    )


def test_a_published_body_decodes_back_to_the_event_and_its_envelope() -> None:
    event = recorded()
    received = decode(body(event))
    assert (received.event_id, received.aggregate_id, received.version, received.position) == (
        event.event_id,
        "message_01",
        3,
        42,
    )
    assert received.data == {"content": "hello"}
    assert received.event["timestamp"] == "2025-01-02T03:04:05+00:00"
    assert envelope(event)["version"] == "3" and envelope(event)["position"] == "42"
    assert routing_key(event) == "Message.MessageEdited"


@given(st.dictionaries(st.text(max_size=10), st.integers(-(2**53) + 1, 2**53 - 1) | st.text()))
def test_any_json_data_survives_the_round_trip(data: dict[str, object]) -> None:
    assert decode(body(recorded(data))).data == data


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", orjson.dumps({"event_id": "x", "version": "three"})]
)
def test_a_body_that_is_not_a_published_event_gives_a_publish_error(raw: bytes) -> None:
    with pytest.raises(PublishError):
        decode(raw)


def test_the_deduplicator_reports_an_id_seen_before_and_forgets_the_oldest_first() -> None:
    dedup = Deduplicator(capacity=2, seen=["a"])
    assert dedup.is_duplicate("a") and not dedup.is_duplicate("b")
    dedup.remember("b")
    dedup.remember("c")
    assert not dedup.is_duplicate("a")
    assert dedup.is_duplicate("b") and dedup.is_duplicate("c")
    assert dedup.duplicates == 3


def test_backoff_grows_up_to_its_maximum_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(initial=1.0, maximum=4.0)
    delays = [backoff.next_delay() for _ in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0
    assert all(2.0 <= delay <= 4.0 for delay in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    with pytest.raises(InvalidEventError):
        Backoff(initial=0)


def test_each_broker_kind_has_its_own_checkpoint_and_urls_lose_their_password() -> None:
    assert checkpoint_name("redis:chronicle.events") == "relay.redis.chronicle.events"
    assert checkpoint_name("amqp:chronicle.events") != checkpoint_name("redis:chronicle.events")
    assert redact("amqp://guest:secret@host:5672/") == "amqp://guest:***@host:5672/"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
