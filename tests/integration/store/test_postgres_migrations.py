"""PostgreSQL specifics: a store made by an earlier Chronicle upgrades in place and keeps its chain."""

from __future__ import annotations

import psycopg

from chronicle import NewEvent
from chronicle.integrity.chains import expected_hash
from chronicle.store.integrity import GENESIS
from chronicle.store.postgres import PostgresEventStore
from chronicle.store.postgres import schema as pg_schema


def build_schema_version_2(url: str) -> None:
    """The schema exactly as Chronicle's first two migrations left it."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(pg_schema.CREATE_SCHEMA_TABLE)
        for version, script in pg_schema.MIGRATIONS[:2]:
            conn.execute(script)
            conn.execute("INSERT INTO chronicle_schema (version) VALUES (%s)", (version,))


def test_a_store_at_schema_version_2_upgrades_and_its_old_and_new_events_chain_as_one(
    postgres_schema_url: str,
) -> None:
    build_schema_version_2(postgres_schema_url)
    old = PostgresEventStore(postgres_schema_url, migrate=False, notify=False)
    try:
        assert old.schema_version() == 2
        # Written through the released function (the chain spelled out in SQL).
        old.append(
            "message_a",
            [NewEvent("MessageCreated", {"content": "a"}), NewEvent("MessageUpdated", {"c": 1})],
            expected_version=0,
            aggregate_type="Message",
        )
    finally:
        old.close()

    store = PostgresEventStore(postgres_schema_url, notify=False)
    try:
        assert store.schema_version() == pg_schema.LATEST
        store.append(  # the one-statement path, through chronicle_chain
            "message_a", [NewEvent("MessageUpdated", {"c": 2})], expected_version=2,
            aggregate_type="Message",
        )  # fmt: skip
        store.append(  # the function path, through chronicle_chain
            "message_a",
            [NewEvent("MessageUpdated", {"c": 3}), NewEvent("MessageUpdated", {"c": 4})],
            expected_version=3,
            aggregate_type="Message",
        )
        previous = GENESIS
        events = store.get_events_for_aggregate("message_a")
        assert [event.version for event in events] == [1, 2, 3, 4, 5]
        for event in events:
            assert event.hash == expected_hash(event, previous)
            previous = event.hash
    finally:
        store.close()
