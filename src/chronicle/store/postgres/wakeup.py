"""Waking PostgreSQL log followers soon after new events commit, without slowing appends.

Appending only sets a flag; a notifier thread sends ``NOTIFY chronicle_events`` after the commit,
at most once per interval, so ``NOTIFY`` never runs inside an append's transaction (where it
would take a global lock at commit). Followers ``LISTEN`` on a connection of their own and fall
back to polling.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

log = logging.getLogger(__name__)
CHANNEL = "chronicle_events"


class PostgresNotifier:
    """Sends coalesced ``NOTIFY`` after appends, from a thread started on first use."""

    def __init__(self, url: str, min_interval: float = 0.001) -> None:
        self._url = url
        self._min_interval = min_interval
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def appended(self) -> None:
        self._pending.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="chronicle-notifier", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        while not self._closed.is_set():
            if not self._pending.wait(0.5):
                continue
            self._pending.clear()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                conn.execute(f"NOTIFY {CHANNEL}")
            except psycopg.Error as exc:  # followers still poll; try again on the next append
                log.debug("notify failed: %s", exc)
                conn = None
            time.sleep(self._min_interval)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._pending.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class PostgresWakeup:
    def __init__(self, url: str) -> None:
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:  # polling still works
            log.warning("LISTEN unavailable, following by polling: %s", exc)
            self._conn = None

    def wait(self, timeout: float) -> None:
        if self._conn is None:
            time.sleep(timeout)
            return
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as exc:
            log.warning("LISTEN connection lost, following by polling: %s", exc)
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
