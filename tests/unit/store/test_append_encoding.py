"""Laws of the append path's fast encodings: they give exactly what the general forms give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronicle.errors import InvalidEventError
from chronicle.store.integrity import format_timestamp
from chronicle.store.prepare import check_event_id

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
