"""Where each contender's data lives: a fresh PostgreSQL schema or a fresh SQLite file.

Every contender of every case gets a place of its own, so no one reads another's rows or
inherits its table bloat. PostgreSQL places live in a dedicated database (``chronicle_bench`` by
default, created when missing) and are dropped when the run ends; SQLite places live in a
temporary directory removed at the end.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import conninfo

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/chronicle_bench"
SQLITE_SYNCHRONOUS = "FULL"  # Chronicle's default durability; the raw driver uses the same


@dataclass
class Place:
    """One contender's private storage, reachable by Chronicle, the raw driver and the peer."""

    backend: str
    chronicle_url: str
    raw_target: str  # a psycopg conninfo URL, or a SQLite file path
    peer_env: dict[str, str] = field(default_factory=dict)

    def raw_connect(self) -> Any:
        """A plain driver connection in autocommit mode (SQLite: WAL, synchronous=FULL)."""
        conn: Any
        if self.backend == "postgresql":
            conn = psycopg.connect(self.raw_target, autocommit=True)
            conn.execute("SET timezone TO 'UTC'")
            return conn
        conn = sqlite3.connect(self.raw_target, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn


class PostgresSite:
    """Hands out schemas of the benchmark database; drops them all on ``close``."""

    backend = "postgresql"

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ.get("CHRONICLE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        self._schemas: list[str] = []
        self._ensure_database()

    def _ensure_database(self) -> None:
        info = conninfo.conninfo_to_dict(self.url)
        dbname = str(info.get("dbname") or "chronicle_bench")
        admin = conninfo.make_conninfo(self.url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{dbname}"')

    def server_version(self) -> str:
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def spare_schema(self, label: str) -> str:
        """A schema name of its own, not created, dropped on ``close`` (a key store's)."""
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        self._schemas.append(schema)
        return schema

    def place(self, label: str) -> Place:
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        separator = "&" if "?" in self.url else "?"
        url = f"{self.url}{separator}options={quote(f'-csearch_path={schema}')}"
        info = conninfo.conninfo_to_dict(self.url)
        peer_env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(info.get("dbname") or "chronicle_bench"),
            "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
            "POSTGRES_PORT": str(info.get("port") or "5432"),
            "POSTGRES_USER": str(info.get("user") or "postgres"),
            "POSTGRES_PASSWORD": str(info.get("password") or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "10",
        }
        return Place(self.backend, url, url, peer_env)

    def close(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for schema in self._schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._schemas.clear()


class SQLiteSite:
    """Hands out SQLite files in a temporary directory; removes it on ``close``."""

    backend = "sqlite"

    def __init__(self) -> None:
        self._directory = tempfile.mkdtemp(prefix="chronicle-bench-")

    def server_version(self) -> str:
        return sqlite3.sqlite_version

    def place(self, label: str) -> Place:
        path = os.path.join(self._directory, f"{label}-{uuid.uuid4().hex[:8]}.db")
        peer_env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
        return Place(self.backend, f"sqlite:///{path}", path, peer_env)

    def close(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


Site = PostgresSite | SQLiteSite
