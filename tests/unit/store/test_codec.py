"""Canonical JSON: the fast encoder agrees with the RFC 8785 reference on every I-JSON value."""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from chronicle.errors import InvalidEventError
from chronicle.store.codec import MAX_SAFE_INTEGER, canonical_json, canonical_object, decode

keys = st.text(max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: not (f.is_integer() and abs(f) > MAX_SAFE_INTEGER)
    )
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_canonical_bytes_are_the_rfc8785_bytes(value) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.dictionaries(keys, json_values, max_size=6))
def test_canonical_bytes_decode_back_to_the_same_value(value) -> None:
    assert decode(canonical_object(value, "data")) == value


@given(st.dictionaries(keys, json_values, max_size=6))
def test_stored_bytes_are_a_fixed_point_so_a_stored_event_verifies_again(value) -> None:
    stored = canonical_object(value, "data")
    assert canonical_object(decode(stored), "data") == stored


def test_key_order_follows_utf16_code_units_not_code_points() -> None:
    # U+10000 is D800 DC00 in UTF-16, which sorts before U+E000; by code point it sorts after.
    value = {"\U00010000": 1, "\ue000": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U00010000".encode()) < canonical_json(value).index(
        "\ue000".encode()
    )


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, MAX_SAFE_INTEGER + 1, 2.0**60, "lone \ud800", {1: "x"}, object(), b"x"],
    ids=[
        "nan",
        "infinity",
        "unsafe-int",
        "unsafe-whole-float",
        "lone-surrogate",
        "int-key",
        "object",
        "bytes",
    ],
)
def test_values_outside_i_json_are_refused(value) -> None:
    with pytest.raises(InvalidEventError):
        canonical_json({"value": value})


def test_only_objects_are_accepted_as_data() -> None:
    with pytest.raises(InvalidEventError, match="JSON object"):
        canonical_object([1, 2], "data")
