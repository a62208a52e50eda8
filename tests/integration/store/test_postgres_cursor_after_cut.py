"""On PostgreSQL a cursor whose event retention removed still pages on without skipping.

Positions are not commit order there (batch writers interleave), so a cut's highest position
says little about which events it holds. The log below is built by hand: commit order 1, 2, 5,
3, 4, 6, 7 (positions); cut 1 holds the first three in commit order (1, 2, 5), cut 2 the first
five (…, 3, 4). Event 3 stayed (a legal hold kept it); 1, 2, 4 and 5 were removed. A reader
walking newest first had reached event 4.
"""

from __future__ import annotations

import psycopg
import pytest

from chronicle import EventStore, NewEvent

pytestmark = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)

COMMIT_ORDER = {1: 10, 2: 11, 5: 12, 3: 13, 4: 14, 6: 15, 7: 16}
"""Position → the transaction id it is given (so commit order is 1, 2, 5, 3, 4, 6, 7)."""


def a_log_cut_twice_around_a_held_event(store: EventStore, store_url: str) -> None:
    for n in range(7):
        store.append(
            f"message_{n}", [NewEvent("MessageCreated", {"n": n})], expected_version=0,
            aggregate_type="Message",
        )  # fmt: skip
    zero = b"\0" * 32
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE chronicle_events DISABLE TRIGGER ALL")
        conn.execute("ALTER TABLE chronicle_retention_cuts DISABLE TRIGGER ALL")
        for position, xid in COMMIT_ORDER.items():
            conn.execute(
                "UPDATE chronicle_events SET transaction_id = %s::text::xid8 WHERE position = %s",
                (str(xid), position),
            )
        conn.execute(
            "INSERT INTO chronicle_retention_cuts VALUES (1, 3, %s, %s, 1001, 5, '12', now())",
            (zero, zero),
        )
        conn.execute(
            "INSERT INTO chronicle_retention_cuts VALUES (2, 5, %s, %s, 1002, 5, '14', now())",
            (zero, zero),
        )
        conn.execute("DELETE FROM chronicle_events WHERE position IN (1, 2, 4, 5)")
        conn.execute("ALTER TABLE chronicle_events ENABLE TRIGGER ALL")
        conn.execute("ALTER TABLE chronicle_retention_cuts ENABLE TRIGGER ALL")


def test_newest_first_past_a_removed_cursor_still_finds_the_held_event_before_it(
    store: EventStore, store_url: str
) -> None:
    a_log_cut_twice_around_a_held_event(store, store_url)
    older = store.search_events(after=4, newest_first=True)
    assert 3 in [event.position for event in older]  # committed before 4: never skipped


def test_oldest_first_past_a_removed_cursor_may_repeat_but_never_skips(
    store: EventStore, store_url: str
) -> None:
    a_log_cut_twice_around_a_held_event(store, store_url)
    later = [event.position for event in store.search_events(after=4)]
    assert {6, 7} <= set(later)
