"""The audit search (``search_events``): filters, commit order and a stable cursor, on every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chronicle import EventStore, InvalidEventError, NewEvent, RecordedEvent
from chronicle.store.queries import MAX_USERS


def write(store: EventStore, aggregate_id: str, aggregate_type: str, event_type: str, user: str):
    return store.append(
        aggregate_id,
        [NewEvent(event_type, {"n": 1})],
        expected_version=None,
        aggregate_type=aggregate_type,
        user_id=user,
    )[0]


def test_each_filter_narrows_the_page_and_events_come_in_commit_order(store: EventStore) -> None:
    a = write(store, "message_1", "Message", "MessageCreated", "user_alice")
    b = write(store, "ticket_1", "Ticket", "TicketCreated", "user_bob")
    c = write(store, "message_1", "Message", "MessageUpdated", "user_bob")
    d = write(store, "message_2", "Message", "MessageCreated", "user_alice")

    assert [e.event_id for e in store.search_events()] == [x.event_id for x in (a, b, c, d)]
    assert [e.event_id for e in store.search_events(user_id="user_bob")] == [b.event_id, c.event_id]
    assert [e.event_id for e in store.search_events(aggregate_type="Message")] == [
        a.event_id,
        c.event_id,
        d.event_id,
    ]
    assert [
        e.event_id
        for e in store.search_events(aggregate_type="Message", event_type="MessageCreated")
    ] == [a.event_id, d.event_id]
    assert store.search_events(user_id="user_carol") == []


def test_since_and_until_are_inclusive_bounds_on_the_timestamp(store: EventStore) -> None:
    first = write(store, "message_1", "Message", "MessageCreated", "user_alice")
    second = write(store, "message_1", "Message", "MessageUpdated", "user_alice")
    assert [e.event_id for e in store.search_events(since=second.timestamp)][-1] == second.event_id
    assert [e.event_id for e in store.search_events(until=first.timestamp)] == [first.event_id]
    later = second.timestamp + timedelta(hours=1)
    assert store.search_events(since=later) == []


def test_paging_with_the_cursor_visits_every_match_once(store: EventStore) -> None:
    for index in range(25):
        write(store, f"message_{index % 3}", "Message", "MessageCreated", f"user_{index % 2}")
    expected = [e.event_id for e in store.search_events(user_id="user_0", limit=1000)]
    seen: list[str] = []
    after = None
    while page := store.search_events(user_id="user_0", after=after, limit=4):
        seen.extend(e.event_id for e in page)
        after = page[-1].position
    assert seen == expected and len(seen) == 13


def followed_while_writing(
    store: EventStore,
    writer: Callable[[int], object],
    matches: Callable[[RecordedEvent], bool],
    **filters: Any,
) -> tuple[list[str], set[str]]:
    """The event ids a follower paging ``search_events(**filters)`` saw while eight ``writer``
    threads wrote, and the ids of the stored events that ``matches``."""
    done = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        after = None
        while True:
            finished = done.is_set()
            page = store.search_events(**filters, after=after)
            seen.extend(e.event_id for e in page)
            if page:
                after = page[-1].position
            elif finished and not any(map(matches, store.read_visible(after, limit=100_000))):
                return

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    follower.join(timeout=60)
    return seen, {e.event_id for e in store.get_all_events(limit=100_000) if matches(e)}


def test_paging_while_eight_writers_commit_never_skips_nor_repeats(store: EventStore) -> None:
    def writer(number: int) -> None:
        for index in range(40):
            write(store, f"message_{number}_{index % 4}", "Message", "MessageCreated", "user_x")
            write(store, f"ticket_{number}", "Ticket", "TicketCreated", "user_x")

    seen, stored = followed_while_writing(
        store, writer, lambda e: e.aggregate_type == "Message", aggregate_type="Message", limit=20
    )
    assert len(seen) == len(set(seen)) == 320
    assert set(seen) == stored


def test_newest_first_pages_walk_commit_order_backwards_each_match_once(
    store: EventStore,
) -> None:
    for index in range(25):
        write(store, f"message_{index % 3}", "Message", "MessageCreated", f"user_{index % 2}")
    oldest_first = [e.event_id for e in store.search_events(user_id="user_0", limit=1000)]
    seen: list[str] = []
    after = None
    while page := store.search_events(user_id="user_0", after=after, limit=4, newest_first=True):
        seen.extend(e.event_id for e in page)
        after = page[-1].position
    assert seen == oldest_first[::-1] and len(seen) == 13


def test_newest_first_after_the_first_event_is_an_empty_page(store: EventStore) -> None:
    first = write(store, "message_1", "Message", "MessageCreated", "user_alice")
    write(store, "message_1", "Message", "MessageUpdated", "user_alice")
    assert store.search_events(after=first.position, newest_first=True) == []
    assert [e.event_id for e in store.search_events(newest_first=True, limit=1)] != [first.event_id]


def test_events_committed_while_paging_newest_first_are_not_in_the_older_pages(
    store: EventStore,
) -> None:
    old = [write(store, f"message_{n}", "Message", "MessageCreated", "user_a") for n in range(6)]
    first_page = store.search_events(limit=3, newest_first=True)
    write(store, "message_9", "Message", "MessageCreated", "user_a")
    rest = store.search_events(after=first_page[-1].position, limit=100, newest_first=True)
    assert [e.event_id for e in first_page + rest] == [e.event_id for e in old[::-1]]


def test_paging_newest_first_while_eight_writers_commit_never_skips_nor_repeats(
    store: EventStore,
) -> None:
    for n in range(100):
        write(store, f"message_old_{n % 7}", "Message", "MessageCreated", "user_x")
    stop = threading.Event()

    def writer(number: int) -> None:
        index = 0
        while not stop.is_set():
            write(store, f"message_{number}_{index % 4}", "Message", "MessageCreated", "user_x")
            index += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        seen: list[str] = []
        page = store.search_events(aggregate_type="Message", limit=7, newest_first=True)
        while page:
            seen.extend(e.event_id for e in page)
            page = store.search_events(
                aggregate_type="Message", after=page[-1].position, limit=7, newest_first=True
            )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # Whatever committed before the first page, each once; nothing the first page did not see.
    oldest_first = [
        e.event_id for e in store.search_events(aggregate_type="Message", limit=100_000)
    ]
    assert len(seen) == len(set(seen)) >= 100
    assert seen == oldest_first[: len(seen)][::-1]


def test_user_ids_match_the_events_of_any_of_those_users_in_commit_order(
    store: EventStore,
) -> None:
    written = [
        write(store, f"message_{n % 3}", "Message", "MessageCreated", f"user_{n % 3}")
        for n in range(12)
    ]
    of_two = [e.event_id for e in written if e.user_id in ("user_0", "user_2")]
    assert [e.event_id for e in store.search_events(user_ids=["user_2", "user_0"])] == of_two
    pages: dict[bool, list[str]] = {}
    for newest_first in (False, True):
        seen: list[str] = []
        after = None
        while page := store.search_events(
            user_ids=("user_0", "user_2"), after=after, limit=3, newest_first=newest_first
        ):
            seen.extend(e.event_id for e in page)
            after = page[-1].position
        pages[newest_first] = seen
    assert pages == {False: of_two, True: of_two[::-1]}
    one = store.search_events(user_ids=["user_1"], event_type="MessageCreated", limit=2)
    assert [e.user_id for e in one] == ["user_1", "user_1"]
    assert store.search_events(user_ids=["user_9", "user_8"]) == []


def test_paging_through_several_users_while_batch_writers_commit_misses_nothing(
    store: EventStore,
) -> None:
    def writer(number: int) -> None:
        for index in range(12):
            store.append(
                f"message_{number}_{index}",
                [NewEvent("MessageCreated", {"n": n}) for n in range(4)],
                expected_version=0,
                aggregate_type="Message",
                user_id=("user_a", "user_b", "user_c")[(number + index) % 3],
            )

    seen, stored = followed_while_writing(
        store, writer, lambda e: e.user_id in ("user_a", "user_b"),
        user_ids=["user_a", "user_b"], limit=7,
    )  # fmt: skip
    assert len(seen) == len(set(seen)) == len(stored) == 256
    assert set(seen) == stored


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": "10"},
        {"after": -1},
        {"aggregate_type": "Message'; DROP TABLE chronicle_events; --"},
        {"event_type": ""},
        {"user_id": ""},
        {"since": datetime(2024, 1, 1)},
        {"until": "2024-01-01"},
        {"newest_first": "yes"},
        {"user_ids": []},
        {"user_ids": "user_alice"},
        {"user_ids": ["user_alice", ""]},
        {"user_ids": ["user\x00alice"]},
        {"user_ids": ["user_alice"], "user_id": "user_alice"},
        {"user_ids": [f"user_{n}" for n in range(MAX_USERS + 1)]},
    ],
)
def test_bad_search_arguments_are_refused_with_a_typed_error(
    store: EventStore, arguments: dict
) -> None:
    write(store, "message_1", "Message", "MessageCreated", "user_alice")
    with pytest.raises(InvalidEventError):
        store.search_events(**arguments)
    assert store.get_event_count() == 1


def test_a_filter_value_is_data_never_sql(store: EventStore) -> None:
    write(store, "message_1", "Message", "MessageCreated", "user_alice")
    assert store.search_events(user_id="x' OR '1'='1") == []
    assert store.search_events(since=datetime(2000, 1, 1, tzinfo=UTC))[0].user_id == "user_alice"


@pytest.mark.parametrize("user_id", ["user\x00alice", "user\x1balice", "user\nalice"])
def test_a_user_id_filter_that_is_not_printable_is_refused_alike_on_every_backend(
    store: EventStore, user_id: str
) -> None:
    write(store, "message_1", "Message", "MessageCreated", "user_alice")
    with pytest.raises(InvalidEventError, match="printable"):
        store.search_events(user_id=user_id)
