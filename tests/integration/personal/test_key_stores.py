"""The key store contract, held on every backend (memory, a SQLite file, a PostgreSQL schema):
one live key per subject, made once; erasure keeps a tombstone and leaves no wrapped key behind;
a wrong key-encryption key and an unreachable server fail typed."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from chronicle.errors import ConfigurationError, KeyStoreUnavailableError, SubjectErasedError
from chronicle.personal.kek import kek_from_file, new_kek_text, parse_kek
from chronicle.personal.keystore import (
    DataKey,
    ErasedKey,
    KeyStore,
    KeyWrapError,
    UnusableKey,
    unwrap,
    wrap,
)
from chronicle.personal.keystore.lazy import LazyKeyStore
from chronicle.personal.keystore.memory import MemoryKeyStore
from chronicle.personal.keystore.postgres import PostgresKeyStore
from chronicle.personal.keystore.sqlite import SQLiteKeyStore

KEK = bytes(range(32))
OTHER_KEK = bytes(range(100, 132))
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"

Opener = Callable[..., KeyStore]


@pytest.fixture
def pg_schema(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A PostgreSQL URL and a schema name no other test uses; the schema is dropped after."""
    url = request.getfixturevalue("postgres_url")
    schema = f"keys_{uuid.uuid4().hex[:16]}"
    yield url, schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Open (and finally close) key stores at one place of the backend: ``open_keys(kek=...)``.
    The memory store has one instance (it has no place to be opened again)."""
    opened: list[KeyStore] = []
    memory = MemoryKeyStore()

    def make(kek: bytes = KEK) -> KeyStore:
        store: KeyStore
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            store = SQLiteKeyStore(f"sqlite:///{tmp_path / 'keys.db'}", kek)
        else:
            url, schema = request.getfixturevalue("pg_schema")
            store = PostgresKeyStore(url, kek, schema=schema, connect_timeout=5.0)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def open_keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Key stores of every backend."""
    yield from _opener(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_sql_keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Key stores of the backends that persist wrapped keys and can be opened again."""
    yield from _opener(request, tmp_path)


# -- the contract ----------------------------------------------------------------------------


def test_a_subject_gets_one_live_key_and_the_same_one_each_time(open_keys: Opener) -> None:
    store = open_keys()
    first = store.active_key("user_alice")
    assert isinstance(first, DataKey)
    assert first.subject == "user_alice" and len(first.key) == 32
    assert first.key_id.startswith("dk-")
    assert store.active_key("user_alice") == first
    other = store.active_key("user_bob")
    assert other.key_id != first.key_id and other.key != first.key
    assert store.keys_of("user_alice") == [first]


def test_a_key_is_the_same_when_the_store_is_opened_again(open_sql_keys: Opener) -> None:
    first = open_sql_keys().active_key("user_alice")
    again = open_sql_keys()
    assert again.active_key("user_alice") == first
    assert again.keys([first.key_id]) == {first.key_id: first}


def test_concurrent_first_writes_of_a_subject_make_one_key(open_keys: Opener) -> None:
    store = open_keys()
    threads = 8
    barrier = threading.Barrier(threads)
    found: list[DataKey] = []
    failures: list[BaseException] = []

    def first_write() -> None:
        try:
            barrier.wait()
            found.append(store.active_key("user_carol"))
        except BaseException as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=first_write) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    assert failures == []
    assert len(found) == threads
    assert len({key.key_id for key in found}) == 1
    assert len(store.keys_of("user_carol")) == 1


def test_concurrent_first_writes_through_separate_stores_make_one_key(
    open_sql_keys: Opener,
) -> None:
    stores = [open_sql_keys() for _ in range(4)]  # as separate processes would
    barrier = threading.Barrier(len(stores))
    found: list[DataKey] = []
    failures: list[BaseException] = []

    def first_write(store: KeyStore) -> None:
        try:
            barrier.wait()
            found.append(store.active_key("user_dave"))
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=first_write, args=(store,)) for store in stores]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    assert failures == []
    assert len({key.key_id for key in found}) == 1 and len(found) == len(stores)
    assert len(stores[0].keys_of("user_dave")) == 1


def test_keys_gives_the_live_and_the_erased_keys_it_knows(open_keys: Opener) -> None:
    store = open_keys()
    alice = store.active_key("user_alice")
    bob = store.active_key("user_bob")
    store.erase("user_alice", erased_by="user_admin", reason="request of 2026-01-01")
    found = store.keys([alice.key_id, bob.key_id, "dk-unknown"])
    assert set(found) == {alice.key_id, bob.key_id}
    assert found[bob.key_id] == bob
    erased = found[alice.key_id]
    assert isinstance(erased, ErasedKey)
    assert (erased.key_id, erased.subject) == (alice.key_id, "user_alice")
    assert (erased.erased_by, erased.reason) == ("user_admin", "request of 2026-01-01")
    assert store.keys([]) == {}


def test_keys_gives_many_keys_at_once_whatever_collection_they_are_asked_in(
    open_keys: Opener,
) -> None:
    store = open_keys()
    live = [store.active_key(f"user_{n}") for n in range(12)]
    for n in range(0, 12, 3):
        store.erase(f"user_{n}", erased_by=None, reason="request")
    expected = {key.key_id: state for key in live for state in store.keys_of(key.subject)}
    assert len(expected) == 12
    assert sum(isinstance(state, ErasedKey) for state in expected.values()) == 4
    ids = [key.key_id for key in live]
    unknown = ["dk-unknown", "dk-" + "0" * 32]
    for asked in (
        ids + unknown,
        tuple(reversed(ids)),
        set(ids) | set(unknown),
        dict.fromkeys(ids).keys(),
        ids + ids[:5],  # asked twice: given once
    ):
        assert store.keys(asked) == expected
    assert store.keys(ids[:1]) == {ids[0]: expected[ids[0]]}
    assert store.keys(unknown) == {}


def test_keys_takes_more_ids_than_a_statement_takes_parameters(open_keys: Opener) -> None:
    store = open_keys()
    alice, bob = store.active_key("user_alice"), store.active_key("user_bob")
    store.erase("user_bob", erased_by=None, reason="request")
    asked = [f"dk-{n:032x}" for n in range(70_000)]  # past SQLite's 32,766, PostgreSQL's 65,535
    asked[35_000:35_000] = [alice.key_id, bob.key_id]
    found = store.keys(asked)
    assert set(found) == {alice.key_id, bob.key_id}
    assert found[alice.key_id] == alice and isinstance(found[bob.key_id], ErasedKey)


def test_keys_matches_ids_exactly_whatever_characters_they_hold(open_keys: Opener) -> None:
    store = open_keys()
    live = store.active_key("user_alice")
    odd = [
        "x' OR '1'='1", 'x" OR "1"="1', "back\\slash", "%", "_", "*", "\u00e9t\u00e9",
        "[1,2]", '{"a":1}', "", " " + live.key_id, live.key_id + " ", live.key_id.upper(),
        live.key_id[:-1] + "%", "null",
    ]  # fmt: skip
    assert store.keys(odd) == {}
    assert store.keys([*odd, live.key_id]) == {live.key_id: live}


def test_keys_asks_the_database_once_for_many_ids(
    open_sql_keys: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_sql_keys()
    ids = [store.active_key(f"user_{n}").key_id for n in range(10)] + ["dk-unknown"]
    statements: list[str] = []
    if isinstance(store, SQLiteKeyStore):
        store._db.set_trace_callback(statements.append)
    else:
        execute = psycopg.Connection.execute

        def counted(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
            statements.append(str(query))
            return execute(self, query, *args, **kw)

        monkeypatch.setattr(psycopg.Connection, "execute", counted)
    found = store.keys(ids)
    if isinstance(store, SQLiteKeyStore):
        store._db.set_trace_callback(None)
    assert len(found) == 10
    selects = [text for text in statements if "select" in text.lower()]
    assert len(selects) == 1, statements


def test_an_erasure_tombstones_the_live_key(open_keys: Opener) -> None:
    store = open_keys()
    live = store.active_key("user_alice")
    before = datetime.now(UTC)
    [tombstone] = store.erase("user_alice", erased_by=None, reason="request")
    assert isinstance(tombstone, ErasedKey)
    assert (tombstone.key_id, tombstone.subject) == (live.key_id, "user_alice")
    assert (tombstone.erased_by, tombstone.reason) == (None, "request")
    assert tombstone.erased_at.tzinfo is not None
    assert before - timedelta(seconds=5) <= tombstone.erased_at <= datetime.now(UTC)
    assert not hasattr(tombstone, "key")
    assert store.keys_of("user_alice") == [tombstone]
    assert store.keys([live.key_id]) == {live.key_id: tombstone}


def test_an_erased_subject_gets_no_new_key_unless_renewed(open_keys: Opener) -> None:
    store = open_keys()
    old = store.active_key("user_alice")
    [tombstone] = store.erase("user_alice", erased_by=None, reason="request")
    with pytest.raises(SubjectErasedError) as raised:
        store.active_key("user_alice")
    assert raised.value.subject == "user_alice"
    assert raised.value.erased_at == tombstone.erased_at.astimezone(UTC).date().isoformat()
    renewed = store.active_key("user_alice", renew=True)
    assert renewed.key_id != old.key_id and renewed.key != old.key
    assert store.active_key("user_alice") == renewed  # live again: no renew needed
    assert [state.key_id for state in store.keys_of("user_alice")] == [old.key_id, renewed.key_id]


def test_erasing_a_subject_without_a_live_key_destroys_nothing(open_keys: Opener) -> None:
    store = open_keys()
    assert store.erase("user_nobody", erased_by=None, reason="request") == []
    store.active_key("user_alice")
    [first] = store.erase("user_alice", erased_by=None, reason="request")
    assert store.erase("user_alice", erased_by="user_admin", reason="again") == []
    assert store.keys_of("user_alice") == [first]  # the tombstone is not rewritten


def test_an_erasure_leaves_other_subjects_alone(open_keys: Opener) -> None:
    store = open_keys()
    bob = store.active_key("user_bob")
    store.active_key("user_alice")
    store.erase("user_alice", erased_by=None, reason="request")
    assert store.active_key("user_bob") == bob


def test_a_tombstone_survives_opening_the_store_again(open_sql_keys: Opener) -> None:
    store = open_sql_keys()
    live = store.active_key("user_alice")
    [tombstone] = store.erase("user_alice", erased_by="user_admin", reason="request")
    found = open_sql_keys().keys([live.key_id])[live.key_id]
    assert isinstance(found, ErasedKey)
    assert found.erased_at == tombstone.erased_at and found.erased_by == "user_admin"


# -- the key-encryption key ------------------------------------------------------------------


def test_a_wrong_key_encryption_key_does_not_open_the_keys(open_sql_keys: Opener) -> None:
    live = open_sql_keys().active_key("user_alice")
    wrong = open_sql_keys(kek=OTHER_KEK)
    # A read gets a key it can name but not use (its data then reads as unreadable) ...
    unusable = wrong.keys([live.key_id])[live.key_id]
    assert isinstance(unusable, UnusableKey)
    assert "CHRONICLE_KEY_ENCRYPTION_KEY" in unusable.problem
    # ... a writer is refused: nothing is sealed under a key nobody can unwrap.
    with pytest.raises(KeyWrapError):
        wrong.active_key("user_alice")


def test_a_wrong_key_encryption_key_still_reads_tombstones(open_sql_keys: Opener) -> None:
    store = open_sql_keys()
    live = store.active_key("user_alice")
    store.erase("user_alice", erased_by=None, reason="request")
    assert isinstance(open_sql_keys(kek=OTHER_KEK).keys([live.key_id])[live.key_id], ErasedKey)


def test_a_wrapped_key_is_bound_to_its_id_and_subject() -> None:
    wrapped = wrap(KEK, "dk-1", "user_alice", b"k" * 32)
    assert unwrap(KEK, "dk-1", "user_alice", wrapped) == b"k" * 32
    assert b"k" * 32 not in wrapped
    for key_id, subject in [("dk-2", "user_alice"), ("dk-1", "user_bob")]:
        with pytest.raises(KeyWrapError):
            unwrap(KEK, key_id, subject, wrapped)
    with pytest.raises(KeyWrapError):
        unwrap(OTHER_KEK, "dk-1", "user_alice", wrapped)


def test_a_wrapped_key_moved_to_another_subjects_row_does_not_open(tmp_path: Path) -> None:
    store = SQLiteKeyStore(f"sqlite:///{tmp_path / 'keys.db'}", KEK)
    try:
        alice, bob = store.active_key("user_alice"), store.active_key("user_bob")
        with sqlite3.connect(tmp_path / "keys.db") as db:
            db.execute(
                "UPDATE chronicle_data_keys SET wrapped = "
                "(SELECT wrapped FROM chronicle_data_keys WHERE key_id = ?) WHERE key_id = ?",
                (alice.key_id, bob.key_id),
            )
        db.close()
        assert isinstance(store.keys([bob.key_id])[bob.key_id], UnusableKey)
        with pytest.raises(KeyWrapError):
            store.active_key("user_bob")
    finally:
        store.close()


def test_a_key_encryption_key_is_32_bytes_of_base64() -> None:
    text = new_kek_text()
    assert len(parse_kek(text)) == 32
    assert parse_kek(f"  {text}\n") == parse_kek(text)
    for bad in ["", "not base64!", "AAAA", new_kek_text() + "AAAA"]:
        with pytest.raises(ConfigurationError) as raised:
            parse_kek(bad)
        assert raised.value.variable == "CHRONICLE_KEY_ENCRYPTION_KEY"


def test_a_key_encryption_key_file_is_made_once_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys" / "chronicle.kek"
    first = kek_from_file(path)
    assert len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert kek_from_file(path) == first


def test_a_key_encryption_key_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chronicle.kek"
    path.write_text("not a key\n")
    with pytest.raises(ConfigurationError):
        kek_from_file(path)


# -- erasure leaves no wrapped key -----------------------------------------------------------


def test_sqlite_erasure_wipes_the_wrapped_key_from_the_file(tmp_path: Path) -> None:
    file = tmp_path / "keys.db"
    store = SQLiteKeyStore(f"sqlite:///{file}", KEK)
    try:
        live = store.active_key("user_alice")
        store.active_key("user_bob")
        with sqlite3.connect(file) as db:
            [(wrapped,)] = db.execute(
                "SELECT wrapped FROM chronicle_data_keys WHERE key_id = ?", (live.key_id,)
            ).fetchall()
        db.close()
        assert len(wrapped) == 12 + 32 + 16
        assert bytes(wrapped) in file.read_bytes()  # the check below can see it
        store.erase("user_alice", erased_by=None, reason="request")
        assert bytes(wrapped) not in file.read_bytes()
        assert live.key not in file.read_bytes()
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "keys.db"]
        assert leftovers == []  # no journal or write-ahead log keeps a copy
        with sqlite3.connect(file) as db:
            row = db.execute(
                "SELECT wrapped, erased_at FROM chronicle_data_keys WHERE key_id = ?",
                (live.key_id,),
            ).fetchone()
        db.close()
        assert row[0] is None and row[1] is not None
    finally:
        store.close()


def test_postgres_erasure_sets_the_wrapped_key_to_null(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    store = PostgresKeyStore(url, KEK, schema=schema)
    try:
        live = store.active_key("user_alice")
        query = f'SELECT wrapped, erased_at FROM "{schema}".chronicle_data_keys WHERE key_id = %s'
        with psycopg.connect(url) as conn:
            wrapped, erased_at = conn.execute(query, (live.key_id,)).fetchone()  # type: ignore[misc]
        assert wrapped is not None and erased_at is None
        store.erase("user_alice", erased_by=None, reason="request")
        with psycopg.connect(url) as conn:
            wrapped, erased_at = conn.execute(query, (live.key_id,)).fetchone()  # type: ignore[misc]
        assert wrapped is None and erased_at is not None
    finally:
        store.close()


def test_the_postgres_key_store_lives_in_its_own_schema(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    PostgresKeyStore(url, KEK, schema=schema).close()
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    assert tables == [("chronicle_data_keys",)]


def test_postgres_erasure_dates_are_utc_whatever_the_session_time_zone(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    zoned = f"{url}?options={quote('-ctimezone=Pacific/Kiritimati')}"  # UTC+14
    store = PostgresKeyStore(zoned, KEK, schema=schema)
    try:
        store.active_key("user_alice")
        [tombstone] = store.erase("user_alice", erased_by=None, reason="request")
        assert tombstone.erased_at.utcoffset() == timedelta(0)
        [again] = store.keys_of("user_alice")
        assert again.erased_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]
    finally:
        store.close()


# -- an unreachable store --------------------------------------------------------------------


def test_an_unreachable_postgres_key_store_fails_typed_and_names_the_setting() -> None:
    started = time.monotonic()
    with pytest.raises(KeyStoreUnavailableError) as raised:
        PostgresKeyStore(UNREACHABLE, KEK, schema="chronicle_keys", connect_timeout=1.0)
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert "key store" in message
    assert "chronicle_keys" in message
    assert "CHRONICLE_KEY_STORE_URL" in message


def test_an_unreachable_postgres_key_store_names_where_and_why() -> None:
    with pytest.raises(KeyStoreUnavailableError) as raised:
        PostgresKeyStore(UNREACHABLE, KEK, schema="chronicle_keys", connect_timeout=1.0)
    message = str(raised.value)
    assert "127.0.0.1" in message or "refused" in message.lower()


def test_an_unopenable_sqlite_key_store_fails_typed(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(KeyStoreUnavailableError, match="CHRONICLE_KEY_STORE_URL"):
        SQLiteKeyStore(f"sqlite:///{tmp_path / 'a-file' / 'keys.db'}", KEK)


def test_a_sqlite_key_store_is_made_readable_by_its_owner_only(tmp_path: Path) -> None:
    file = tmp_path / "new-folder" / "keys.db"
    SQLiteKeyStore(f"sqlite:///{file}", KEK).close()
    assert file.stat().st_mode & 0o077 == 0


# -- the lazy store --------------------------------------------------------------------------


class Opening:
    """Opens a memory store, failing the first ``failures`` times."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.calls = 0
        self.stores: list[MemoryKeyStore] = []

    def __call__(self) -> KeyStore:
        self.calls += 1
        time.sleep(self.delay)
        if self.calls <= self.failures:
            raise KeyStoreUnavailableError("the key store is down")
        store = MemoryKeyStore()
        self.stores.append(store)
        return store


def test_a_lazy_store_opens_on_first_use_and_once() -> None:
    opening = Opening()
    lazy = LazyKeyStore(opening, "memory")
    assert opening.calls == 0
    key = lazy.active_key("user_alice")
    assert lazy.keys([key.key_id]) == {key.key_id: key}
    assert lazy.keys_of("user_alice") == [key]
    assert [t.key_id for t in lazy.erase("user_alice", erased_by=None, reason="r")] == [key.key_id]
    assert opening.calls == 1
    assert lazy.description == "memory"


def test_a_lazy_store_opens_again_after_a_failed_open() -> None:
    opening = Opening(failures=2)
    lazy = LazyKeyStore(opening, "memory")
    for _ in range(2):
        with pytest.raises(KeyStoreUnavailableError):
            lazy.active_key("user_alice")
    key = lazy.active_key("user_alice")
    assert lazy.active_key("user_alice") == key
    assert opening.calls == 3


def test_a_lazy_store_opened_by_many_threads_at_once_opens_once() -> None:
    opening = Opening(delay=0.05)
    lazy = LazyKeyStore(opening, "memory")
    barrier = threading.Barrier(6)
    found: list[DataKey] = []

    def use() -> None:
        barrier.wait()
        found.append(lazy.active_key("user_alice"))

    workers = [threading.Thread(target=use) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert opening.calls == 1
    assert len({key.key_id for key in found}) == 1 and len(found) == 6


def test_a_closed_lazy_store_opens_again_on_next_use() -> None:
    opening = Opening()
    lazy = LazyKeyStore(opening, "memory")
    lazy.active_key("user_alice")
    lazy.close()
    lazy.close()  # closing a closed store is harmless
    lazy.active_key("user_alice")
    assert opening.calls == 2


def test_a_lazy_postgres_store_fails_while_unreachable_and_works_once_reachable(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    target = {"url": UNREACHABLE}
    lazy = LazyKeyStore(
        lambda: PostgresKeyStore(target["url"], KEK, schema=schema, connect_timeout=1.0),
        "postgresql",
    )
    try:
        with pytest.raises(KeyStoreUnavailableError):
            lazy.active_key("user_alice")
        target["url"] = url  # the server is back
        key = lazy.active_key("user_alice")
        assert lazy.keys([key.key_id]) == {key.key_id: key}
    finally:
        lazy.close()
