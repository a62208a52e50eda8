"""Rows of the shared statements turned into records, written once for every SQL backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from chronicle.events import RecordedEvent
from chronicle.store.payloads import PayloadError
from chronicle.store.records import Seal, Snapshot

Row = Sequence[Any]


UNREADABLE = "chronicle:unreadable"
"""The one key of the content an event is read with when its stored payload cannot be decoded."""


def event_reader(
    timestamp: Callable[[Any], datetime], decode: Callable[[int, bytes], bytes]
) -> Callable[[Row], RecordedEvent]:
    """Reads a row of ``EVENT_COLUMNS``; ``timestamp`` turns the stored time into a datetime,
    ``decode`` a payload stored with a codec (see :mod:`chronicle.store.payloads`) into its
    canonical bytes.

    A payload that does not decode (only a write behind Chronicle's back makes one) is read as
    ``{"chronicle:unreadable": why}``: reads go on, and since that is not the content the hash
    covers, ``chronicle verify`` names the event as changed.
    """
    loads = orjson.loads

    def read(row: Row) -> RecordedEvent:
        try:
            if row[13]:  # an old event, re-encoded: decoded here, on every read path
                data = loads(decode(row[13], row[8]))
                metadata = loads(decode(row[13], row[9]))
            else:
                data, metadata = loads(row[8]), loads(row[9])
        except (PayloadError, orjson.JSONDecodeError) as exc:
            data, metadata = {UNREADABLE: str(exc)}, {}
        # The hot loop of every read: positional arguments in field order.
        return RecordedEvent(
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
        )

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
