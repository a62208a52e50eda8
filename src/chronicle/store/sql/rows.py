"""Rows of the shared statements turned into records, written once for every SQL backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, overload

import orjson

from chronicle.events import JSONObject, RecordedEvent, Replay, Unopened, recorded_event
from chronicle.store.integrity import ENVELOPE
from chronicle.store.payloads import PayloadError
from chronicle.store.records import Seal, Snapshot

Row = Sequence[Any]


UNREADABLE = "chronicle:unreadable"
"""The one key of the content an event is read with when its stored payload cannot be decoded."""

Opener = Callable[[str, JSONObject], tuple[JSONObject, Any]]
"""Opens the sealed personal fields of an event's stored data, given its event type: the data
as read, and how it was opened (see :meth:`CheckedStore._open_event`)."""


def event_reader(
    timestamp: Callable[[Any], datetime],
    decode: Callable[[int, bytes], bytes],
    open_sealed: Opener,
) -> Callable[[Row], RecordedEvent]:
    """Reads a row of ``EVENT_COLUMNS``; ``timestamp`` turns the stored time into a datetime,
    ``decode`` a payload stored with a codec (see :mod:`chronicle.store.payloads`) into its
    canonical bytes, ``open_sealed`` opens the sealed personal fields of those that have some
    (decoded and opened when the event's ``data`` is first asked for, see
    :class:`chronicle.events.Unopened`).

    A payload that does not decode (only a write behind Chronicle's back makes one) is read as
    ``{"chronicle:unreadable": why}``: reads go on, and since that is not the content the hash
    covers, ``chronicle verify`` names the event as changed.
    """
    loads = orjson.loads
    sealed = SealedRows(open_sealed)

    def read(row: Row) -> RecordedEvent:
        data: JSONObject | Unopened
        opened = None
        try:
            raw = row[8]
            if row[13]:  # an old event, re-encoded: decoded here, on every read path
                raw = decode(row[13], raw)
                metadata = loads(decode(row[13], row[9]))
            else:
                metadata = loads(row[9])
            if type(raw) is not bytes:  # only a write behind Chronicle's back stores these
                raw = _as_bytes(raw)
            if SEALED_MARK in raw:  # decoded and opened when first asked for
                data = opened = Unopened(sealed, row[4], raw)
            else:
                data = loads(raw)
                if type(data) is not dict:
                    data = {UNREADABLE: "the stored data is not an object"}
                elif ENVELOPE in data:  # an envelope spelt otherwise (an escape, a space)
                    data = opened = Unopened(sealed, row[4], raw)
        except (PayloadError, orjson.JSONDecodeError, UnicodeError) as exc:
            data, metadata, opened = {UNREADABLE: str(exc)}, {}, None
        # The hot loop of every read: positional arguments in field order, no frozen setattr.
        return recorded_event(
            row[1],  # event_id
            row[2],  # aggregate_id
            row[3],  # aggregate_type
            row[4],  # event_type
            row[5],  # version
            row[0],  # position
            timestamp(row[6]),
            row[7],  # user_id
            data,
            metadata,
            row[10],  # schema_version
            row[11],  # partition
            row[12],  # hash
            opened,
        )

    return read


SEALED_MARK = b'"' + ENVELOPE.encode() + b'":'
"""In the canonical bytes of every event with sealed personal fields (a key of that name
elsewhere in the data makes a false alarm, read as any other once decoded). Bytes written
behind Chronicle's back may spell the key otherwise (``"\\u0024personal"``, a space before the
colon): those are found once decoded, and opened all the same, so verification sees them."""


def _as_bytes(raw: object) -> bytes:
    """A payload the driver gave as text or a buffer, as bytes; ``PayloadError`` for anything
    else (an integer or a float stored in the column by hand)."""
    if isinstance(raw, str):
        return raw.encode()
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    raise PayloadError(f"the stored data is a {type(raw).__name__}, not JSON text")


class SealedRows:
    """The :class:`chronicle.events.SealedReader` of a store: stored bytes decoded (a payload
    that does not decode reads as ``UNREADABLE``, as on the eager path) and, when they hold an
    envelope, opened by ``open_sealed``."""

    __slots__ = ("_open",)

    def __init__(self, open_sealed: Opener) -> None:
        self._open = open_sealed

    def stored(self, raw: bytes) -> JSONObject:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return {UNREADABLE: str(exc)}
        return data if type(data) is dict else {UNREADABLE: "the stored data is not an object"}

    def open(self, event_type: str, raw: bytes) -> tuple[JSONObject, Any]:
        data = self.stored(raw)
        if type(data.get(ENVELOPE)) is dict:
            return self._open(event_type, data)  # a fresh dict: opened in place
        return data, None


Change = tuple[str, int, JSONObject]


class _Changes(Sequence[Change]):
    """The changes of a replay's rows, each payload decoded only when it is reached.

    A loader then holds one event's data at a time instead of the whole history's: allocating
    a decoded dict per event up front made the cyclic garbage collector scan them again and
    again (a tenth of a long replay).
    """

    __slots__ = ("_data_of", "_open", "_rows")

    def __init__(
        self, rows: Sequence[Row], data_of: Callable[[Row], JSONObject], open_sealed: Opener
    ) -> None:
        self._rows = rows
        self._data_of = data_of
        self._open = open_sealed

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        data_of = self._data_of
        if isinstance(index, slice):
            return [(row[1], row[2], data_of(row)) for row in self._rows[index]]
        row = self._rows[index]
        return row[1], row[2], data_of(row)

    def __iter__(self) -> Iterator[Change]:
        loads, data_of, open_sealed = orjson.loads, self._data_of, self._open
        for row in self._rows:
            if row[4]:
                yield row[1], row[2], data_of(row)  # a codec: decoded (and opened) there
                continue
            try:
                # Raw payloads, the common case, inline; an error in data_of.
                data = loads(row[3])
            except orjson.JSONDecodeError:
                data = data_of(row)
            else:
                if ENVELOPE in data:
                    data = open_sealed(row[1], data)[0]
            yield row[1], row[2], data


def replay_reader(
    decode: Callable[[int, bytes], bytes], open_sealed: Opener
) -> Callable[[Sequence[Row]], Replay]:
    """Reads the rows of ``REPLAY_COLUMNS`` into a :class:`~chronicle.events.Replay`, payloads
    decoded as :func:`event_reader` decodes them (an unreadable one the same way)."""
    loads = orjson.loads

    def data_of(row: Row) -> JSONObject:
        try:
            data: JSONObject = loads(decode(row[4], row[3]) if row[4] else row[3])
        except (PayloadError, orjson.JSONDecodeError) as exc:
            return {UNREADABLE: str(exc)}
        return open_sealed(row[1], data)[0] if ENVELOPE in data else data

    def read(rows: Sequence[Row]) -> Replay:
        return Replay(rows[0][0] if rows else None, _Changes(rows, data_of, open_sealed))

    return read


def seal_reader(timestamp: Callable[[Any], datetime]) -> Callable[[Row], Seal]:
    """Reads a row of ``SEAL_COLUMNS``."""

    def read(row: Row) -> Seal:
        return Seal(
            number=row[0],
            position=row[1],
            event_count=row[2],
            head=bytes(row[3]),
            last_hash=bytes(row[4]),
            sealed_at=timestamp(row[5]),
            public_key=None if row[6] is None else bytes(row[6]),
            signature=None if row[7] is None else bytes(row[7]),
            root=None if row[8] is None else bytes(row[8]),
            previous=None if row[9] is None else bytes(row[9]),
            key_id=row[10],
        )

    return read


def snapshot_from(row: Row, timestamp: Callable[[Any], datetime]) -> Snapshot:
    """A row of ``SNAPSHOT_COLUMNS`` as a :class:`Snapshot`."""
    return Snapshot(
        aggregate_id=row[0],
        aggregate_type=row[1],
        version=row[2],
        state_schema_version=row[3],
        state=orjson.loads(row[4]),
        created_at=timestamp(row[5]),
    )
