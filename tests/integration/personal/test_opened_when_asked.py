"""A read event's sealed personal fields are opened when its data is first asked for, not before.

What needs only the stored form (the relay's messages, archives, proofs, the chain check) then
decrypts nothing, and what does ask gets the same answer an eager read gave, on every backend:
the plaintext, or the placeholder of an erasure that happened in between.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from chronicle.bootstrap import open_store
from chronicle.chat.domain.events import MessageCreated, chat_events
from chronicle.chat.wiring import chat_personal_policy
from chronicle.integrity.findings import ProblemKind
from chronicle.integrity.verifier import Verifier
from chronicle.personal.envelope import ENVELOPE
from chronicle.personal.keystore.memory import MemoryKeyStore
from chronicle.personal.protector import ERASED, OPEN, UNREADABLE, PersonalData
from chronicle.publishing.messages import body
from chronicle.store.ports import EventStore
from tests.integration.integrity.test_tampering import attack


class CountedOpenings(PersonalData):
    """The chat's personal data, counting the events it opens."""

    def __init__(self) -> None:
        super().__init__(chat_personal_policy(), MemoryKeyStore(), cache_seconds=0)
        self.openings = 0

    def open_event(
        self, event_type: str, data: dict[str, Any], *, owned: bool = False
    ) -> tuple[dict[str, Any], Any]:
        self.openings += 1
        return super().open_event(event_type, data, owned=owned)


@pytest.fixture
def personal() -> CountedOpenings:
    return CountedOpenings()


@pytest.fixture
def sealed_store(store_url: str, personal: CountedOpenings) -> Iterator[EventStore]:
    store = open_store(store_url, personal=personal)
    yield store
    store.close()


def a_message(store: EventStore, author: str, content: str) -> str:
    message_id = f"message_{uuid.uuid4().hex}"
    event = MessageCreated(content=content, username=f"{author}_name", message_type="text")
    store.append(
        message_id,
        [chat_events.to_new_event(event)],
        expected_version=0,
        aggregate_type="Message",
        user_id=author,
    )
    return message_id


def test_a_read_decrypts_nothing_until_an_events_data_is_asked_for(
    sealed_store: EventStore, personal: CountedOpenings
) -> None:
    a_message(sealed_store, "user_ana", "first words")
    a_message(sealed_store, "user_bo", "second words")
    personal.openings = 0
    events = sealed_store.read_all()
    assert len(events) == 2 and personal.openings == 0
    assert events[0].data["content"] == "first words"
    assert personal.openings == 1
    assert events[0].data["content"] == "first words" and events[0].personal.status == OPEN
    assert personal.openings == 1  # opened once, kept


def test_the_stored_form_of_a_read_event_is_given_without_opening_it(
    sealed_store: EventStore, personal: CountedOpenings
) -> None:
    a_message(sealed_store, "user_ana", "words kept sealed")
    personal.openings = 0
    [event] = sealed_store.read_all()
    stored = event.to_stored_dict()
    message = orjson.loads(body(event))
    assert personal.openings == 0
    assert ENVELOPE in stored["data"] and "content" not in stored["data"]
    assert message["data"] == stored["data"] and b"words kept sealed" not in body(event)
    assert event.stored_data == stored["data"]
    assert event.data["content"] == "words kept sealed"
    assert event.stored_data == stored["data"]  # the same stored form once opened
    assert personal.openings == 1


def test_verification_of_the_chains_opens_only_to_check_the_commitments(
    sealed_store: EventStore, personal: CountedOpenings
) -> None:
    for n in range(3):
        a_message(sealed_store, f"user_{n}", f"words {n}")
    personal.openings = 0
    assert Verifier(sealed_store).verify().intact
    assert personal.openings == 3  # each event once, for its commitment


def test_an_event_read_before_an_erasure_and_opened_after_it_reads_as_erased(
    sealed_store: EventStore, personal: CountedOpenings
) -> None:
    a_message(sealed_store, "user_ana", "words to be erased")
    [event] = sealed_store.read_all()
    personal.keys.erase_all(["user_ana"], erased_by="user_admin", reason="asked to")
    personal.forget("user_ana")
    assert event.data["content"].startswith("[erased on ")
    assert event.personal.status == ERASED
    assert "words to be erased" not in repr(event)


def test_two_threads_opening_one_event_at_once_read_the_same_data(
    sealed_store: EventStore,
) -> None:
    a_message(sealed_store, "user_ana", "read by two at once")
    for _ in range(20):
        [event] = sealed_store.read_all()
        start = threading.Barrier(2)
        seen: list[Any] = []

        def read(
            event: Any = event, start: threading.Barrier = start, seen: list[Any] = seen
        ) -> None:
            start.wait()
            seen.append((event.data, event.personal.status))

        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen[0] == seen[1] and seen[0][0]["content"] == "read by two at once"
        assert event.stored_data[ENVELOPE]["fields"] == ["content", "mentions", "username"]


@pytest.mark.parametrize("spelling", [b'"\\u0024personal":', b'"$personal" :'])
def test_an_envelope_rewritten_in_another_spelling_is_opened_and_its_tampering_found(
    sealed_store: EventStore, spelling: bytes
) -> None:
    a_message(sealed_store, "user_ana", "words to tamper with")
    [event] = sealed_store.read_all()
    stored = event.stored_data
    envelope = stored[ENVELOPE]
    blob = bytearray(base64.b64decode(envelope["ciphertext"]))
    blob[-1] ^= 1  # one bit of the tag: the ciphertext no longer opens
    forged = {**stored, ENVELOPE: {**envelope, "ciphertext": base64.b64encode(blob).decode()}}
    raw = orjson.dumps(forged, option=orjson.OPT_SORT_KEYS).replace(b'"$personal":', spelling)
    assert orjson.loads(raw) == forged  # the same JSON, spelt otherwise
    marker = "%s" if sealed_store.backend == "postgresql" else "?"
    update = f"UPDATE chronicle_events SET data = {marker} WHERE position = {marker}"
    attack(sealed_store, update, params=(raw, event.position))
    [read] = sealed_store.read_all()
    assert read.personal is not None and read.personal.status == UNREADABLE
    assert read.data["content"].startswith("[unreadable")
    report = Verifier(sealed_store).verify()
    assert [problem.kind for problem in report.problems] == [ProblemKind.PERSONAL_DATA_UNREADABLE]


@pytest.mark.parametrize("value", [50_000_000, 2**62, 1.5, "[1, 2]"])
def test_a_payload_that_is_no_json_object_reads_as_unreadable_and_is_named_by_verify(
    sealed_store: EventStore, value: object
) -> None:
    if sealed_store.backend != "sqlite":
        pytest.skip("only SQLite's loosely typed column can hold a number in place of the data")
    message_id = a_message(sealed_store, "user_ana", "words replaced by a number")
    [event] = sealed_store.read_all()
    attack(
        sealed_store,
        "UPDATE chronicle_events SET data = ? WHERE position = ?",
        params=(value, event.position),
    )
    [read] = sealed_store.read_all()
    assert list(read.data) == ["chronicle:unreadable"] and read.personal is None
    report = Verifier(sealed_store).verify()
    assert [(p.kind, p.aggregate_id) for p in report.problems] == [
        (ProblemKind.CONTENT_CHANGED, message_id)
    ]
