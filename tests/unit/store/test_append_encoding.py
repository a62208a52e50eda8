"""Laws of the append path's fast encodings: they give exactly what the general forms give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from chronicle.errors import InvalidEventError
from chronicle.personal.envelope import seal_values
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import ENVELOPE, committed_bytes, format_timestamp
from chronicle.store.prepare import check_event_id, sealed_bytes

utc_instants = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda naive: naive.replace(tzinfo=UTC))


@given(utc_instants)
def test_a_utc_timestamp_has_the_same_text_as_the_general_format(instant: datetime) -> None:
    assert format_timestamp(instant) == instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.uuids())
def test_every_spelling_of_an_event_id_is_stored_in_its_canonical_form(value: uuid.UUID) -> None:
    canonical = str(value)
    assert check_event_id(canonical) == canonical
    assert check_event_id(canonical.upper()) == canonical
    assert check_event_id(value.hex) == canonical
    assert check_event_id("{" + canonical + "}") == canonical


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "0" * 31, 42, None])
def test_an_event_id_that_is_not_a_uuid_is_rejected(bad: object) -> None:
    with pytest.raises(InvalidEventError):
        check_event_id(bad)


# Keys of every kind an event's data may hold: some sort before "$personal" ("!", "#", "$a",
# "$", control characters), most after, a few outside the Basic Multilingual Plane, and
# "$personal" itself (an envelope given in the data is replaced, as before).
_keys = st.one_of(
    st.sampled_from(["!", "#x", "$", "$a", "$personal0", "%", "\x01", "a", "z", "\U0001f600"]),
    st.text(min_size=0, max_size=6),
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6,
)


@given(
    rest=st.dictionaries(_keys | st.just(ENVELOPE), _values, max_size=5),
    subject=st.text(min_size=1, max_size=12).filter(str.isprintable),
)
def test_the_sealed_forms_put_together_are_the_canonical_forms_encoded_whole(
    rest: dict[str, object], subject: str
) -> None:
    sealed = seal_values(
        rest,
        {"content": "h\u00e9llo", "mentions": ["bob"]},
        subject=subject,
        key_id="dk-1",
        cipher=AESGCM(bytes(32)),
    )
    committed, stored = sealed_bytes(sealed, "data")
    assert committed == canonical_json(sealed.committed)
    assert stored == canonical_json(sealed.stored)
    assert committed_bytes(stored) == committed  # what verification recomputes from a read
