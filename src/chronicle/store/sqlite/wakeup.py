"""Waking SQLite log followers: ``PRAGMA data_version`` changes when another connection commits."""

from __future__ import annotations

import sqlite3
import time


class SQLiteWakeup:
    def __init__(self, path: str, interval: float = 0.005) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._interval = interval
        self._version = self._data_version()

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            version = self._data_version()
            if version != self._version:
                self._version = version
                return
            time.sleep(self._interval)

    def close(self) -> None:
        self._conn.close()
