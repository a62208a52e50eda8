"""The seal records every backend keeps: numbered, immutable, read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chronicle import EventStore, ImmutableEventError
from chronicle.errors import SealConflictError, UnsupportedOperationError
from chronicle.store import Seal

SEALED_AT = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def seal(number: int, signature: bytes | None = b"s" * 64) -> Seal:
    return Seal(
        number,
        number * 10,
        number * 10,
        bytes([number]) * 32,
        b"L" * 32,
        SEALED_AT,
        public_key=b"k" * 32 if signature else None,
        signature=signature,
    )


def test_seals_are_read_back_in_number_order_and_exactly(store: EventStore) -> None:
    assert store.latest_seal() is None and store.get_seals() == []
    for number in (1, 2, 3):
        store.append_seal(seal(number, signature=None if number == 2 else b"s" * 64))
    assert store.get_seals() == [seal(1), seal(2, signature=None), seal(3)]
    assert store.get_seals(after=1, limit=1) == [seal(2, signature=None)]
    assert store.latest_seal() == seal(3)


def test_a_seal_number_already_taken_is_refused_and_writes_nothing(store: EventStore) -> None:
    store.append_seal(seal(1))
    with pytest.raises(SealConflictError):
        store.append_seal(Seal(1, 99, 99, b"x" * 32, b"y" * 32, SEALED_AT))
    assert store.get_seals() == [seal(1)]


@pytest.mark.needs("raw_sql")  # the database itself must refuse, not only the API
@pytest.mark.parametrize(
    "statement", ["UPDATE chronicle_seals SET event_count = 0", "DELETE FROM chronicle_seals"]
)
def test_the_database_refuses_to_change_or_delete_seals(store: EventStore, statement: str) -> None:
    store.append_seal(seal(1))
    with pytest.raises(ImmutableEventError):
        store.execute_raw(statement)  # type: ignore[attr-defined]
    assert store.get_seals() == [seal(1)]


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # a PostgreSQL setting
def test_the_seal_guards_fire_even_under_replica_replication_role(store: EventStore) -> None:
    import psycopg

    store.append_seal(seal(1))
    with psycopg.connect(store.url) as conn:  # type: ignore[attr-defined]
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.Error, match="seals are immutable"):
            conn.execute("DELETE FROM chronicle_seals")
    assert store.get_seals() == [seal(1)]


@pytest.mark.parametrize(
    "store_url", ["sqlite"], indirect=True
)  # PostgreSQL: tests/integration/cli
def test_creating_an_application_role_does_not_apply_to_sqlite(store: EventStore) -> None:
    with pytest.raises(UnsupportedOperationError, match="no roles"):
        store.create_app_role("chronicle_app")
