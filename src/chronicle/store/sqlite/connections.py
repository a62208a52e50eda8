"""The SQLite file's connections: one writer behind a lock, one reader per thread.

SQLite allows one writer at a time. Within a process, writers queue on a lock in front of the
single write connection (cheaper than letting SQLite's busy handler sleep); across processes,
``BEGIN IMMEDIATE`` and a busy timeout serialise them. WAL mode lets readers proceed during
writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from chronicle.errors import ConfigurationError, StoreUnavailableError

SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}


def path_from_url(url: str) -> str:
    """The file of ``sqlite:///relative/path`` or ``sqlite:////absolute/path``.

    In-memory databases are refused: each connection would see a database of its own, and an
    audit trail that vanishes with the process is not one (the in-memory store is for tests).
    """
    if not url.startswith("sqlite:///"):
        raise ConfigurationError("EVENT_STORE_URL", f"not a SQLite URL (sqlite:///path): {url!r}")
    path = url.removeprefix("sqlite:///")
    if path in ("", ":memory:") or path.startswith("file::memory:"):
        raise ConfigurationError(
            "EVENT_STORE_URL", "an in-memory SQLite store is not supported; give a file path"
        )
    return path


def create_private(path: str) -> None:
    """Create the database file (and its folder) readable by their owner only, if new.

    The file holds the whole audit trail and the service's password hashes. SQLite gives its
    write-ahead log and shared-memory files the database file's permissions, so those follow.
    """
    file = Path(path)
    try:
        if not file.parent.exists():
            file.parent.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create the folder of the SQLite store {path!r}: {exc}"
        ) from exc
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing store keeps the permissions its operator gave it
    except OSError as exc:
        raise StoreUnavailableError(f"cannot create the SQLite store {path!r}: {exc}") from exc


class _Reader:
    """A thread's read connection; closed when the thread (and so this object) goes away."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        with suppress(sqlite3.Error):
            self.conn.close()


class Connections:
    """The writer, the readers and their lifetimes, for one SQLite file."""

    def __init__(self, path: str, *, synchronous: str, busy_timeout_ms: int) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS)}")
        self.path = path
        self._synchronous = synchronous.upper()
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        create_private(path)
        self._writer = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            # What a write frees or overwrites is zeroed, not left in free pages: after an
            # erasure redacted a read model, the file keeps no copy of the text.
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError("the store is closed")

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (in autocommit mode)."""
        self._check_open()
        reader = getattr(self._local, "reader", None)
        if reader is None:
            # Held by the thread alone: when the thread ends, the connection closes with it.
            reader = _Reader(self._connect())
            self._local.reader = reader
            with self._readers_lock:
                self._readers.add(reader)
        return reader.conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader inside one read transaction: a consistent view while it lasts."""
        conn = self.reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the single writer connection."""
        self._check_open()
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreUnavailableError(
                    f"cannot start a write on {self.path!r}: {exc}"
                ) from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def checkpoint_and_truncate(self, attempts: int = 50) -> bool:
        """Copy the write-ahead log into the file and cut it to nothing (``wal_checkpoint
        (TRUNCATE)``), so no page image it held survives; whether that succeeded (a reader in
        the middle of a long read can hold it back: tried ``attempts`` times, 0.1 s apart)."""
        self._check_open()
        for attempt in range(attempts):
            with self._write_lock:
                busy, _, _ = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            if attempt + 1 < attempts:
                time.sleep(0.1)
        return False

    def size_bytes(self) -> int:
        """The database file with its write-ahead log and shared-memory index."""
        size = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(self.path + suffix)
            if candidate.exists():
                size += candidate.stat().st_size
        return size

    def close(self) -> None:
        self._closed = True
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            for reader in list(self._readers):
                reader.conn.close()
            self._readers.clear()
