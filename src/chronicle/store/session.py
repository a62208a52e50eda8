"""A transaction on the store's own database, for read models kept beside the events.

Projections write their read models through a :class:`Session` so that a read-model change and
the projection's checkpoint (or, inline, the append itself) commit in one transaction. SQL is
written once for both backends with ``:name`` placeholders; the PostgreSQL session rewrites them
to psycopg's ``%(name)s`` form.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from chronicle.store.sql.dialect import Dialect

Params = Mapping[str, Any] | Sequence[Any]

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Session(Protocol):
    """One open transaction. ``backend`` tells SQL dialect differences apart where needed."""

    backend: str

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    def pipeline(self) -> AbstractContextManager[object]:
        """Send the statements run inside without waiting for each result (PostgreSQL).

        Use it around many writes whose results are not read (a projection's batch); leave it
        before reading a result.
        """
        ...


class PostgresDialect(Dialect):
    """Interim: PostgreSQL's row lock (the PostgreSQL package gets its own dialect)."""

    name = "postgresql"
    for_update = " FOR UPDATE"


class SQLiteSession:
    backend = "sqlite"
    dialect = Dialect()

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def pipeline(self) -> AbstractContextManager[object]:
        return nullcontext()  # in-process: no round trips to save


class PostgresSession:
    backend = "postgresql"
    dialect: Dialect = PostgresDialect()

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._cache: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        translated = self._cache.get(sql)
        if translated is None:
            translated = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
            self._cache[sql] = translated
        return translated

    def _run(self, sql: str, params: Params) -> Any:
        if isinstance(params, Mapping):
            return self._conn.execute(self._sql(sql), params)
        return self._conn.execute(sql.replace("?", "%s"), params)

    def execute(self, sql: str, params: Params = ()) -> int:
        return int(self._run(sql, params).rowcount)

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._run(sql, params).fetchall()
        return rows

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._run(sql, params).fetchone()
        return row

    def pipeline(self) -> AbstractContextManager[object]:
        return self._conn.pipeline()
