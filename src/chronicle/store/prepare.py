"""Validation and encoding of an append, shared by every backend.

Everything that can be decided without the database is decided here, before a connection is
touched: names, ids, sizes, JSON shape, canonical bytes, content digests. A rule broken anywhere in
the batch raises a typed error and nothing is sent.
"""

from __future__ import annotations

import itertools
import re
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from chronicle.errors import DuplicateEventError, EventTooLargeError, InvalidEventError
from chronicle.events import NewEvent, RecordedEvent, recorded_event
from chronicle.store.codec import canonical_object, decode
from chronicle.store.integrity import ENVELOPE, content_digest, format_timestamp

if TYPE_CHECKING:
    from chronicle.personal.envelope import Sealed
    from chronicle.personal.protector import PersonalData

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
PARTITIONS = 256
MAX_BATCH = 10_000
_USER_ID_MAX = 200


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """One event of an append, validated and encoded, ready for any backend."""

    event_id: str
    event_type: str
    schema_version: int
    data: bytes
    metadata: bytes
    timestamp: datetime
    timestamp_text: str
    digest: bytes
    opened: Any = None
    """For an event with sealed personal fields, its plaintext ``data`` and how it was sealed
    (what the append gives back); None otherwise."""


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    aggregate_id: str
    aggregate_type: str
    user_id: str | None
    expected_version: int | None
    partition: int
    events: tuple[PreparedEvent, ...]


def check_name(value: object, what: str) -> str:
    """An aggregate id, aggregate type or event type: 1-100 characters of ``[A-Za-z0-9_.-]``."""
    if type(value) is not str or NAME_PATTERN.fullmatch(value) is None:
        raise InvalidEventError(
            f"{what} must be 1-100 characters of letters, digits, '_', '.' or '-'; got {value!r:.120}"
        )
    return value


def check_version(value: object, what: str, *, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if type(value) is not int or value < 0:
        raise InvalidEventError(f"{what} must be a whole number >= 0, got {value!r:.60}")
    return value


def check_user_id(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not 0 < len(value) <= _USER_ID_MAX or not value.isprintable():
        raise InvalidEventError(
            f"user_id must be 1-{_USER_ID_MAX} printable characters, got {value!r:.60}"
        )
    return value


# The canonical text of a UUID (what ``str(uuid.UUID(...))`` gives): accepted as it is.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_event_id(value: object) -> str:
    # Ids made by Chronicle are already canonical: a regular expression is ~10x cheaper than
    # parsing; any other spelling is parsed and normalised.
    if type(value) is str and _CANONICAL_UUID.fullmatch(value) is not None:
        return value
    try:
        if type(value) is not str:
            raise ValueError
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise InvalidEventError(f"event_id must be a UUID, got {value!r:.60}") from None
    return canonical


def partition_of(aggregate_id: str) -> int:
    """A stable partition number for an aggregate (CRC-32 of its id, modulo 256)."""
    return zlib.crc32(aggregate_id.encode()) % PARTITIONS


def now_utc() -> datetime:
    """The current time, UTC, truncated to the microsecond precision every backend keeps."""
    return datetime.now(UTC)


RECORDED_SKEW = timedelta(minutes=5)
"""How far past this host's clock an imported timestamp may be (the exporting host's clock)."""
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def check_recorded_at(value: object, what: str = "recorded_at") -> datetime:
    """The instant an imported batch was first recorded: a timezone-aware UTC datetime from
    1970 on and not in the future beyond :data:`RECORDED_SKEW`; ``InvalidEventError`` otherwise.
    """
    if not isinstance(value, datetime):
        raise InvalidEventError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise InvalidEventError(
            f"{what} must be timezone-aware UTC (for example 2026-01-01T00:00:00Z), "
            f"got {value.isoformat()}"
        )
    if value < _EARLIEST or value > now_utc() + RECORDED_SKEW:
        raise InvalidEventError(
            f"{what} must lie between 1970 and now (+{RECORDED_SKEW}), got {value.isoformat()}"
        )
    return value.astimezone(UTC)


def prepare_append(
    aggregate_id: str,
    events: Sequence[NewEvent],
    *,
    expected_version: int | None,
    aggregate_type: str,
    user_id: str | None,
    max_event_bytes: int,
    recorded_at: datetime | None = None,
    personal: PersonalData | None = None,
) -> PreparedAppend:
    """Validate and encode an append; raise ``InvalidEventError`` on the first broken rule.

    Every event of the batch gets one timestamp: now, or ``recorded_at`` (an import, already
    checked by :func:`check_recorded_at`). With ``personal``, the personal fields its
    declarations name are sealed under their subject's key before anything is encoded.
    """
    check_name(aggregate_id, "aggregate_id")
    check_name(aggregate_type, "aggregate_type")
    check_version(expected_version, "expected_version", allow_none=True)
    check_user_id(user_id)
    if isinstance(events, NewEvent) or not isinstance(events, Sequence):
        raise InvalidEventError("events must be a list of NewEvent")
    if not events:
        raise InvalidEventError("an append needs at least one event")
    if len(events) > MAX_BATCH:
        raise InvalidEventError(f"an append takes at most {MAX_BATCH} events, got {len(events)}")

    timestamp = now_utc() if recorded_at is None else recorded_at
    stamp = format_timestamp(timestamp)
    seen: set[str] = set()
    prepared = []
    correlation_id = ""  # the first event's id: the batch's correlation id unless one is given
    for index, event in enumerate(events):
        where = f"event {index}"
        if not isinstance(event, NewEvent):
            raise InvalidEventError(f"{where} is a {type(event).__name__}, not a NewEvent")
        event_type = check_name(event.event_type, f"{where}: event_type")
        event_id = check_event_id(event.event_id)
        if event_id in seen:
            raise InvalidEventError(f"{where}: event_id {event_id} appears twice in one append")
        seen.add(event_id)
        if index == 0:
            correlation_id = event_id
        schema_version = event.schema_version
        if type(schema_version) is not int or not 1 <= schema_version <= 32767:
            raise InvalidEventError(f"{where}: schema_version must be 1-32767")
        sealed = None
        if personal is not None and type(event.data) is dict:
            sealed = personal.seal_event(
                event_type, event.data, aggregate_id=aggregate_id, user_id=user_id
            )
        committed, sealed_here, opened = b"", False, None
        if sealed is not None:
            assert personal is not None
            committed, data = sealed_bytes(sealed, f"{where}: data")
            opened = personal.opened_on_append(sealed, orjson.dumps(event.data))
            sealed_here = True
        else:
            data = committed = canonical_object(event.data, f"{where}: data")
            if personal is not None and ENVELOPE in event.data:
                # Sealed already (an import of a sealed export): given back as a read opens it.
                opened = personal.opened_as_read(event_type, decode(data))
        if event.metadata is not None and type(event.metadata) is not dict:
            raise InvalidEventError(f"{where}: metadata must be a JSON object")
        metadata_dict = dict(event.metadata) if event.metadata is not None else {}
        metadata_dict.setdefault("correlation_id", correlation_id)
        metadata_dict.setdefault("causation_id", None)
        metadata = canonical_object(metadata_dict, f"{where}: metadata")
        size = len(data) + len(metadata)
        if size > max_event_bytes:
            raise EventTooLargeError(
                f"{where} encodes to {size} bytes, over the limit of {max_event_bytes} "
                "(CHRONICLE_MAX_EVENT_BYTES)"
            )
        digest = content_digest(
            event_id=event_id,
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            event_type=event_type,
            schema_version=schema_version,
            timestamp=stamp,
            user_id=user_id,
            data=committed,
            metadata=metadata,
            # Data sealed elsewhere (an import of a sealed export) is hashed as verified.
            committed=sealed_here,
        )
        prepared.append(
            PreparedEvent(
                event_id,
                event_type,
                schema_version,
                data,
                metadata,
                timestamp,
                stamp,
                digest,
                opened,
            )
        )
    return PreparedAppend(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        user_id=user_id,
        expected_version=expected_version,
        partition=partition_of(aggregate_id),
        events=tuple(prepared),
    )


_ENVELOPE_OPEN = b'{"' + ENVELOPE.encode() + b'":'


def sealed_bytes(sealed: Sealed, where: str) -> tuple[bytes, bytes]:
    """The canonical bytes of ``sealed``'s committed form (what the hash covers) and of its
    stored form, the rest of the data encoded (and checked) once.

    When every key of the rest sorts after ``"$personal"`` (compared in code points, which
    agree with RFC 8785's UTF-16 order against a key of ASCII), and as ``"ciphertext"`` sorts
    before every other key of the envelope, both forms are the envelope put in front of the
    rest's bytes; otherwise both are encoded whole. The header holds only what Chronicle wrote
    (hex, key ids, checked user and aggregate ids, field names, a small integer), for which
    orjson's sorted output is RFC 8785's.
    """
    rest = canonical_object(sealed.rest, where)
    if sealed.rest and min(sealed.rest) <= ENVELOPE:  # a key sorts first: encode both whole
        return canonical_object(sealed.committed, where), canonical_object(sealed.stored, where)
    header = orjson.dumps(sealed.header, option=orjson.OPT_SORT_KEYS)
    tail = b"}" if len(rest) == 2 else b"," + rest[1:]
    ciphertext = sealed.envelope["ciphertext"].encode("ascii")
    committed = b"".join((_ENVELOPE_OPEN, header, tail))
    stored = b"".join((_ENVELOPE_OPEN, b'{"ciphertext":"', ciphertext, b'",', header[1:], tail))
    return committed, stored


def matching_retry(batch: PreparedAppend, stored: list[RecordedEvent]) -> list[RecordedEvent]:
    """Accept a retry only when every event id of the batch is stored, in the same order."""
    ids = [event.event_id for event in batch.events]
    stored_ids = [event.event_id for event in stored]
    consecutive = all(
        later.version == earlier.version + 1 for earlier, later in itertools.pairwise(stored)
    )
    if stored_ids != ids or not consecutive:
        raise DuplicateEventError(
            f"{len(stored)} of the {len(ids)} event ids of this append are already stored for "
            f"{batch.aggregate_id!r}; a retry must resend exactly the original batch"
        )
    if batch.expected_version is not None and stored[0].version != batch.expected_version + 1:
        raise DuplicateEventError(
            f"the events of this append are stored for {batch.aggregate_id!r} from version "
            f"{stored[0].version}, not after the expected version {batch.expected_version}"
        )
    return stored


def recorded_from(
    batch: PreparedAppend, stored: Sequence[tuple[int, int, bytes]]
) -> list[RecordedEvent]:
    """The batch's events as recorded, given each one's ``(position, version, hash)`` in order.

    What every append path returns, built from what it already holds: no stored row is read
    back or decoded again.
    """
    return [
        recorded_event(
            event.event_id,
            batch.aggregate_id,
            batch.aggregate_type,
            event.event_type,
            version,
            position,
            event.timestamp,
            batch.user_id,
            decode(event.data) if event.opened is None else event.opened.data(),
            decode(event.metadata),
            event.schema_version,
            batch.partition,
            event_hash,
            None if event.opened is None else event.opened.how,
        )
        for event, (position, version, event_hash) in zip(batch.events, stored, strict=True)
    ]
