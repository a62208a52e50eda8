"""Reading the seed's ``event_store`` table, so a system built on the seed's sketch can move
its history into Chronicle.

The table is the sketch's ``EventStoreModel``: ``id`` (an autoincrement key), ``event_id``,
``aggregate_id``, ``aggregate_type``, ``event_type``, ``version``, ``timestamp`` (a naive
``DateTime`` written from ``datetime.utcnow()``, so read as UTC), ``user_id``, ``event_data``
(the whole event as JSON: its envelope and its fields) and ``metadata`` (JSON text or NULL).
An event's ``data`` is ``event_data`` without the envelope keys the columns already hold.

Rows are read by ``id``: the order they were inserted in. The seed pages by timestamp, which
its clock skew and ties make unstable (the seed's NOTES, defect 8); ``id`` order always has an
aggregate's versions ascending, since the seed inserts a version only after reading the one
before it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .entries import ImportedEvent, imported_event
from .errors import ImportInputError, ImportSourceError

TABLE = "event_store"
COLUMNS = (
    "id", "event_id", "aggregate_id", "aggregate_type", "event_type", "version", "timestamp",
    "user_id", "event_data", "metadata",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY id"
# What ``BaseEvent.to_dict()`` puts in ``event_data`` beside the event's own fields.
_ENVELOPE = frozenset(
    {"event_id", "aggregate_id", "aggregate_type", "event_type", "timestamp", "version",
     "user_id", "metadata"}
)  # fmt: skip
_FETCH = 1000


def read_seed_table(url: str) -> Iterator[ImportedEvent]:
    """The events of the seed's ``event_store`` table at ``url`` (``postgresql://…``, also
    with SQLAlchemy's ``+driver``, or ``sqlite:///path``), in ``id`` order, streamed."""
    for row in _rows(url):
        yield _entry(row)


def _rows(url: str) -> Iterator[tuple[Any, ...]]:
    if url.startswith("sqlite:///"):
        yield from _sqlite_rows(url.removeprefix("sqlite:///"))
        return
    scheme, separator, rest = url.partition("://")
    if separator and scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        yield from _postgres_rows(f"postgresql://{rest}")
        return
    raise ImportInputError(
        f"--from-seed-table takes postgresql://… or sqlite:///path, not {scheme or url}://…"
    )


def _sqlite_rows(path: str) -> Iterator[tuple[Any, ...]]:
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ImportSourceError(f"cannot open the SQLite database {path}: {exc}") from exc
    with closing(connection):
        try:
            cursor = connection.execute(_SELECT)
        except sqlite3.Error as exc:
            raise ImportInputError(f"{path} has no readable seed table {TABLE}: {exc}") from exc
        while rows := cursor.fetchmany(_FETCH):
            yield from rows


def _postgres_rows(url: str) -> Iterator[tuple[Any, ...]]:
    import psycopg  # the driver loads only when a PostgreSQL source is read

    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        raise ImportSourceError(f"cannot connect to the seed's database: {exc}") from exc
    with connection:
        try:
            connection.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} LIMIT 0")
        except psycopg.Error as exc:
            raise ImportInputError(
                f"the seed's database has no readable table {TABLE}: {exc}"
            ) from exc
        # A server-side cursor: the table is streamed, never held in memory at once.
        with connection.cursor(name="chronicle_import") as cursor:
            cursor.itersize = _FETCH
            cursor.execute(_SELECT)
            yield from cursor


def _entry(row: tuple[Any, ...]) -> ImportedEvent:
    key, event_id, aggregate_id, aggregate_type, event_type, version = row[:6]
    timestamp, user_id, event_data, metadata = row[6:]
    where = f"{TABLE} row id {key}"
    fields = _json(event_data, where, "event_data")
    if type(fields) is not dict:
        raise ImportInputError(f"{where}: event_data is not a JSON object")
    return imported_event(
        where,
        event_id=event_id,
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        event_type=event_type,
        version=version,
        timestamp=_utc(timestamp, where),
        user_id=None if user_id is None else str(user_id),
        data={name: value for name, value in fields.items() if name not in _ENVELOPE},
        metadata=None if metadata is None else _json(metadata, where, "metadata"),
    )


def _json(text: object, where: str, column: str) -> Any:
    try:
        if not isinstance(text, str | bytes):
            raise TypeError
        return orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        raise ImportInputError(f"{where}: {column} is not JSON text") from None


def _utc(value: object, where: str) -> datetime:
    """The seed's timestamp: a naive ``datetime.utcnow()`` (SQLite keeps it as text)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ImportInputError(f"{where}: timestamp {value!r:.60} is not ISO-8601") from None
    if not isinstance(value, datetime):
        raise ImportInputError(f"{where}: timestamp is {value!r:.40}, not a date and time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
