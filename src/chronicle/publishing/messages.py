"""What a published event looks like on the wire, the same on every broker.

The body is the event's JSON (:meth:`RecordedEvent.to_dict`); the envelope fields a consumer
routes and de-duplicates on (``event_id``, ``aggregate_id``, ``aggregate_type``, ``event_type``,
``version``, ``position``) travel beside it, as Redis Stream fields or AMQP headers, so a consumer
can skip an event without parsing its body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from chronicle.errors import PublishError
from chronicle.events import JSONObject, RecordedEvent

CONTENT_TYPE = "application/json"
APP_ID = "chronicle"
"""The AMQP `app_id` of every message the relay publishes."""
ENVELOPE_FIELDS = (
    "event_id",
    "aggregate_id",
    "aggregate_type",
    "event_type",
    "version",
    "position",
)


def envelope(event: RecordedEvent) -> dict[str, str]:
    """The routing and de-duplication fields, as strings."""
    return {
        "event_id": event.event_id,
        "aggregate_id": event.aggregate_id,
        "aggregate_type": event.aggregate_type,
        "event_type": event.event_type,
        "version": str(event.version),
        "position": str(event.position),
    }


def typed_envelope(event: RecordedEvent) -> dict[str, str | int]:
    """The envelope with ``version`` and ``position`` as integers, for headers that have types
    (AMQP's field tables); Redis Stream fields are text, so they take :func:`envelope`."""
    return {**envelope(event), "version": event.version, "position": event.position}


def body(event: RecordedEvent) -> bytes:
    """The event and its envelope as JSON bytes."""
    return orjson.dumps(event.to_stored_dict())  # no personal field leaves in clear


def routing_key(event: RecordedEvent) -> str:
    """``<aggregate_type>.<event_type>``: consumers bind ``Message.*`` or ``*.UserRenamed``."""
    return f"{event.aggregate_type}.{event.event_type}"


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """An event as a consumer receives it: the envelope, typed, and the whole event as a dict."""

    event_id: str
    aggregate_id: str
    aggregate_type: str
    event_type: str
    version: int
    position: int
    event: JSONObject

    @property
    def data(self) -> JSONObject:
        value = self.event.get("data")
        return value if isinstance(value, dict) else {}


def decode(raw_body: bytes | str) -> PublishedEvent:
    """A received body back into a :class:`PublishedEvent`; ``PublishError`` if it is not one."""
    try:
        event: Any = orjson.loads(raw_body)
    except orjson.JSONDecodeError as exc:
        raise PublishError(f"a received message is not JSON: {exc}") from exc
    if not isinstance(event, Mapping):
        raise PublishError("a received message is not a JSON object")
    try:
        return PublishedEvent(
            event_id=str(event["event_id"]),
            aggregate_id=str(event["aggregate_id"]),
            aggregate_type=str(event["aggregate_type"]),
            event_type=str(event["event_type"]),
            version=int(event["version"]),
            position=int(event["position"]),
            event=dict(event),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PublishError(f"a received message lacks a valid envelope field: {exc}") from exc
