"""The event store contract: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from chronicle import (
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    EventTooLargeError,
    ImmutableEventError,
    InvalidEventError,
    NewEvent,
    StoreUnavailableError,
)


def created(content: str = "hello", **extra: object) -> NewEvent:
    return NewEvent("MessageCreated", {"content": content, "username": "alice", **extra})


def updated(content: str) -> NewEvent:
    return NewEvent("MessageUpdated", {"content": content})


def append(
    store: EventStore, aggregate_id: str, events: list[NewEvent], expected: int | None = None
):
    return store.append(aggregate_id, events, expected_version=expected, aggregate_type="Message")


# -- appending -------------------------------------------------------------------------------


def test_an_append_records_consecutive_versions_and_the_full_envelope(store: EventStore) -> None:
    before = datetime.now(UTC)
    recorded = store.append(
        "message_a",
        [created(), updated("edited")],
        expected_version=0,
        aggregate_type="Message",
        user_id="user_alice",
    )
    assert [event.version for event in recorded] == [1, 2]
    assert recorded[0].position < recorded[1].position
    first = recorded[0]
    assert first.aggregate_type == "Message" and first.event_type == "MessageCreated"
    assert first.user_id == "user_alice"
    assert first.timestamp.tzinfo is not None and first.timestamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= first.timestamp <= datetime.now(UTC)
    assert first.metadata["correlation_id"] == first.event_id
    assert "causation_id" in first.metadata
    assert len(first.hash) == 32 and first.hash != recorded[1].hash
    assert store.get_events_for_aggregate("message_a") == recorded


def test_a_stale_expected_version_is_rejected_and_writes_nothing(store: EventStore) -> None:
    append(store, "message_a", [created()], expected=0)
    with pytest.raises(ConcurrencyError) as caught:
        append(store, "message_a", [updated("late"), updated("later")], expected=0)
    assert caught.value.actual_version == 1 and caught.value.expected_version == 0
    assert store.get_event_count("message_a") == 1
    assert store.get_event_count() == 1


def test_expected_version_zero_means_the_aggregate_must_not_exist_yet(store: EventStore) -> None:
    append(store, "message_a", [created()], expected=0)
    with pytest.raises(ConcurrencyError):
        append(store, "message_a", [created()], expected=0)


def test_no_expected_version_appends_after_whatever_is_there(store: EventStore) -> None:
    append(store, "message_a", [created()], expected=None)
    recorded = append(store, "message_a", [updated("x")], expected=None)
    assert recorded[0].version == 2


def test_a_batch_is_atomic_when_one_event_is_invalid(store: EventStore) -> None:
    append(store, "message_a", [created()], expected=0)
    with pytest.raises(InvalidEventError):
        append(store, "message_a", [updated("fine"), NewEvent("Bad Type!", {})], expected=1)
    assert store.get_aggregate_version("message_a") == 1


def test_a_batch_is_atomic_when_the_database_refuses_it(store: EventStore) -> None:
    first = created()
    append(store, "message_a", [first], expected=0)
    # The second event reuses a stored id: the database refuses the batch as a whole.
    batch = [
        updated("one"),
        NewEvent("MessageUpdated", {"content": "two"}, event_id=first.event_id),
    ]
    with pytest.raises(DuplicateEventError):
        append(store, "message_a", batch, expected=1)
    assert store.get_aggregate_version("message_a") == 1
    assert store.get_event_count() == 1


def test_a_retried_append_returns_the_stored_events_and_writes_nothing(store: EventStore) -> None:
    batch = [created(), updated("edited")]
    first = append(store, "message_a", batch, expected=0)
    again = append(store, "message_a", batch, expected=0)
    assert again == first
    assert store.get_event_count() == 2
    # The same retry without an expected version is just as idempotent.
    assert append(store, "message_a", batch, expected=None) == first
    assert store.get_event_count() == 2


def test_a_partial_retry_is_refused_rather_than_half_applied(store: EventStore) -> None:
    stored = created()
    append(store, "message_a", [stored], expected=0)
    with pytest.raises(DuplicateEventError):
        append(store, "message_a", [stored, updated("new")], expected=0)
    assert store.get_event_count() == 1


def test_the_same_event_id_may_not_appear_twice_in_one_batch(store: EventStore) -> None:
    event = created()
    with pytest.raises(InvalidEventError):
        append(store, "message_a", [event, event], expected=0)
    assert store.get_event_count() == 0


def test_eight_threads_racing_on_one_aggregate_never_share_a_version(store: EventStore) -> None:
    append(store, "message_race", [created()], expected=0)
    won: list[int] = []
    conflicts: list[int] = []
    lock = threading.Lock()
    # Each round, all eight read the same version before any of them appends, then all finish
    # before the next round reads: every round is a real race, however fast the backend.
    read, appended = threading.Barrier(8), threading.Barrier(8)

    def writer(number: int) -> None:
        for _ in range(15):
            version = store.get_aggregate_version("message_race")
            read.wait()
            try:
                recorded = append(store, "message_race", [updated(f"w{number}")], expected=version)
            except ConcurrencyError:
                with lock:
                    conflicts.append(number)
            else:
                with lock:
                    won.append(recorded[0].version)
            appended.wait()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    versions = [event.version for event in store.get_events_for_aggregate("message_race")]
    assert versions == list(range(1, len(versions) + 1))  # no gap, no duplicate
    assert sorted(won) == versions[1:]  # each stored version was won by exactly one writer
    assert len(won) == 15 and len(conflicts) == 7 * 15  # one winner a round, seven conflicts


# -- reading ---------------------------------------------------------------------------------


def test_events_for_an_aggregate_honour_inclusive_version_bounds(store: EventStore) -> None:
    append(store, "message_a", [created(), updated("1"), updated("2"), updated("3")], expected=0)
    assert [e.version for e in store.get_events_for_aggregate("message_a", 2, 3)] == [2, 3]
    assert [e.version for e in store.get_events_for_aggregate("message_a", to_version=0)] == []
    assert [e.version for e in store.get_events_for_aggregate("message_a", from_version=4)] == [4]
    assert store.get_events_for_aggregate("message_missing") == []


def test_the_events_of_several_aggregates_come_in_one_read_under_each_id_asked_for(
    store: EventStore,
) -> None:
    append(store, "message_a", [created("a1"), updated("a2")], expected=0)
    append(store, "message_b", [created("b1")], expected=0)
    append(store, "message_a", [updated("a3")])
    found = store.get_events_for_aggregates(
        ["message_b", "message_missing", "message_a", "message_b"]
    )
    assert list(found) == ["message_b", "message_missing", "message_a"]
    assert [(e.version, e.data["content"]) for e in found["message_a"]] == [
        (1, "a1"),
        (2, "a2"),
        (3, "a3"),
    ]
    assert [e.data["content"] for e in found["message_b"]] == ["b1"]
    assert found["message_missing"] == []
    assert found["message_a"] == store.get_events_for_aggregate("message_a")
    assert store.get_events_for_aggregates([]) == {}


@pytest.mark.parametrize(
    "aggregate_ids",
    ["message_a", ["message_a", "message 1"], ["message_a", None], [f"m_{n}" for n in range(1001)]],
)
def test_a_bad_list_of_aggregate_ids_is_refused(store: EventStore, aggregate_ids) -> None:
    with pytest.raises(InvalidEventError):
        store.get_events_for_aggregates(aggregate_ids)


def test_versions_and_counts_per_aggregate(store: EventStore) -> None:
    append(store, "message_a", [created(), updated("1")], expected=0)
    append(store, "message_b", [created()], expected=0)
    assert store.get_aggregate_version("message_a") == 2
    assert store.get_aggregate_version("message_nope") == 0
    assert store.get_event_count("message_a") == 2
    assert store.get_event_count() == 3


def test_events_by_type_come_newest_first_and_respect_since_and_limit(store: EventStore) -> None:
    for number in range(5):
        append(store, f"message_{number}", [created(str(number))], expected=0)
    append(store, "message_0", [updated("x")], expected=1)
    latest = store.get_events_by_type("MessageCreated", limit=3)
    assert [event.data["content"] for event in latest] == ["4", "3", "2"]
    assert (
        store.get_events_by_type("MessageCreated", since=datetime.now(UTC) + timedelta(hours=1))
        == []
    )
    assert len(store.get_events_by_type("MessageUpdated")) == 1


def test_all_events_page_through_the_log_in_commit_order(store: EventStore) -> None:
    for number in range(7):
        append(store, f"message_{number}", [created(str(number))], expected=0)
    pages = [store.get_all_events(limit=3, offset=offset) for offset in (0, 3, 6)]
    contents = [event.data["content"] for page in pages for event in page]
    assert contents == [str(n) for n in range(7)]
    assert store.get_all_events(until=datetime.now(UTC) - timedelta(days=1)) == []
    assert len(store.get_all_events(since=datetime.now(UTC) - timedelta(days=1))) == 7


def test_read_all_continues_from_the_last_position(store: EventStore) -> None:
    for number in range(10):
        append(store, f"message_{number}", [created(str(number))], expected=0)
    seen: list[str] = []
    position = None
    deadline = time.monotonic() + 30  # a transaction elsewhere on the server may hold reads back
    while len(seen) < 10 and time.monotonic() < deadline:
        batch = store.read_all(after=position, limit=4)
        seen.extend(event.data["content"] for event in batch)
        position = batch[-1].position if batch else position
    assert seen == [str(n) for n in range(10)]


def test_a_follower_sees_every_event_of_eight_concurrent_writers_exactly_once(
    store: EventStore,
) -> None:
    writers, per_writer = 8, 60
    done = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        position = None
        while True:
            finished = done.is_set()
            batch = store.read_all(after=position, limit=50)
            seen.extend(event.event_id for event in batch)
            if batch:
                position = batch[-1].position
            elif finished and store.lag(position)[0] == 0:
                return

    def write(number: int) -> None:
        for index in range(per_writer):
            append(store, f"message_w{number}_{index % 5}", [created(f"{number}-{index}")])

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    follower.join(timeout=60)

    stored = [event.event_id for event in store.get_all_events(limit=100_000)]
    assert len(stored) == writers * per_writer
    assert len(seen) == len(set(seen)), "the follower saw an event twice"
    assert set(seen) == set(stored), "the follower missed an event"


def test_timestamps_and_non_ascii_text_round_trip_exactly(store: EventStore) -> None:
    text = 'Grüße, 世界! emoji 🎉 — quotes " and \\ backslash\n\ttab \u2028 zero-width\u200b'
    data = {"content": text, "nested": {"ключ": [1, 2.5, None, True, "ü"]}, "big": 2**53 - 1}
    recorded = append(store, "message_u", [NewEvent("MessageCreated", data)], expected=0)[0]
    read = store.get_events_for_aggregate("message_u")[0]
    assert read.data == data
    assert read.timestamp == recorded.timestamp
    assert read.timestamp.microsecond == recorded.timestamp.microsecond
    assert read == recorded


def test_metadata_keeps_given_correlation_and_causation_ids(store: EventStore) -> None:
    event = NewEvent(
        "MessageCreated",
        {"content": "x"},
        {"correlation_id": "c-1", "causation_id": "e-0", "ip": "10.0.0.1"},
    )
    recorded = append(store, "message_m", [event], expected=0)[0]
    assert recorded.correlation_id == "c-1" and recorded.causation_id == "e-0"
    assert recorded.metadata["ip"] == "10.0.0.1"


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aggregate_id",
    ["", "x" * 101, "message 1", "message_1'; DROP TABLE chronicle_events; --", "ü", None, 5],
)
def test_a_bad_aggregate_id_is_rejected_and_stores_nothing(store: EventStore, aggregate_id) -> None:
    with pytest.raises(InvalidEventError):
        store.append(aggregate_id, [created()], expected_version=0, aggregate_type="Message")
    assert store.get_event_count() == 0


@pytest.mark.parametrize(
    "event",
    [
        NewEvent("", {}),
        NewEvent("x" * 101, {}),
        NewEvent("Message Created", {}),
        NewEvent("MessageCreated", ["not", "an", "object"]),  # type: ignore[arg-type]
        NewEvent("MessageCreated", {"when": datetime.now(UTC)}),
        NewEvent("MessageCreated", {1: "non-string key"}),  # type: ignore[dict-item]
        NewEvent("MessageCreated", {"n": float("nan")}),
        NewEvent("MessageCreated", {"n": 2**53}),
        NewEvent("MessageCreated", {"s": "lone surrogate \ud800"}),
        NewEvent("MessageCreated", {}, metadata=["x"]),  # type: ignore[arg-type]
        NewEvent("MessageCreated", {}, event_id="not-a-uuid"),
        NewEvent("MessageCreated", {}, schema_version=0),
    ],
    ids=[
        "empty-type",
        "long-type",
        "space-in-type",
        "data-not-object",
        "datetime-value",
        "int-key",
        "nan",
        "unsafe-integer",
        "lone-surrogate",
        "metadata-not-object",
        "bad-event-id",
        "bad-schema-version",
    ],
)
def test_a_bad_event_is_rejected_and_stores_nothing(store: EventStore, event: NewEvent) -> None:
    with pytest.raises(InvalidEventError):
        store.append("message_a", [event], expected_version=0, aggregate_type="Message")
    assert store.get_event_count() == 0


@pytest.mark.parametrize("expected", [-1, 1.5, "1", True])
def test_an_invalid_expected_version_is_rejected(store: EventStore, expected) -> None:
    with pytest.raises(InvalidEventError):
        store.append("message_a", [created()], expected_version=expected, aggregate_type="Message")
    assert store.get_event_count() == 0


def test_an_empty_batch_is_rejected(store: EventStore) -> None:
    with pytest.raises(InvalidEventError):
        store.append("message_a", [], expected_version=0, aggregate_type="Message")


def test_an_oversized_event_is_rejected_with_its_own_error(make_store) -> None:
    store = make_store(max_event_bytes=2048)
    with pytest.raises(EventTooLargeError):
        append(store, "message_a", [created("x" * 4096)], expected=0)
    assert store.get_event_count() == 0
    append(store, "message_a", [created("x" * 1000)], expected=0)
    assert store.get_event_count() == 1


def test_naive_datetimes_are_refused_in_queries(store: EventStore) -> None:
    with pytest.raises(InvalidEventError):
        store.get_all_events(since=datetime(2026, 1, 1))


# -- immutability ----------------------------------------------------------------------------


@pytest.mark.needs("raw_sql")  # the database itself must refuse, not only the API
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE chronicle_events SET data = data",
        "UPDATE chronicle_events SET version = version + 10",
        "DELETE FROM chronicle_events",
    ],
)
def test_the_database_refuses_to_change_or_delete_stored_events(
    store: EventStore, statement: str
) -> None:
    append(store, "message_a", [created()], expected=0)
    with pytest.raises(ImmutableEventError):
        store.execute_raw(statement)  # type: ignore[attr-defined]
    assert store.get_events_for_aggregate("message_a")[0].data["content"] == "hello"


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # a PostgreSQL setting
@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM chronicle_events",
        "TRUNCATE chronicle_events",
        "UPDATE chronicle_events SET data = data",
    ],
)
def test_the_event_guards_fire_even_under_replica_replication_role(
    store: EventStore, statement: str
) -> None:
    import psycopg

    append(store, "message_a", [created()], expected=0)
    with psycopg.connect(store.url) as conn:  # type: ignore[attr-defined]
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.Error, match="immutable"):
            conn.execute(statement)
    assert store.get_event_count() == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # SQLite's REPLACE conflict clause
def test_insert_or_replace_cannot_rewrite_a_stored_event(store: EventStore) -> None:
    [event] = append(store, "message_a", [created("original")], expected=0)
    with pytest.raises(ImmutableEventError):
        store.execute_raw(  # type: ignore[attr-defined]
            "INSERT OR REPLACE INTO chronicle_events (event_id, aggregate_id, aggregate_type, "
            "event_type, version, schema_version, partition, timestamp, user_id, data, metadata, "
            "hash) SELECT event_id, aggregate_id, aggregate_type, event_type, version, "
            'schema_version, partition, timestamp, user_id, \'{"content":"forged"}\', '
            "metadata, hash FROM chronicle_events"
        )
    assert store.get_events_for_aggregate("message_a") == [event]


# -- schema and stats ------------------------------------------------------------------------


def test_migrate_is_idempotent_and_records_the_schema_version(store: EventStore) -> None:
    version = store.migrate()
    assert version >= 1
    assert store.migrate() == version
    assert store.stats().schema_version == version


def test_stats_count_by_aggregate_type_and_event_type(store: EventStore) -> None:
    append(store, "message_a", [created(), updated("x")], expected=0)
    store.append(
        "user_a",
        [NewEvent("UserCreated", {"username": "a"})],
        expected_version=0,
        aggregate_type="User",
    )
    stats = store.stats()
    assert stats.total_events == 3 and stats.aggregates == 2
    assert stats.by_aggregate_type == {"Message": 2, "User": 1}
    assert stats.by_event_type == {"MessageCreated": 1, "MessageUpdated": 1, "UserCreated": 1}
    assert stats.oldest_event is not None and stats.oldest_event <= stats.newest_event
    assert stats.size_bytes > 0


def test_the_summary_gives_the_totals_of_stats_before_and_after_a_seal(store: EventStore) -> None:
    from chronicle.store import Seal

    empty = store.summary()
    assert (empty.total_events, empty.oldest_event, empty.newest_event) == (0, None, None)
    events = [append(store, f"message_{n}", [created(str(n))], expected=0)[0] for n in range(5)]

    def totals(of: object) -> tuple[object, ...]:
        return tuple(getattr(of, name) for name in ("total_events", "oldest_event", "newest_event"))

    assert totals(store.summary()) == totals(store.stats())
    assert store.summary().total_events == 5 and store.summary().backend == store.backend
    # Sealed: the seal's count stands for the events up to it, the tail after it is counted.
    sealed_at = datetime(2026, 1, 2, tzinfo=UTC)
    store.append_seal(Seal(1, events[2].position, 3, b"h" * 32, b"l" * 32, sealed_at))
    assert store.summary().total_events == 5
    append(store, "message_5", [created("5")], expected=0)
    assert totals(store.summary()) == totals(store.stats())
    assert store.summary().total_events == 6


def test_refreshing_statistics_changes_nothing_a_reader_sees(store: EventStore) -> None:
    append(store, "message_a", [created(), updated("x")], expected=0)
    before = store.search_events(aggregate_type="Message")
    store.refresh_statistics()
    assert store.search_events(aggregate_type="Message") == before


# -- checkpoints and snapshots ---------------------------------------------------------------


def test_a_named_checkpoint_starts_empty_and_keeps_the_last_position(store: EventStore) -> None:
    assert store.get_checkpoint("relay") is None
    store.set_checkpoint("relay", 41)
    store.set_checkpoint("relay", 42)
    store.set_checkpoint("sealer", 7)
    assert store.get_checkpoint("relay") == 42
    assert store.get_checkpoint("sealer") == 7


def test_a_snapshot_is_written_once_per_version_and_never_overwritten(store: EventStore) -> None:
    from chronicle import Snapshot

    store.save_snapshot(Snapshot("message_s", "Message", 10, 1, {"first": True}))
    store.save_snapshot(Snapshot("message_s", "Message", 10, 1, {"second": True}))
    assert store.load_snapshot("message_s").state == {"first": True}


def test_the_newest_snapshot_at_or_below_a_version_is_loaded(store: EventStore) -> None:
    from chronicle import Snapshot

    for version in (10, 20, 30):
        store.save_snapshot(Snapshot("message_s", "Message", version, 1, {"v": version, "ü": "x"}))
    assert store.load_snapshot("message_s").state == {"v": 30, "ü": "x"}
    assert store.load_snapshot("message_s", max_version=25).version == 20
    assert store.load_snapshot("message_s", max_version=5) is None
    assert store.load_snapshot("message_other") is None


def test_lag_counts_the_events_after_a_cursor_and_the_age_of_the_oldest(store: EventStore) -> None:
    assert store.lag(None) == (0, 0.0)
    first = append(store, "message_a", [created(), updated("b")], expected=0)
    last = append(store, "message_b", [created()], expected=0)
    events, seconds = store.lag(None)
    assert events == 3 and 0 <= seconds < 60
    assert store.lag(first[0].position)[0] == 2
    assert store.lag(last[0].position) == (0, 0.0)


def test_lag_stops_counting_at_its_limit(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("chronicle.store.sql.store", "chronicle.store.memory"):
        monkeypatch.setattr(f"{module}.LAG_COUNT_LIMIT", 2)
    append(store, "message_a", [created(), updated("b"), updated("c")], expected=0)
    events, seconds = store.lag(None)
    assert events == 2 and 0 <= seconds < 60


def test_a_retry_racing_its_own_first_attempt_gets_the_stored_events(store: EventStore) -> None:
    outcomes: list[object] = []
    for round_number in range(10):
        event = created(f"race {round_number}")
        start = threading.Barrier(2)

        def send(
            event: NewEvent = event, start: threading.Barrier = start, number: int = round_number
        ) -> None:
            start.wait()
            outcomes.append(append(store, f"message_r{number}", [event], expected=0))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = store.get_events_for_aggregate(f"message_r{round_number}")
        assert [e.event_id for e in stored] == [event.event_id]
    assert len(outcomes) == 20  # neither attempt raised: both got the one stored event


# -- what callers hold ------------------------------------------------------------------------


def test_changing_an_event_a_caller_holds_changes_nothing_stored(store: EventStore) -> None:
    [appended] = append(store, "message_a", [created("hello")], expected=0)
    appended.data["content"] = "changed by the writer"
    store.get_events_for_aggregate("message_a")[0].data["content"] = "changed by a reader"
    # read_visible: the same rows as read_all, without waiting for other sessions' transactions
    store.read_visible()[0].metadata["correlation_id"] = "changed by a follower"
    [stored] = store.get_events_for_aggregate("message_a")
    assert stored.data["content"] == "hello"
    assert stored.metadata["correlation_id"] == appended.event_id


def test_a_closed_store_refuses_work_with_a_typed_error(store: EventStore) -> None:
    append(store, "message_a", [created()], expected=0)
    store.close()
    with pytest.raises(StoreUnavailableError):
        append(store, "message_b", [created()], expected=0)
    with pytest.raises(StoreUnavailableError):
        store.read_all()
    with pytest.raises(StoreUnavailableError):
        store.get_checkpoint("relay.redis.chronicle.events")
