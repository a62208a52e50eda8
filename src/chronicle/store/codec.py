"""Canonical JSON: the one byte form of an event's content.

Stored ``data`` and ``metadata`` are the canonical JSON bytes of RFC 8785 (JSON Canonicalization
Scheme): keys sorted by UTF-16 code units, no insignificant white space, ECMAScript number form.
The same logical content therefore has the same bytes on every backend, which is what the
integrity hashes are computed over. Values are restricted to I-JSON (RFC 7493): integers within
±(2**53 - 1), finite floats, strings of valid Unicode.

``orjson`` with sorted keys already produces exactly these bytes for content without floats and
without object keys outside the Basic Multilingual Plane (the common case, about 50x faster);
anything else goes through the ``rfc8785`` reference encoder. A property test holds the two
paths equal.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from chronicle.errors import InvalidEventError

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_DEPTH = 64
_BMP_MAX = "\uffff"


def _needs_reference_encoder(value: Any, where: str, depth: int = 0) -> bool:
    """Check that ``value`` is I-JSON; say whether the fast encoder could differ from RFC 8785."""
    if depth > _MAX_DEPTH:
        raise InvalidEventError(f"{where} is nested deeper than {_MAX_DEPTH} levels")
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return False
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return False
        raise InvalidEventError(
            f"{where} holds the integer {value}, outside ±(2**53 - 1); store it as a string"
        )
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidEventError(f"{where} holds {value!r}, which JSON cannot represent")
        if value.is_integer() and abs(value) > MAX_SAFE_INTEGER:
            # Canonical JSON writes it without a fraction, so it would read back as an integer
            # outside the safe range: the stored event could not be verified again.
            raise InvalidEventError(
                f"{where} holds {value!r}, a whole number outside ±(2**53 - 1); store it as a string"
            )
        return True
    if kind is dict:
        slow = False
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidEventError(
                    f"{where} has the key {key!r}; JSON object keys are strings"
                )
            if not key.isascii() and max(key) > _BMP_MAX:
                slow = True
            # Strings are most values of an event: checked here, without a call per value.
            if type(item) is not str and _needs_reference_encoder(item, where, depth + 1):
                slow = True
        return slow
    if kind is list or kind is tuple:
        slow = False
        for item in value:
            if _needs_reference_encoder(item, where, depth + 1):
                slow = True
        return slow
    raise InvalidEventError(f"{where} holds a {kind.__name__}, which is not a JSON value")


def canonical_json(value: Any, where: str = "value") -> bytes:
    """The RFC 8785 canonical bytes of a JSON value; raises ``InvalidEventError`` otherwise."""
    slow = _needs_reference_encoder(value, where)
    try:
        if slow:
            return rfc8785.dumps(value)
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError, orjson.JSONEncodeError, rfc8785.CanonicalizationError) as exc:
        # Lone surrogates and similar: not valid Unicode, so not storable JSON.
        raise InvalidEventError(f"{where} is not valid JSON text: {exc}") from exc


def canonical_object(value: Any, where: str) -> bytes:
    """Canonical bytes of a JSON *object* (what ``data`` and ``metadata`` must be)."""
    if type(value) is not dict:
        raise InvalidEventError(f"{where} must be a JSON object, not {type(value).__name__}")
    return canonical_json(value, where)


def decode(raw: bytes | bytearray | memoryview | str) -> Any:
    """Decode stored JSON bytes."""
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    return orjson.loads(raw)
