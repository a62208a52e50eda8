"""Filtered audit pages read an index that matches the commit-order cursor, on both backends.

An index keyed on the filter column and then commit order hands a page straight off the index:
no sort, no walk over the rest of the log, so a page costs the same whatever the log's size.
The plans are read with EXPLAIN on a store holding enough rows, after its statistics were
refreshed, as they are after ``chronicle migrate`` and ``chronicle import``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from chronicle import EventStore, NewEvent
from chronicle.store.sql.statements import FILTERS, Statements, each_user_page

USERS = 50
EVENTS_PER_USER = 40
RARE_TYPE = "MessageDeleted"


def fill(store: EventStore) -> None:
    """2,000 events of 50 users, one of them rare, and one event type in a hundred rare."""
    for user in range(USERS):
        events = [
            NewEvent(RARE_TYPE if n % 100 == 7 else "MessageUpdated", {"content": str(n)})
            for n in range(1 if user == 0 else EVENTS_PER_USER)
        ]
        store.append(
            f"message_{user}",
            events,
            expected_version=0,
            aggregate_type="Message" if user % 10 else "Ticket",
            user_id=f"user_{user}",
        )
    store.refresh_statistics()


STATEMENTS = ["search_first", "search", "search_newest", "search_older"]
"""Oldest first, its first page and the pages after; newest first, the same."""


def search_sql(store: EventStore, *filters: str, statement: str = "search") -> str:
    """The statement ``search_events`` runs with ``filters``, in the driver's placeholders."""
    template = getattr(Statements().render(store.dialect), statement)  # type: ignore[attr-defined]
    statement = template.replace("{filters}", "".join(FILTERS[name] for name in filters))
    return str(store.dialect.sql(statement))  # type: ignore[attr-defined]


PARAMS: dict[str, Any] = {
    "user_id": "user_0",
    "event_type": RARE_TYPE,
    "aggregate_type": "Ticket",
    "since": datetime(2020, 1, 1, tzinfo=UTC),
    "after": 1_000,
    "limit": 20,  # a page smaller than what the filter matches: reading in order pays
}

CASES = [
    (("user_id",), "user"),
    (("event_type", "since"), "type"),
    (("aggregate_type",), "aggregate_type"),
]


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("filters", "index"), CASES)
@pytest.mark.parametrize("statement", STATEMENTS)
def test_a_filtered_page_on_postgresql_reads_its_index_in_commit_order(
    store: EventStore, store_url: str, filters: tuple[str, ...], index: str, statement: str
) -> None:
    fill(store)
    with psycopg.connect(store_url) as conn:
        horizon = conn.execute("SELECT pg_current_xact_id()").fetchone()
        conn.execute("SET LOCAL enable_seqscan = off")  # a test-sized table: no full scans
        rows = conn.execute(
            "EXPLAIN " + search_sql(store, *filters, statement=statement),
            {**PARAMS, "horizon": horizon[0]},
        ).fetchall()
    plan = "\n".join(row[0] for row in rows)
    assert f"chronicle_events_by_{index}_in_order" in plan, plan
    assert "Sort" not in plan, plan  # the index hands rows over in the page's order


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("filters", "index"), CASES)
@pytest.mark.parametrize("statement", STATEMENTS)
def test_a_filtered_page_on_sqlite_reads_its_index_in_commit_order(
    store: EventStore, filters: tuple[str, ...], index: str, statement: str
) -> None:
    fill(store)
    params = {**PARAMS, "since": store.dialect.instant(PARAMS["since"])}  # type: ignore[attr-defined]
    rows = store.execute_raw(  # type: ignore[attr-defined]
        "EXPLAIN QUERY PLAN " + search_sql(store, *filters, statement=statement), params
    )
    plan = "\n".join(str(row[-1]) for row in rows)
    assert f"USING INDEX chronicle_events_by_{index} (" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index is in position order


def fill_years_of_tickets(store: EventStore) -> datetime:
    """3,000 tickets opened over the years before 2021, then 5 today among 50 edits of a
    message; returns an instant before today's events (a ``since`` only those pass)."""
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for n in range(300):
        store.import_events(
            f"ticket_{n}",
            [NewEvent("TicketCreated", {"title": str(k)}) for k in range(10)],
            expected_version=0,
            aggregate_type="Ticket",
            user_id="user_1",
            recorded_at=start + timedelta(days=6 * n),
        )
    today = datetime.now(UTC) - timedelta(minutes=1)
    store.append(
        "ticket_today",
        [NewEvent("TicketCreated", {"title": str(k)}) for k in range(5)],
        expected_version=0,
        aggregate_type="Ticket",
    )
    store.append(
        "message_today",
        [NewEvent("MessageUpdated", {"content": str(k)}) for k in range(50)],
        expected_version=0,
        aggregate_type="Message",
    )
    store.refresh_statistics()
    return today


def test_a_page_of_one_type_since_a_recent_instant_reads_that_types_window_on_postgresql(
    postgres_schema_url: str,
) -> None:
    """A walk in commit order would read every older ticket first, a cost that grows with the
    log; the page reads the window off a time index instead (on a large log, the type-and-time
    one: only the window's tickets). Planned for the values given, as every search is: never
    a prepared generic plan, which cannot tell a narrow ``since``."""
    from chronicle.store.postgres import PostgresEventStore

    store = PostgresEventStore(postgres_schema_url, notify=False)
    try:
        today = fill_years_of_tickets(store)
        assert len(store.search_events(event_type="TicketCreated", since=today, limit=20)) == 5
        with psycopg.connect(postgres_schema_url) as conn:
            horizon = conn.execute("SELECT pg_current_xact_id()").fetchone()
            plan = "\n".join(
                row[0]
                for row in conn.execute(
                    "EXPLAIN " + search_sql(store, "event_type", "since", statement="search_first"),
                    {
                        "event_type": "TicketCreated",
                        "since": today,
                        "limit": 20,
                        "horizon": horizon[0],
                    },
                )
            )
        # A window's index (which one is the planner's call at this size), never a walk.
        assert "chronicle_events_by_type_and_time" in plan or "chronicle_events_by_time" in plan
        assert "in_order" not in plan and "commit_order" not in plan, plan
    finally:
        store.close()


def several_users_sql(store: EventStore, users: int) -> str:
    """The statement a search for the events of any of ``users`` users runs, newest first."""
    sql = Statements().render(store.dialect)  # type: ignore[attr-defined]
    members = each_user_page(sql.search_older_positions, users)
    statement = sql.events_at_positions_newest.replace("{members}", members)
    return str(store.dialect.sql(statement.replace("{filters}", "")))  # type: ignore[attr-defined]


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_several_users_are_searched_each_on_the_user_index_in_commit_order(
    store: EventStore, store_url: str
) -> None:
    fill(store)
    params = {"after": 1_000, "limit": 20, "user_id_0": "user_0", "user_id_1": "user_3"}
    if store.backend == "sqlite":
        explained = store.execute_raw(  # type: ignore[attr-defined]
            "EXPLAIN QUERY PLAN " + several_users_sql(store, 2), params
        )
        plan = "\n".join(str(row[-1]) for row in explained)
        assert plan.count("INDEX chronicle_events_by_user (user_id=? AND position<?)") == 2, plan
    else:
        with psycopg.connect(store_url) as conn:
            horizon = conn.execute("SELECT pg_current_xact_id()").fetchone()
            conn.execute("SET LOCAL enable_seqscan = off")
            explained = conn.execute(
                "EXPLAIN " + several_users_sql(store, 2), {**params, "horizon": horizon[0]}
            ).fetchall()
        plan = "\n".join(row[0] for row in explained)
        assert plan.count("chronicle_events_by_user_in_order") == 2, plan


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_health_figures_read_the_ends_of_the_time_index_not_the_table(
    store: EventStore, store_url: str
) -> None:
    fill(store)
    statement = str(store.dialect.sql(Statements().time_range))  # type: ignore[attr-defined]
    if store.backend == "sqlite":
        rows = store.execute_raw("EXPLAIN QUERY PLAN " + statement)  # type: ignore[attr-defined]
        plan = "\n".join(str(row[-1]) for row in rows)
        assert plan.count("USING COVERING INDEX chronicle_events_by_time") == 2, plan
        assert "SCAN chronicle_events\n" not in plan + "\n", plan
    else:
        with psycopg.connect(store_url) as conn:
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + statement))
        assert plan.count("Index Only Scan") == 2, plan
        assert "Seq Scan" not in plan, plan


def test_a_sqlite_store_upgraded_to_the_new_index_gets_fresh_statistics(tmp_path) -> None:
    import sqlite3

    from chronicle.store.sqlite import schema as sqlite_schema
    from chronicle.store.sqlite.store import SQLiteEventStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the schema as migration 5 left it
        conn.execute(sqlite_schema.CREATE_SCHEMA_TABLE)
        for version, script in sqlite_schema.MIGRATIONS[:5]:
            for statement in sqlite_schema.split_script(script):
                conn.execute(statement)
            conn.execute("INSERT INTO chronicle_schema VALUES (?, '2026-01-01')", (version,))
    old = SQLiteEventStore(f"sqlite:///{path}", migrate=False)
    fill(old)
    old.close()

    store = SQLiteEventStore(f"sqlite:///{path}")
    try:
        assert store.schema_version() == sqlite_schema.LATEST
        analysed = store.execute_raw("SELECT DISTINCT idx FROM sqlite_stat1")
        assert ("chronicle_events_by_aggregate_type",) in analysed
    finally:
        store.close()


def test_a_postgresql_store_upgraded_to_the_commit_order_indexes_gets_fresh_statistics(
    postgres_schema_url: str,
) -> None:
    from chronicle.store.postgres import PostgresEventStore
    from chronicle.store.postgres import schema as pg_schema

    with psycopg.connect(postgres_schema_url, autocommit=True) as conn, conn.transaction():
        conn.execute(pg_schema.CREATE_SCHEMA_TABLE)
        for version, script in pg_schema.MIGRATIONS[:6]:
            conn.execute(script)
            conn.execute("INSERT INTO chronicle_schema (version) VALUES (%s)", (version,))
        conn.execute(  # a store with events (an empty one is never analysed: see below)
            "INSERT INTO chronicle_events (event_id, aggregate_id, aggregate_type, event_type, "
            "version, partition, timestamp, data, metadata, hash) VALUES (gen_random_uuid(), "
            "'message_a', 'Message', 'X', 1, 0, now(), '\\x7b7d', '\\x7b7d', '\\x00')"
        )
    store = PostgresEventStore(postgres_schema_url, notify=False)
    try:
        assert store.schema_version() == pg_schema.LATEST
        indexes = {
            row[0]
            for row in store.execute_raw(  # type: ignore[attr-defined]
                "SELECT indexname FROM pg_indexes WHERE tablename = 'chronicle_events' "
                "AND schemaname = current_schema()"
            )
        }
        assert {
            "chronicle_events_by_user_in_order",
            "chronicle_events_by_type_in_order",
            "chronicle_events_by_aggregate_type_in_order",
        } <= indexes
        assert "chronicle_events_by_user" not in indexes
        [(analysed,)] = store.execute_raw(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = 'chronicle_events' AND schemaname = current_schema()"
        )
        assert analysed
    finally:
        store.close()


def analysed(store: EventStore) -> bool:
    """Whether statistics were ever taken of the events table."""
    if store.backend == "postgresql":
        time.sleep(1.0)  # backends publish their counts about a second after they go idle
        rows = store.execute_raw(  # type: ignore[attr-defined]
            "SELECT analyze_count FROM pg_stat_user_tables "
            "WHERE relid = 'chronicle_events'::regclass"
        )
        return int(rows[0][0]) > 0
    rows = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    )
    if not rows[0][0]:
        return False
    stats = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'chronicle_events'"
    )
    return int(stats[0][0]) > 0


def test_statistics_are_never_taken_of_an_empty_events_table(store: EventStore) -> None:
    # Statistics that say "empty" are believed until the next ANALYZE however much the table
    # grows: with them, PostgreSQL appends slowed from 2,500/s to 1,300/s within 5,000 events
    # (measured; without them the planner reads the table's real size).
    store.migrate()
    store.refresh_statistics()
    assert not analysed(store)
    store.append(
        "message_1", [NewEvent("MessageCreated", {})], expected_version=0, aggregate_type="Message"
    )
    store.refresh_statistics()
    assert analysed(store)


def test_audit_searches_are_never_prepared_as_generic_plans_on_postgresql(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg prepares a statement it has run five times, and PostgreSQL then may plan it once
    for any values: for ``since`` that guess is a third of the log, and the plan walks an index
    in commit order (measured at 1,000,000 events: 74 ms a page against 1 ms planned for the
    values). Searches go unprepared; the append path keeps its prepared statements."""
    from chronicle.store.postgres import PostgresEventStore

    prepared: dict[str, set[object]] = {}
    execute = psycopg.Cursor.execute

    def recording(self: psycopg.Cursor, query: Any, params: Any = None, **kwargs: Any) -> Any:
        prepared.setdefault(str(query), set()).add(kwargs.get("prepare"))
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    store = PostgresEventStore(postgres_schema_url, notify=False)
    try:
        fill(store)
        since = datetime(2020, 1, 1, tzinfo=UTC)
        for after in (None, 5):
            store.search_events(event_type=RARE_TYPE, since=since, after=after, limit=5)
            store.search_events(user_ids=["user_0", "user_1"], since=since, after=after, limit=5)
        store.get_events_by_type(RARE_TYPE, since=since, limit=5)
        store.get_all_events(since=since, limit=5)
    finally:
        store.close()
    searches = {query: how for query, how in prepared.items() if "timestamp >= " in query}
    assert len(searches) == 6, list(searches)
    assert all(how == {False} for how in searches.values()), searches
    appends = [how for query, how in prepared.items() if "chronicle_append" in query]
    assert appends and all(False not in how for how in appends), prepared.keys()
