"""Where sealed personal fields sit in an event's data: taken out, put back, the envelope found.

Plain dictionary work, with no cryptography, so that what only moves stored data around (the
importer, the read paths that find no envelope) does not load it.
"""

from __future__ import annotations

import copy
from typing import Any

from chronicle.events import JSONObject
from chronicle.store.integrity import ENVELOPE, UNSEALED


def take(data: JSONObject, path: str) -> tuple[bool, Any]:
    """Remove ``path`` from ``data`` (a copy the caller owns); whether it was there, its value."""
    parent, _, child = path.partition(".")
    if not child:
        if parent in data:
            return True, data.pop(parent)
        return False, None
    holder = data.get(parent)
    if isinstance(holder, dict) and child in holder:
        holder = dict(holder)
        value = holder.pop(child)
        data[parent] = holder
        return True, value
    return False, None


def put(data: JSONObject, path: str, value: Any) -> None:
    """Set ``path`` in ``data`` (in place)."""
    parent, _, child = path.partition(".")
    if not child:
        data[parent] = value
        return
    holder = data.get(parent)
    holder = dict(holder) if isinstance(holder, dict) else {}
    holder[child] = value
    data[parent] = holder


def envelope_of(data: JSONObject) -> JSONObject | None:
    """The envelope of stored ``data``, or None when it holds no sealed fields."""
    envelope = data.get(ENVELOPE)
    return envelope if isinstance(envelope, dict) else None


def header_of(envelope: JSONObject) -> JSONObject:
    return {name: value for name, value in envelope.items() if name not in UNSEALED}


def without_envelope(data: JSONObject) -> JSONObject:
    """A copy of stored ``data`` without its envelope (the fields it sealed still to be set)."""
    rest = copy.copy(data)
    rest.pop(ENVELOPE, None)
    return rest


def with_envelope(data: JSONObject, envelope: JSONObject) -> JSONObject:
    """The stored form of an opened event's ``data``: its sealed fields out, the envelope in."""
    rest = dict(data)
    for path in envelope.get("fields", ()):
        take(rest, path)
    rest[ENVELOPE] = envelope
    return rest
