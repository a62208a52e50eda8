"""The recorded-event envelope: built fast on the read paths, and as immutable as ever."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import orjson
import pytest

from chronicle.events import RecordedEvent, Unopened, recorded_event

FIELDS = (
    "0b6b8f7e-8c1d-4c5e-9a57-3f2f4b1c2d3e",
    "message_1",
    "Message",
    "MessageCreated",
    3,
    42,
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "user_1",
    {"content": "hi"},
    {"correlation_id": "c", "causation_id": None},
    2,
    7,
    b"\x01" * 32,
    None,  # personal: no sealed fields
)


def test_an_event_built_for_a_read_equals_the_one_its_constructor_builds() -> None:
    built = recorded_event(*FIELDS)
    assert type(built) is RecordedEvent
    assert built == RecordedEvent(*FIELDS) and repr(built) == repr(RecordedEvent(*FIELDS))
    assert [getattr(built, field.name) for field in dataclasses.fields(built)] == list(FIELDS)
    assert built.correlation_id == "c" and built.to_dict()["hash"] == "01" * 32


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(RecordedEvent)])
def test_an_event_built_for_a_read_cannot_be_changed_or_given_new_attributes(field: str) -> None:
    built = recorded_event(*FIELDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, field, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(built, field)
    with pytest.raises((AttributeError, TypeError)):
        built.extra = 1  # type: ignore[attr-defined]


def test_an_event_built_for_a_read_is_copied_replaced_and_pickled_like_any_other() -> None:
    built = recorded_event(*FIELDS)
    assert dataclasses.replace(built, version=4).version == 4 and built.version == 3
    assert pickle.loads(pickle.dumps(built)) == built


class CountingReader:
    """Reads stored bytes as a store's reader does, counting the events it opens."""

    def __init__(self) -> None:
        self.openings: list[str] = []

    def stored(self, raw: bytes) -> dict[str, object]:
        loaded: dict[str, object] = orjson.loads(raw)
        return loaded

    def open(self, event_type: str, raw: bytes) -> tuple[dict[str, object], str]:
        self.openings.append(event_type)
        data = self.stored(raw)
        del data["$personal"]
        return {**data, "content": "hi"}, "how it opened"


def test_data_read_unopened_is_opened_once_when_first_asked_for_and_is_immutable_after() -> None:
    reader = CountingReader()
    raw = b'{"$personal":{"fields":["content"]},"kind":"text"}'
    unopened = Unopened(reader, "MessageCreated", raw)
    built = recorded_event(*FIELDS[:8], unopened, *FIELDS[9:13], unopened)
    assert built.stored_data == orjson.loads(raw) and reader.openings == []
    assert built.stored_data is not built.stored_data  # a copy of its own for each caller
    assert built.data == {"kind": "text", "content": "hi"}
    assert built.personal == "how it opened" and built.data is built.data
    assert reader.openings == ["MessageCreated"]
    assert pickle.loads(pickle.dumps(built)).data == built.data
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.data = {}  # type: ignore[misc]
