"""A transaction (or an autocommit connection) on PostgreSQL, as a :class:`Session`."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from chronicle.store.ports import Params
from chronicle.store.sql.dialect import Dialect

from .dialect import DIALECT


class PostgresSession:
    """``:name`` placeholders with a mapping become psycopg's ``%(name)s`` (translated once per
    statement text, process-wide); ``?`` with a sequence becomes ``%s``. ``binary`` asks for
    results in the binary protocol (faster to decode for event rows)."""

    backend = "postgresql"
    dialect: Dialect = DIALECT

    def __init__(self, conn: Any, *, binary: bool = False) -> None:
        self.connection = conn
        self._binary = binary

    def _sql(self, sql: str) -> str:
        return DIALECT.sql(sql)

    def _cursor(self) -> Any:
        return self.connection.cursor(binary=self._binary)

    @staticmethod
    def _run(cursor: Any, sql: str, params: Params, *, prepare: bool | None = None) -> Any:
        if not params:
            return cursor.execute(sql, prepare=prepare)  # no placeholders: the text as it is
        if isinstance(params, Mapping):
            return cursor.execute(DIALECT.sql(sql), params, prepare=prepare)
        return cursor.execute(sql.replace("?", "%s"), params, prepare=prepare)

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._cursor() as cursor:
            return int(self._run(cursor, sql, params).rowcount)

    def fetchall(
        self, sql: str, params: Params = (), *, replan: bool = False
    ) -> list[tuple[Any, ...]]:
        # psycopg prepares a statement run often; PostgreSQL may then plan it once for any
        # values, which walks a whole index for a narrow ``since`` (see Session.fetchall).
        prepare = False if replan else None
        with self._cursor() as cursor:
            rows: list[tuple[Any, ...]] = self._run(cursor, sql, params, prepare=prepare).fetchall()
        return rows

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self._cursor() as cursor:
            row: tuple[Any, ...] | None = self._run(cursor, sql, params).fetchone()
        return row

    def pipeline(self) -> AbstractContextManager[object]:
        result: AbstractContextManager[object] = self.connection.pipeline()
        return result
