"""Shared fixtures: real stores on SQLite files and on PostgreSQL schemas.

Each PostgreSQL test gets a schema of its own (``search_path`` in the URL), dropped afterwards.
Without a reachable server, PostgreSQL tests skip, except under CI (``CI`` set), where they fail:
CI must prove every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from chronicle.bootstrap import open_store
from chronicle.config import load_settings
from chronicle.store.memory import MemoryEventStore
from chronicle.store.ports import Capabilities, EventStore
from chronicle.store.postgres import PostgresEventStore
from chronicle.store.sqlite import SQLiteEventStore

# Every store a test (or a process it starts) opens seals personal data with this key-encryption
# key: a PostgreSQL key store has no other (see bootstrap.key_store_for). Set before any
# setting is read; subprocesses inherit it.
os.environ.setdefault(
    "CHRONICLE_KEY_ENCRYPTION_KEY", "dGVzdHMgb2YgY2hyb25pY2xlOiBub3Qgc2VjcmV0ISE="
)

# Passwords hashed with argon2-cffi's cheapest parameters: the suite makes thousands of users
# and log-ins, each 0.2-0.3 s of CPU under the production profile. Subprocesses inherit it;
# tests/unit/test_password_profile.py checks the default.
os.environ.setdefault("CHRONICLE_PASSWORD_PROFILE", "CHEAPEST")

POSTGRES_URL = os.environ.get(
    "CHRONICLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
CONTRACT_BACKENDS = [*BACKENDS, "memory"]
"""The contract suite (tests/contract) also holds the in-memory store to the contract."""
CAPABILITIES: dict[str, Capabilities] = {
    "sqlite": SQLiteEventStore.capabilities,
    "postgresql": PostgresEventStore.capabilities,
    "memory": MemoryEventStore.capabilities,
}


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL; skips (fails under CI) when it is unreachable."""
    problem = _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL is unreachable at {POSTGRES_URL}: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    return POSTGRES_URL


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of the test server."""
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_keys" CASCADE')  # its key store


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a fresh store of the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'chronicle.db'}"
    if backend == "memory":
        return "memory://"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[..., EventStore]]:
    """Open (and finally close) stores on the test's URL; settings may be overridden."""
    opened: list[EventStore] = []

    def make(**overrides: object) -> EventStore:
        settings = load_settings(**overrides) if overrides else load_settings()
        store = open_store(store_url, settings=settings)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


ASYNC_API_MODULES = (
    "tests.contract.test_event_store",
    "tests.contract.test_search_events",
    "tests.integration.store.test_compression",  # compressed payloads read back through it
)
"""Modules whose ``store`` tests also run through the async API (see
tests/support/async_api.py)."""


@pytest.fixture
def store_api(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sync")


@pytest.fixture
def store(make_store: Callable[..., EventStore], store_url: str, store_api: str) -> Iterator[Any]:
    sync_store = make_store()
    if store_api == "sync":
        yield sync_store
        return
    from tests.support.async_api import AsyncFacade

    facade = AsyncFacade(store_url, sync_store)
    yield facade
    facade.shut_down()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``store_url`` (directly or through ``store``) runs on each backend.

    A test marked ``@pytest.mark.needs("capability")`` runs only on the backends that declare
    that capability (see ``chronicle.store.ports.Capabilities``), instead of skipping elsewhere.
    """
    if "store_url" not in metafunc.fixturenames or any(
        marker.name == "parametrize" and "store_url" in str(marker.args[0])
        for marker in metafunc.definition.iter_markers()
    ):
        return
    contract = metafunc.module.__name__.startswith("tests.contract")
    backends = CONTRACT_BACKENDS if contract else BACKENDS
    for marker in metafunc.definition.iter_markers("needs"):
        backends = [
            name for name in backends if all(CAPABILITIES[name].has(n) for n in marker.args)
        ]
    metafunc.parametrize("store_url", backends, indirect=True)
    if "store" in metafunc.fixturenames and metafunc.module.__name__ in ASYNC_API_MODULES:
        metafunc.parametrize("store_api", ["sync", "async"], indirect=True)
