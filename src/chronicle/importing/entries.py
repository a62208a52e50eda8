"""One event to import, checked: what a line of an export or a row of the seed's table says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chronicle.errors import InvalidEventError
from chronicle.events import JSONObject, NewEvent
from chronicle.personal.fields import with_envelope
from chronicle.store.prepare import (
    check_event_id,
    check_name,
    check_recorded_at,
    check_user_id,
)

from .errors import ImportInputError

_REQUIRED = ("event_id", "aggregate_id", "aggregate_type", "event_type", "version", "timestamp")


@dataclass(frozen=True, slots=True)
class ImportedEvent:
    """An event recorded elsewhere, with its envelope; ``where`` names its line or row.

    ``hash`` is the chained hash it was recorded with, when the source has one: the import
    refuses an event whose content no longer chains to it.
    """

    where: str
    event_id: str
    aggregate_id: str
    aggregate_type: str
    event_type: str
    version: int
    timestamp: datetime
    user_id: str | None
    data: JSONObject
    metadata: JSONObject | None
    schema_version: int = 1
    hash: bytes | None = None

    def new_event(self) -> NewEvent:
        return NewEvent(
            self.event_type,
            self.data,
            metadata=self.metadata,
            event_id=self.event_id,
            schema_version=self.schema_version,
        )


def imported_event(
    where: str,
    *,
    event_id: object,
    aggregate_id: object,
    aggregate_type: object,
    event_type: object,
    version: object,
    timestamp: object,
    user_id: object,
    data: object,
    metadata: object,
    schema_version: object = 1,
    hash: bytes | None = None,
) -> ImportedEvent:
    """An :class:`ImportedEvent` whose every field is checked as the store checks it;
    ``ImportInputError`` naming ``where`` and the field otherwise. A naive ``timestamp`` is
    refused (a source whose clock is UTC says so before calling)."""
    try:
        if type(version) is not int or version < 1:
            raise InvalidEventError(f"version must be a whole number >= 1, got {version!r:.40}")
        if type(data) is not dict:
            raise InvalidEventError(f"data must be a JSON object, got {type(data).__name__}")
        if metadata is not None and type(metadata) is not dict:
            raise InvalidEventError(
                f"metadata must be a JSON object or null, got {type(metadata).__name__}"
            )
        if type(schema_version) is not int or not 1 <= schema_version <= 32767:
            raise InvalidEventError(f"schema_version must be 1-32767, got {schema_version!r:.40}")
        return ImportedEvent(
            where=where,
            event_id=check_event_id(event_id),
            aggregate_id=check_name(aggregate_id, "aggregate_id"),
            aggregate_type=check_name(aggregate_type, "aggregate_type"),
            event_type=check_name(event_type, "event_type"),
            version=version,
            timestamp=_instant(timestamp),
            user_id=check_user_id(user_id),
            data=data,
            metadata=metadata,
            schema_version=schema_version,
            hash=hash,
        )
    except InvalidEventError as exc:
        raise ImportInputError(f"{where}: {exc}") from exc


def entry_from_export(document: Any, where: str) -> ImportedEvent:
    """The event of one line of Chronicle's NDJSON export (``RecordedEvent.to_dict()``).

    ``position`` and ``partition`` are ignored (the store gives its own); ``user_id``,
    ``metadata``, ``schema_version`` and ``hash`` may be left out (a file written by hand).
    """
    if type(document) is not dict:
        raise ImportInputError(f"{where}: a line is a JSON object, not {type(document).__name__}")
    missing = [name for name in (*_REQUIRED, "data") if name not in document]
    if missing:
        raise ImportInputError(f"{where}: missing {', '.join(missing)}")
    timestamp = document["timestamp"]
    if type(timestamp) is not str:
        raise ImportInputError(f"{where}: timestamp must be ISO-8601 text, got {timestamp!r:.40}")
    try:
        instant = datetime.fromisoformat(timestamp)
    except ValueError:
        raise ImportInputError(
            f"{where}: timestamp {timestamp!r:.60} is not ISO-8601 (2026-01-01T00:00:00Z)"
        ) from None
    return imported_event(
        where,
        event_id=document["event_id"],
        aggregate_id=document["aggregate_id"],
        aggregate_type=document["aggregate_type"],
        event_type=document["event_type"],
        version=document["version"],
        timestamp=instant,
        user_id=document.get("user_id"),
        data=_stored_data(document, where),
        metadata=document.get("metadata"),
        schema_version=document.get("schema_version", 1),
        hash=_hash(document.get("hash"), where),
    )


def _stored_data(document: dict[str, Any], where: str) -> Any:
    """The event's data as its source stored it: an exported event with sealed personal
    fields carries their envelope in ``personal``, and is imported sealed as it was (the same
    hash; the fields read as they did only with the source's key store)."""
    data, personal = document["data"], document.get("personal")
    if personal is None:
        return data
    envelope = personal.get("envelope") if type(personal) is dict else None
    if type(envelope) is not dict or type(data) is not dict:
        raise ImportInputError(f"{where}: personal must hold the envelope of the sealed fields")
    return with_envelope(data, envelope)


def _instant(value: object) -> datetime:
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidEventError(
            f"timestamp {value.isoformat()} has no timezone (write it as 2026-01-01T00:00:00Z)"
        )
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return check_recorded_at(value, "timestamp")


def _hash(value: object, where: str) -> bytes | None:
    if value is None or value == "":
        return None
    try:
        if type(value) is not str or len(value) != 64:
            raise ValueError
        return bytes.fromhex(value)
    except ValueError:
        raise ImportInputError(
            f"{where}: hash must be 64 hexadecimal digits (SHA-256), got {value!r:.70}"
        ) from None
