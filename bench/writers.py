"""One append of ``batch`` chat events to a fresh aggregate, as each contender does it.

- Chronicle: ``store.append(..., expected_version=0)``: validation, canonical JSON, integrity
  hashes, the expected-version check, one round trip.
- raw: plain driver statements of the same transaction shape into a table of the same layout
  (Chronicle's own schema, so indexes and row width match): one multi-row ``INSERT`` in its own
  transaction; no version check, no hashing (a constant hash), JSON encoded with orjson.
- peer: the ``eventsourcing`` library: a new ``Message`` aggregate (plus ``batch - 1`` further
  events on it) saved in one ``app.save``.
"""

from __future__ import annotations

import itertools
import threading
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench import payload
from bench.peer import ChatApp, Message
from chronicle import NewEvent

_RAW_COLUMNS = (
    "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, partition, "
    "timestamp, user_id, data, metadata, hash"
)
_RAW_HASH = bytes(32)


def _aggregate_ids(prefix: str) -> Callable[[], str]:
    counter = itertools.count(1)
    tag = uuid.uuid4().hex[:6]
    return lambda: f"{prefix}-{tag}-{next(counter)}"


def chronicle_append(store: Any, batch: int, prefix: str = "message") -> Callable[[], Any]:
    """One append of ``batch`` events to a new aggregate, through either API (an async store's
    call returns the awaitable)."""
    next_id = _aggregate_ids(prefix)

    def append() -> Any:
        events = [
            NewEvent(payload.EVENT_TYPE, payload.data(), payload.metadata()) for _ in range(batch)
        ]
        return store.append(
            next_id(),
            events,
            expected_version=0,
            aggregate_type=payload.AGGREGATE_TYPE,
            user_id=payload.USER_ID,
        )

    return append


def raw_insert_sql(backend: str, batch: int, table: str = "chronicle_events") -> str:
    marker = "%s" if backend == "postgresql" else "?"
    row = "(" + ", ".join([marker] * 12) + ")"
    return f"INSERT INTO {table} ({_RAW_COLUMNS}) VALUES " + ", ".join([row] * batch)


def raw_rows(backend: str, aggregate_id: str, batch: int) -> list[Any]:
    """The flat parameter list of ``batch`` rows for ``raw_insert_sql``."""
    now = datetime.now(UTC)
    stamp: Any = now if backend == "postgresql" else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    partition = zlib.crc32(aggregate_id.encode()) % 256
    params: list[Any] = []
    for version in range(1, batch + 1):
        data, metadata = payload.encoded()
        params += [
            str(uuid.uuid4()),
            aggregate_id,
            payload.AGGREGATE_TYPE,
            payload.EVENT_TYPE,
            version,
            1,
            partition,
            stamp,
            payload.USER_ID,
            data,
            metadata,
            _RAW_HASH,
        ]
    return params


def raw_append(
    conn: Any,
    backend: str,
    batch: int,
    prefix: str = "message",
    lock: threading.Lock | None = None,
) -> Callable[[], Any]:
    """One transaction, one multi-row INSERT (SQLite: ``BEGIN IMMEDIATE`` … ``COMMIT``).

    ``lock`` serialises threads sharing one SQLite connection, the cheapest way to queue
    writers on a database that takes one writer at a time.
    """
    next_id = _aggregate_ids(prefix)
    sql = raw_insert_sql(backend, batch)
    guard = lock or threading.Lock()
    if backend == "postgresql":

        def append_postgres() -> Any:
            return conn.execute(sql, raw_rows(backend, next_id(), batch))

        return append_postgres

    def append_sqlite() -> Any:
        params = raw_rows(backend, next_id(), batch)
        with guard:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    return append_sqlite


def peer_append(app: ChatApp, batch: int) -> Callable[[], Any]:
    def append() -> Any:
        message = Message(
            payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata()
        )
        for _ in range(batch - 1):
            message.note(
                payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata()
            )
        return app.save(message)

    return append
