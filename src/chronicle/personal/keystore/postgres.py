"""The key store in a PostgreSQL schema of its own (by default ``chronicle_keys`` in the event
store's database), so ``pg_dump --exclude-schema`` takes a backup of the events without keys and
the schema can be granted to a role of its own."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from chronicle.errors import KeyStoreUnavailableError, SubjectErasedError
from chronicle.personal.keystore import (
    DataKey,
    ErasedKey,
    KeyState,
    new_data_key,
    new_key_id,
    rows,
    wrap,
)

T = TypeVar("T")
_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {table} (
    key_id     text PRIMARY KEY,
    subject    text NOT NULL,
    wrapped    bytea,
    created_at timestamptz NOT NULL,
    erased_at  timestamptz,
    erased_by  text,
    reason     text,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS chronicle_data_keys_live ON {table} (subject)
    WHERE erased_at IS NULL;
CREATE INDEX IF NOT EXISTS chronicle_data_keys_subject ON {table} (subject);
"""


_KEYS_BY_ID = f"SELECT {rows.COLUMNS} FROM {{table}} WHERE key_id = ANY({{p}})"


class PostgresKeyStore:
    def __init__(self, conninfo: str, kek: bytes, *, schema: str, connect_timeout: float = 5.0):
        self.schema = schema
        self._conninfo = conninfo
        self._connect_timeout = max(1, int(connect_timeout))
        self._kek = kek
        self._table = sql.Identifier(schema, "chronicle_data_keys")
        self._statements: dict[str, sql.Composed] = {}
        try:
            # One connection first: a refusal is reported at once, with the driver's reason.
            psycopg.connect(conninfo, connect_timeout=max(1, int(connect_timeout))).close()
        except psycopg.Error as exc:
            raise KeyStoreUnavailableError(
                f"cannot reach the key store (schema {schema!r}): {exc} (CHRONICLE_KEY_STORE_URL)"
            ) from exc
        try:
            self._pool = ConnectionPool(
                conninfo,
                min_size=1,
                max_size=4,
                timeout=connect_timeout,
                kwargs={"connect_timeout": max(1, int(connect_timeout))},
                open=False,
            )
            self._pool.open(wait=True, timeout=connect_timeout)
            with self._pool.connection() as conn, conn.transaction():
                # Concurrent IF NOT EXISTS creations can still collide: one at a time.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('chronicle key store'))")
                conn.execute(
                    sql.SQL(_SCHEMA).format(schema=sql.Identifier(schema), table=self._table)
                )
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()
            raise KeyStoreUnavailableError(
                f"cannot open the key store schema {schema!r}: {exc} (CHRONICLE_KEY_STORE_URL)"
            ) from exc

    def _sql(self, statement: str) -> sql.Composed:
        composed = self._statements.get(statement)
        if composed is None:
            text = statement.replace("{table}", "{t}").replace("{p}", "%s")
            composed = sql.SQL(text).format(t=self._table)
            self._statements[statement] = composed
        return composed

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            with self._pool.connection() as conn, conn.transaction():
                return work(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise KeyStoreUnavailableError(f"the key store failed: {exc}") from exc

    def _key(self, row: tuple[Any, ...]) -> KeyState:
        return rows.key_from(row, self._kek, lambda value: value.astimezone(UTC))

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        def work(conn: psycopg.Connection[Any]) -> DataKey:
            # One maker per subject at a time: the second waits, then finds the first's key.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"dk:{subject}",))
            row = conn.execute(self._sql(rows.ACTIVE_KEY), (subject,)).fetchone()
            if row is not None:
                return rows.live_key(self._key(row))
            if not renew:
                erased = conn.execute(self._sql(rows.LATEST_TOMBSTONE), (subject,)).fetchone()
                if erased is not None:
                    erased_on = erased[4].astimezone(UTC).date().isoformat()
                    raise SubjectErasedError(subject, erased_on)
            key = DataKey(new_key_id(), subject, new_data_key())
            conn.execute(
                self._sql(rows.INSERT_KEY),
                (
                    key.key_id,
                    subject,
                    wrap(self._kek, key.key_id, subject, key.key),
                    datetime.now(UTC),
                ),
            )
            return key

        return self._run(work)

    def keys(self, key_ids: Collection[str]) -> dict[str, KeyState]:
        return self._run(
            lambda conn: {
                row[0]: self._key(row)
                for row in conn.execute(self._sql(_KEYS_BY_ID), (list(key_ids),)).fetchall()
            }
        )

    def keys_of(self, subject: str) -> list[KeyState]:
        return self._run(
            lambda conn: [
                self._key(row) for row in conn.execute(self._sql(rows.KEYS_OF), (subject,))
            ]
        )

    def tombstones(self) -> list[ErasedKey]:
        return self._run(
            lambda conn: [
                key
                for key in map(self._key, conn.execute(self._sql(rows.TOMBSTONES)).fetchall())
                if isinstance(key, ErasedKey)
            ]
        )

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        return self.erase_all([subject], erased_by=erased_by, reason=reason)

    def erase_all(
        self, subjects: Sequence[str], *, erased_by: str | None, reason: str
    ) -> list[ErasedKey]:
        def work(conn: psycopg.Connection[Any]) -> list[ErasedKey]:
            now, erased = datetime.now(UTC), []
            for subject in subjects:
                erased += conn.execute(
                    self._sql(rows.ERASE), (now, erased_by, reason, subject)
                ).fetchall()
            return [key for key in map(self._key, erased) if isinstance(key, ErasedKey)]

        tombstones = self._run(work)
        if tombstones:
            self._vacuum()
        return tombstones

    def _vacuum(self) -> None:
        """Rewrite the key table (VACUUM FULL: a short exclusive lock on a small table), so no
        data file keeps a row version that still held a destroyed key: a plain VACUUM frees
        the space but leaves the bytes in it."""
        try:
            with psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
            ) as conn:
                conn.execute(sql.SQL("VACUUM FULL {}").format(self._table))
        except psycopg.OperationalError as exc:
            raise KeyStoreUnavailableError(f"the key store failed: {exc}") from exc

    def close(self) -> None:
        self._pool.close()
