"""On PostgreSQL a read session is one ``BEGIN READ ONLY`` transaction on a pooled connection,
and the connection goes back to the pool able to write again, whatever happened inside."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import pq

from chronicle import EventStore, NewEvent
from chronicle.store.postgres import PostgresEventStore

pytestmark = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


def _table(store: EventStore) -> None:
    with store.session() as session:
        session.execute("CREATE TABLE IF NOT EXISTS notes (body TEXT)")


def test_a_read_session_refuses_to_write(store: EventStore) -> None:
    _table(store)
    refused = pytest.raises(psycopg.errors.ReadOnlySqlTransaction)
    with refused, store.read_session() as session:
        session.execute("INSERT INTO notes VALUES ('written while reading')")
    with store.read_session() as session:
        assert session.fetchall("SELECT body FROM notes") == []


def _sent_while(store: PostgresEventStore, action: Callable[[], object], folder: Path) -> list[str]:
    """What the client sent to the server (libpq's trace) while ``action`` ran on a store whose
    pool holds one connection."""
    trace = folder / "libpq.trace"
    with trace.open("w") as out:
        with store._pool.connection() as conn:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            with store._pool.connection() as conn:
                conn.pgconn.untrace()
    sent = [line.split("\t") for line in trace.read_text().splitlines() if line.startswith("F")]
    return [" ".join(part.strip() for part in fields[2:]) for fields in sent]


def test_a_read_session_costs_one_begin_and_one_commit(
    make_store: Callable[..., EventStore], tmp_path: Path
) -> None:
    store = make_store(pg_pool_min=1, pg_pool_max=1)
    assert isinstance(store, PostgresEventStore)

    def read() -> None:
        with store.read_session() as session:
            assert session.fetchone("SELECT current_setting('transaction_read_only')") == ("on",)

    assert _sent_while(store, read, tmp_path) == [
        'Query "BEGIN READ ONLY"',
        "Query \"SELECT current_setting('transaction_read_only')\"",
        'Query "COMMIT"',
    ]


def test_every_pooled_connection_writes_again_after_read_sessions(
    make_store: Callable[..., EventStore],
) -> None:
    store = make_store(pg_pool_min=2, pg_pool_max=2)
    assert isinstance(store, PostgresEventStore)
    _table(store)
    for _ in range(3):  # one that ended well, one that failed, and again
        with store.read_session() as session:
            session.fetchone("SELECT 1")
        refused = pytest.raises(psycopg.errors.ReadOnlySqlTransaction)
        with refused, store.read_session() as session:
            session.execute("INSERT INTO notes VALUES ('no')")
    for n in range(4):
        with store.session() as session:
            session.execute("INSERT INTO notes VALUES (?)", (f"note {n}",))
        store.append(
            f"message_{n}",
            [NewEvent("MessageCreated", {"content": "hi"})],
            expected_version=0,
            aggregate_type="Message",
        )
    with store.read_session() as session:
        assert len(session.fetchall("SELECT body FROM notes")) == 4
    assert store.get_event_count() == 4
