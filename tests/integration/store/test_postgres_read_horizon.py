"""On PostgreSQL, followers wait only for Chronicle's own writers, never for other transactions.

A transaction that writes no events (another application's report, a ``pg_dump``, an idle
session, in this database or another one of the server) holds no follower back; a Chronicle
writer still running holds back what commits after it, so nothing is ever skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from chronicle import EventStore, NewEvent
from chronicle.store.postgres.horizon import WRITER_LOCK

pytestmark = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


def created(content: str) -> NewEvent:
    return NewEvent("MessageCreated", {"content": content, "username": "alice"})


def append(store: EventStore, aggregate_id: str, content: str, **options: object) -> int:
    recorded = store.append(
        aggregate_id,
        [created(content)],
        expected_version=None,
        aggregate_type="Message",
        **options,  # type: ignore[arg-type]
    )
    return recorded[-1].position


def contents(store: EventStore, after: int | None = None) -> list[str]:
    return [event.data["content"] for event in store.read_all(after=after, limit=1000)]


def soon(condition: Callable[[], bool], limit: float = 1.0) -> bool:
    """Whether ``condition`` holds within ``limit`` seconds (a writer of another test on the
    same server may hold a read back for a moment; an unrelated transaction never does)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def other_database(url: str) -> str:
    """The same server, its ``postgres`` database (a neighbour of the test database)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres", query=""))


@pytest.fixture
def open_transaction(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[int]:
    """A transaction holding a transaction id, open for the whole test (in the database the
    test is parametrised with); yields that id."""
    url = request.param(postgres_url)
    with psycopg.connect(url) as conn:
        (xid,) = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()  # type: ignore[misc]
        yield int(xid)
        conn.rollback()


def oldest_running(store_url: str) -> int:
    with psycopg.connect(store_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    "open_transaction",
    [pytest.param(other_database, id="another database"), pytest.param(str, id="this database")],
    indirect=True,
)
def test_a_transaction_that_writes_no_events_holds_no_follower_back(
    store: EventStore, store_url: str, open_transaction: int
) -> None:
    # The server-wide bound would stall here: the open transaction is the oldest one running.
    assert oldest_running(store_url) <= open_transaction

    append(store, "message_1", "first")
    assert soon(lambda: contents(store) == ["first"])
    position = append(store, "message_2", "second")

    assert soon(lambda: contents(store) == ["first", "second"])
    found = store.search_events(aggregate_type="Message")
    assert [event.position for event in found][-1] == position


def test_a_chronicle_writer_still_running_holds_back_what_commits_after_it(
    store: EventStore,
) -> None:
    inserted, release = threading.Event(), threading.Event()

    def slow_inline(session: object, recorded: object) -> None:
        inserted.set()
        assert release.wait(10)

    slow = threading.Thread(
        target=append, args=(store, "message_slow", "slow"), kwargs={"inline": slow_inline}
    )
    slow.start()
    try:
        assert inserted.wait(10)
        append(store, "message_fast", "fast")  # a later position commits first

        assert contents(store) == []  # "fast" waits behind the writer still running
    finally:
        release.set()
        slow.join(10)

    assert soon(lambda: sorted(contents(store)) == ["fast", "slow"])


def test_any_transaction_that_takes_the_writer_lock_counts_as_a_writer(
    store: EventStore, store_url: str
) -> None:
    append(store, "message_1", "before")
    with psycopg.connect(store_url) as writer:
        writer.execute(f"SELECT {WRITER_LOCK}")
        writer.execute("SELECT pg_current_xact_id()")  # the writer now has an id
        append(store, "message_2", "after")

        time.sleep(0.2)
        assert contents(store) == ["before"]
        writer.rollback()

    assert soon(lambda: contents(store) == ["before", "after"])


def test_a_writer_without_a_transaction_id_yet_holds_no_one_back(
    store: EventStore, store_url: str
) -> None:
    with psycopg.connect(store_url) as writer:
        writer.execute(f"SELECT {WRITER_LOCK}")  # its id, when it gets one, is newer than any
        append(store, "message_1", "committed")

        assert soon(lambda: contents(store) == ["committed"])
        writer.rollback()


@pytest.mark.parametrize("open_transaction", [other_database], indirect=True)
def test_a_follower_sees_every_event_of_concurrent_batch_writers_exactly_once(
    store: EventStore, open_transaction: int
) -> None:
    """Single events, batches and writes with inline read-model work, racing a follower, while
    an unrelated transaction stays open next door: each event is seen once, none skipped."""
    writers, rounds = 6, 25
    done = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        position = None
        while True:
            finished = done.is_set()
            batch = store.read_all(after=position, limit=37)
            seen.extend(event.event_id for event in batch)
            if batch:
                position = batch[-1].position
            elif finished and store.lag(position)[0] == 0:
                return

    def dawdle(session: object, recorded: object) -> None:
        time.sleep(0.002)  # a commit well after the position was taken

    def write(number: int) -> None:
        for index in range(rounds):
            aggregate_id = f"message_w{number}_{index % 4}"
            events = [created(f"{number}-{index}-{n}") for n in range(1 + index % 3)]
            inline = dawdle if index % 2 else None
            store.append(
                aggregate_id,
                events,
                expected_version=None,
                aggregate_type="Message",
                inline=inline,
            )

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
    assert len(stored) == writers * sum(1 + index % 3 for index in range(rounds))
    assert len(seen) == len(set(seen)), "the follower saw an event twice"
    assert set(seen) == set(stored), "the follower missed an event"
