"""``import_events``: an append that keeps the instant history was recorded at, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chronicle import ConcurrencyError, EventStore, InvalidEventError, NewEvent
from chronicle.bootstrap import open_store

A_YEAR_AGO = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def message(content: str) -> NewEvent:
    return NewEvent("MessageCreated", {"content": content, "username": "alice"})


def imported(
    store: EventStore,
    events: list[NewEvent],
    *,
    at: datetime,
    expected: int = 0,
    aggregate_id: str = "message_a",
):
    return store.import_events(
        aggregate_id,
        events,
        expected_version=expected,
        aggregate_type="Message",
        user_id="user_alice",
        recorded_at=at,
    )


def test_an_import_keeps_the_recorded_instant_ids_user_and_versions(store: EventStore) -> None:
    batch = [message("one"), message("two")]
    recorded = imported(store, batch, at=A_YEAR_AGO)
    stored = store.get_events_for_aggregate("message_a")
    assert stored == recorded
    assert [event.event_id for event in stored] == [event.event_id for event in batch]
    assert [event.version for event in stored] == [1, 2]
    assert {event.timestamp for event in stored} == {A_YEAR_AGO}
    assert {event.user_id for event in stored} == {"user_alice"}
    assert store.get_all_events(until=A_YEAR_AGO + timedelta(days=1)) == stored


def test_the_events_of_one_store_imported_into_another_get_the_same_hashes(
    store: EventStore,
) -> None:
    source = open_store("memory://")
    try:
        source.append("message_a", [message("one"), message("two")], expected_version=0,
                      aggregate_type="Message", user_id="user_alice")  # fmt: skip
        source.append("message_a", [message("three")], expected_version=2,
                      aggregate_type="Message")  # fmt: skip
        recorded = source.read_all()
    finally:
        source.close()
    for event in recorded:
        store.import_events(
            event.aggregate_id,
            [NewEvent(event.event_type, event.data, event.metadata, event.event_id)],
            expected_version=event.version - 1,
            aggregate_type=event.aggregate_type,
            user_id=event.user_id,
            recorded_at=event.timestamp,
        )
    again = store.get_events_for_aggregate("message_a")
    assert [(e.event_id, e.version, e.timestamp, e.hash, e.metadata) for e in again] == [
        (e.event_id, e.version, e.timestamp, e.hash, e.metadata) for e in recorded
    ]


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2025, 3, 1, 9, 30),  # naive
        datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),  # not UTC
        datetime.now(UTC) + timedelta(hours=1),  # in the future
        datetime(1969, 12, 31, tzinfo=UTC),  # before 1970
        "2025-03-01T09:30:00Z",  # not a datetime
    ],
)
def test_an_instant_that_is_not_a_past_utc_datetime_is_refused_and_writes_nothing(
    store: EventStore, instant: object
) -> None:
    with pytest.raises(InvalidEventError, match="recorded_at"):
        imported(store, [message("one")], at=instant)  # type: ignore[arg-type]
    assert store.get_event_count() == 0


def test_an_instant_a_few_seconds_ahead_of_this_clock_is_accepted(store: EventStore) -> None:
    ahead = datetime.now(UTC) + timedelta(seconds=30)
    assert imported(store, [message("one")], at=ahead)[0].timestamp == ahead


def test_an_import_checks_its_expected_version_like_an_append(store: EventStore) -> None:
    imported(store, [message("one")], at=A_YEAR_AGO)
    with pytest.raises(ConcurrencyError):
        imported(store, [message("two")], at=A_YEAR_AGO, expected=0)
    with pytest.raises(InvalidEventError, match="expected_version"):
        imported(store, [message("two")], at=A_YEAR_AGO, expected=None)  # type: ignore[arg-type]
    assert store.get_event_count() == 1


def test_a_retried_import_returns_the_stored_events_and_writes_nothing(store: EventStore) -> None:
    batch = [message("one"), message("two")]
    first = imported(store, batch, at=A_YEAR_AGO)
    assert imported(store, batch, at=A_YEAR_AGO) == first
    assert store.get_event_count() == 2
