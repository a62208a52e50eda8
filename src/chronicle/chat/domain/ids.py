"""Aggregate ids: ``<type>_<uuid hex>`` in lower case (``message_3f2a…``).

Ids come from a random UUID, never from the clock alone, so two ids made in the same millisecond
(or on two machines) never collide.
"""

from __future__ import annotations

import re
import uuid

from chronicle.chat.domain.errors import InvalidIdError

ID_SHAPE = re.compile(r"[a-z]+_[0-9a-f]{32}")
"""The shape of every chat aggregate id, matched whole (``fullmatch``: ``$`` would let a trailing
newline through); anything else cannot name a stored aggregate."""


def new_id(aggregate_type: str) -> str:
    """A fresh id for an aggregate of ``aggregate_type`` (``Message`` gives ``message_…``)."""
    return f"{aggregate_type.lower()}_{uuid.uuid4().hex}"


def check_id(value: str, aggregate_type: str, field: str) -> str:
    """``value`` if it is an id of ``aggregate_type``; a typed error naming ``field`` otherwise."""
    if not isinstance(value, str) or ID_SHAPE.fullmatch(value) is None:
        raise InvalidIdError(f"{field} must be a {aggregate_type} id like {new_id(aggregate_type)}")
    if not value.startswith(aggregate_type.lower() + "_"):
        raise InvalidIdError(f"{field} must be a {aggregate_type} id, not {value!r}")
    return value
