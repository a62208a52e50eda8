"""Sealed personal fields through the store's other paths: compression, snapshots, imports.

A compression dictionary is trained on payloads as stored, so it holds no fragment of a sealed
field; a snapshot keeps its personal state sealed and reads as erased once the key is gone; an
export of sealed events imports with the same hashes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from chronicle.bootstrap import open_store
from chronicle.chat.domain import Message
from chronicle.chat.domain.events import MessageCreated, chat_events
from chronicle.chat.wiring import chat_personal_policy
from chronicle.compression import Compressor
from chronicle.integrity.verifier import Verifier
from chronicle.personal.keystore.memory import MemoryKeyStore
from chronicle.personal.protector import SNAPSHOT_SUBJECT, PersonalData
from chronicle.repository import Repository
from chronicle.store.ports import EventStore


@pytest.fixture
def personal() -> PersonalData:
    return PersonalData(chat_personal_policy(), MemoryKeyStore(), cache_seconds=0)


@pytest.fixture
def sealed_store(store_url: str, personal: PersonalData) -> Iterator[EventStore]:
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


def test_a_dictionary_trained_on_sealed_events_holds_none_of_their_text(
    sealed_store: EventStore,
) -> None:
    if not sealed_store.capabilities.compression:
        pytest.skip("this backend keeps payloads as appended")
    secrets = [f"secretword{n:04d}" for n in range(300)]
    ids = [a_message(sealed_store, f"user_{n % 7}", f"{word} said again {word}") for n, word in
           enumerate(secrets)]  # fmt: skip
    report = Compressor(sealed_store, after_days=0).run(datetime.now(UTC) + timedelta(seconds=1))
    assert report.events >= len(secrets) and report.dictionaries_trained
    dictionaries = sealed_store.dictionaries()  # type: ignore[attr-defined]
    assert dictionaries
    for dictionary in dictionaries:
        assert b"secretword" not in dictionary.content
        assert b"_name" not in dictionary.content
    assert sealed_store.get_events_for_aggregate(ids[5])[0].data["content"].startswith(secrets[5])
    assert Verifier(sealed_store).verify().intact


def test_a_snapshot_keeps_its_personal_state_sealed_and_reads_as_erased_once_its_key_is_gone(
    sealed_store: EventStore, personal: PersonalData
) -> None:
    repository = Repository(sealed_store, Message, snapshot_interval=1)
    message = Message.create("words in a snapshot", "ana")
    repository.save(message, user_id="user_ana")
    snapshot = sealed_store.load_snapshot(message.id)
    assert snapshot is not None and snapshot.state["content"] == "words in a snapshot"
    [stored] = [s for s in sealed_store.stored_snapshots() if s.snapshot.aggregate_id == message.id]
    assert stored.readable and stored.opened_digest is not None

    personal.keys.erase(SNAPSHOT_SUBJECT + message.id, erased_by=None, reason="erasure of ana")
    assert sealed_store.load_snapshot(message.id) is None  # the events then say more
    [after] = [s for s in sealed_store.stored_snapshots() if s.snapshot.aggregate_id == message.id]
    assert not after.readable and after.replayable_digest is None
    assert after.snapshot.state["content"].startswith("[erased on ")
    assert after.digest == stored.digest  # the stored bytes, and what attests them, unchanged


def test_an_export_of_sealed_events_imports_sealed_with_the_same_hashes(
    sealed_store: EventStore, personal: PersonalData
) -> None:
    from chronicle.importing.entries import entry_from_export
    from chronicle.store.memory import MemoryEventStore

    message_id = a_message(sealed_store, "user_bo", "exported words")
    [event] = sealed_store.get_events_for_aggregate(message_id)
    document = {**event.to_dict(), "timestamp": event.timestamp.isoformat()}
    entry = entry_from_export(document, "line 1")
    target = MemoryEventStore()
    target.protect_personal_data(personal)  # the same key store: the copy reads as the source
    [copied] = target.import_events(
        entry.aggregate_id,
        [entry.new_event()],
        expected_version=0,
        aggregate_type=entry.aggregate_type,
        user_id=entry.user_id,
        recorded_at=event.timestamp,
    )
    assert copied.hash == event.hash
    assert copied.data["content"] == "exported words"


def test_a_snapshot_saved_after_its_key_was_erased_is_not_kept_under_a_new_key(
    sealed_store: EventStore, personal: PersonalData
) -> None:
    repository = Repository(sealed_store, Message, snapshot_interval=1)
    message = Message.create("loaded before the erasure", "ana")
    repository.save(message, user_id="user_ana")
    personal.keys.erase(SNAPSHOT_SUBJECT + message.id, erased_by=None, reason="erasure of ana")
    message.edit("still in the writer's hands")
    repository.save(message, user_id="user_bo")  # its snapshot would hold the erased text
    keys = personal.keys.keys_of(SNAPSHOT_SUBJECT + message.id)
    assert [type(key).__name__ for key in keys] == ["ErasedKey"]
    assert sealed_store.load_snapshot(message.id) is None


def test_history_imported_with_its_hashes_keeps_them_and_is_stored_as_it_was(
    sealed_store: EventStore,
) -> None:
    from chronicle.importing.entries import entry_from_export
    from chronicle.importing.importer import import_history
    from chronicle.store.memory import MemoryEventStore

    plain = MemoryEventStore()  # a store from before sealing: the content in clear
    event = MessageCreated(content="in clear before", username="ana", message_type="text")
    plain.append(
        "message_" + "1" * 32,
        [chat_events.to_new_event(event)],
        expected_version=0,
        aggregate_type="Message",
        user_id="user_ana",
    )
    [source] = plain.get_events_for_aggregate("message_" + "1" * 32)
    document = {**source.to_dict(), "timestamp": source.timestamp.isoformat()}
    report = import_history(sealed_store, [entry_from_export(document, "line 1")])
    assert report.imported == 1
    [imported] = sealed_store.get_events_for_aggregate("message_" + "1" * 32)
    assert imported.hash == source.hash and imported.personal is None
    assert imported.data["content"] == "in clear before"
    again = import_history(sealed_store, [entry_from_export(document, "line 1")])
    assert again.already_stored == 1  # the documented resume still works
