"""A transaction (or a plain connection) on the SQLite file, as a :class:`Session`."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from chronicle.store.ports import Params
from chronicle.store.sql.dialect import Dialect

from .dialect import SQLiteDialect

DIALECT = SQLiteDialect()


class SQLiteSession:
    """SQLite takes ``:name`` placeholders with a mapping, and ``?`` with a sequence, itself."""

    backend = "sqlite"
    dialect: Dialect = DIALECT

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def fetchall(
        self, sql: str, params: Params = (), *, replan: bool = False
    ) -> list[tuple[Any, ...]]:
        # ``replan`` changes nothing here: SQLite's plans do not depend on the bound values.
        return self._conn.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def pipeline(self) -> AbstractContextManager[object]:
        return nullcontext()  # in-process: no round trips to save
