"""The key store in a SQLite file of its own (by default beside the event store's file).

``secure_delete`` is on, so the page that held an erased key is overwritten with zeros, and the
rollback journal (not a write-ahead log) is removed at each commit: no copy of a destroyed key
stays in the file or beside it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from chronicle.errors import KeyStoreUnavailableError, StoreUnavailableError, SubjectErasedError
from chronicle.personal.keystore import (
    DataKey,
    ErasedKey,
    KeyState,
    new_data_key,
    new_key_id,
    rows,
    wrap,
)
from chronicle.store.sqlite.connections import create_private, path_from_url

T = TypeVar("T")
_TABLE = "chronicle_data_keys"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_TABLE} (
    key_id     TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    wrapped    BLOB,
    created_at TEXT NOT NULL,
    erased_at  TEXT,
    erased_by  TEXT,
    reason     TEXT,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS {_TABLE}_live ON {_TABLE} (subject) WHERE erased_at IS NULL;
CREATE INDEX IF NOT EXISTS {_TABLE}_subject ON {_TABLE} (subject);
"""


_KEYS_BY_ID = (
    f"SELECT {rows.COLUMNS} FROM {_TABLE} WHERE key_id IN (SELECT value FROM json_each(?))"
)


def _sql(statement: str) -> str:
    return statement.format(table=_TABLE, p="?")


class SQLiteKeyStore:
    def __init__(self, url: str, kek: bytes) -> None:
        self.path = path_from_url(url)
        self._kek = kek
        self._lock = threading.Lock()
        try:
            create_private(self.path)  # readable by its owner only, as the event store's file
        except StoreUnavailableError as exc:
            raise KeyStoreUnavailableError(f"{exc} (CHRONICLE_KEY_STORE_URL)") from exc
        try:
            self._db = sqlite3.connect(
                self.path, timeout=5.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.execute("PRAGMA journal_mode = DELETE")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise KeyStoreUnavailableError(
                f"cannot open the key store {self.path!r}: {exc} (CHRONICLE_KEY_STORE_URL)"
            ) from exc

    def _run(self, work: Callable[[sqlite3.Connection], T], *, writes: bool = True) -> T:
        """``work`` in one transaction: a write takes the file's write lock at once (``BEGIN
        IMMEDIATE``), a read does not, so readers never wait behind another process's writes."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
                try:
                    result = work(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                raise KeyStoreUnavailableError(
                    f"the key store {self.path!r} failed: {exc}"
                ) from exc

    def _key(self, row: tuple[Any, ...]) -> KeyState:
        return rows.key_from(row, self._kek, rows.as_datetime)

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        def work(db: sqlite3.Connection) -> DataKey:
            row = db.execute(_sql(rows.ACTIVE_KEY), (subject,)).fetchone()
            if row is not None:
                return rows.live_key(self._key(row))
            if not renew:
                erased = db.execute(_sql(rows.LATEST_TOMBSTONE), (subject,)).fetchone()
                if erased is not None:
                    raise SubjectErasedError(subject, str(erased[4])[:10])
            key = DataKey(new_key_id(), subject, new_data_key())
            db.execute(
                _sql(rows.INSERT_KEY),
                (
                    key.key_id,
                    subject,
                    wrap(self._kek, key.key_id, subject, key.key),
                    datetime.now(UTC).isoformat(),
                ),
            )
            return key

        return self._run(work)

    def keys(self, key_ids: Collection[str]) -> dict[str, KeyState]:
        ids = orjson.dumps(list(key_ids)).decode()
        return self._run(
            lambda db: {
                row[0]: self._key(row) for row in db.execute(_KEYS_BY_ID, (ids,)).fetchall()
            },
            writes=False,
        )

    def keys_of(self, subject: str) -> list[KeyState]:
        return self._run(
            lambda db: [self._key(row) for row in db.execute(_sql(rows.KEYS_OF), (subject,))],
            writes=False,
        )

    def tombstones(self) -> list[ErasedKey]:
        return self._run(
            lambda db: [
                key
                for key in map(self._key, db.execute(_sql(rows.TOMBSTONES)).fetchall())
                if isinstance(key, ErasedKey)
            ]
        )

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> list[ErasedKey]:
        return self.erase_all([subject], erased_by=erased_by, reason=reason)

    def erase_all(
        self, subjects: Sequence[str], *, erased_by: str | None, reason: str
    ) -> list[ErasedKey]:
        now = datetime.now(UTC).isoformat()

        def work(db: sqlite3.Connection) -> list[ErasedKey]:
            erased = []
            for subject in subjects:
                erased += db.execute(_sql(rows.ERASE), (now, erased_by, reason, subject)).fetchall()
            return [key for key in map(self._key, erased) if isinstance(key, ErasedKey)]

        tombstones = self._run(work)
        if tombstones:
            with self._lock:
                self._db.execute("VACUUM")  # no free page keeps the overwritten keys either
        return tombstones

    def close(self) -> None:
        with self._lock:
            self._db.close()
