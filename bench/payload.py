"""The one chat event every contender writes and reads: same content, same size, same shape."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from chronicle import NewEvent

CONTENT = (
    "Moved the release review to Thursday 15:00. Please bring the latency figures, the list of "
    "open incidents and your notes on the retention policy; we will decide on the archive format."
)[:200].ljust(200, ".")
USERNAME = "alice.walker"
MESSAGE_TYPE = "text"
USER_ID = "user_alice"
AGGREGATE_TYPE = "Message"
EVENT_TYPE = "MessageCreated"


def data() -> dict[str, Any]:
    """The event's content: 200 characters, a username and a message type."""
    return {"content": CONTENT, "username": USERNAME, "type": MESSAGE_TYPE}


def metadata() -> dict[str, Any]:
    """Per-event metadata: a fresh correlation id, as a request would carry."""
    return {"correlation_id": str(uuid.uuid4())}


def new_event() -> NewEvent:
    """The event as Chronicle takes it."""
    return NewEvent(EVENT_TYPE, data(), metadata())


def encoded() -> tuple[bytes, bytes]:
    """The event as the raw driver stores it: JSON bytes of data and metadata."""
    return orjson.dumps(data()), orjson.dumps(metadata())
