"""PersonalData: sealed on the way in, opened (or a placeholder) on the way out, keys cached."""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chronicle.errors import SubjectErasedError
from chronicle.personal.declarations import Personal, PersonalPolicy
from chronicle.personal.envelope import ENVELOPE
from chronicle.personal.keystore import DataKey
from chronicle.personal.keystore.memory import MemoryKeyStore
from chronicle.personal.protector import ERASED, OPEN, UNREADABLE, Opened, PersonalData
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import committed_bytes

POLICY = PersonalPolicy(
    events={
        "MessageCreated": Personal(fields=("content", "mentions"), empty={"mentions": []}),
        "UserProfileUpdated": Personal(fields=("updates.email",), subject="aggregate"),
    },
    states={"User": ("email", "display_name")},
)
MESSAGE = {"channel_id": "channel_general", "content": "hello Bob", "mentions": ["user_bob"]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def personal(keys: MemoryKeyStore, clock: Clock) -> PersonalData:
    return PersonalData(POLICY, keys, cache_seconds=10.0, clock=clock)


def sealed_message(personal: PersonalData, data: dict[str, Any] = MESSAGE) -> dict[str, Any]:
    sealed = personal.seal_event(
        "MessageCreated", data, aggregate_id="message_1", user_id="user_alice"
    )
    assert sealed is not None
    return sealed.stored


class CountingKeys:
    """A key store that counts how often it is asked (around a memory store, or a given one)."""

    def __init__(self, inner: MemoryKeyStore | None = None) -> None:
        self.inner = inner if inner is not None else MemoryKeyStore()
        self.active_calls = 0
        self.keys_calls = 0
        self.asked: list[list[str]] = []  # the key ids of each keys() call

    def active_key(self, subject: str, *, renew: bool = False) -> DataKey:
        self.active_calls += 1
        return self.inner.active_key(subject, renew=renew)

    def keys(self, key_ids: Any) -> Any:
        self.keys_calls += 1
        self.asked.append(list(key_ids))
        return self.inner.keys(key_ids)

    def keys_of(self, subject: str) -> Any:
        return self.inner.keys_of(subject)

    def erase(self, subject: str, *, erased_by: str | None, reason: str) -> Any:
        return self.inner.erase(subject, erased_by=erased_by, reason=reason)

    def close(self) -> None:
        self.inner.close()


def resealed(stored: dict[str, Any], key: bytes, values: dict[str, Any]) -> dict[str, Any]:
    """``stored`` with other ``values`` sealed by a holder of ``key`` under the same commitment
    (the documented format, built with the low-level API): AEAD-valid, but not what the
    commitment, which the hash covers, was made to."""
    commitment = stored[ENVELOPE]["commitment"]
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(commitment.encode("ascii"))
    plaintext = os.urandom(32) + canonical_json(values)
    blob = nonce + encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
    return {**stored, ENVELOPE: {**stored[ENVELOPE], "ciphertext": base64.b64encode(blob).decode()}}


def data_key_of(keys: MemoryKeyStore, stored: dict[str, Any]) -> bytes:
    key_id = stored[ENVELOPE]["key"]
    key = keys.keys([key_id])[key_id]
    assert isinstance(key, DataKey)
    return key.key


# -- opening -----------------------------------------------------------------------------------


def test_a_sealed_event_opens_to_its_plaintext(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    assert "content" not in stored and "mentions" not in stored
    opened, how = personal.open_event("MessageCreated", stored)
    assert opened == MESSAGE
    assert how is not None and how.status == OPEN
    assert how.stored(opened) == stored


def test_the_subject_is_the_appending_user_or_the_aggregate_as_declared(
    personal: PersonalData,
) -> None:
    assert sealed_message(personal)[ENVELOPE]["subject"] == "user_alice"
    profile = personal.seal_event(
        "UserProfileUpdated", {"updates": {"email": "bob@example.com"}},
        aggregate_id="user_bob", user_id="user_admin",
    )  # fmt: skip
    assert profile is not None and profile.stored[ENVELOPE]["subject"] == "user_bob"


@pytest.mark.parametrize("user_id", [None, ""])
def test_an_actors_personal_data_appended_without_a_user_is_sealed_under_the_aggregate(
    personal: PersonalData, user_id: str | None
) -> None:
    sealed = personal.seal_event(
        "MessageCreated", MESSAGE, aggregate_id="message_1", user_id=user_id
    )
    assert sealed is not None  # never stored in clear
    assert sealed.stored[ENVELOPE]["subject"] == "message_1"
    assert "content" not in sealed.stored and b"hello Bob" not in canonical_json(sealed.stored)
    opened, how = personal.open_event("MessageCreated", sealed.stored)
    assert opened == MESSAGE and how is not None and how.status == OPEN


def test_an_erased_subjects_fields_read_as_placeholders_with_the_erasure_date(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    stored = sealed_message(personal)
    [tombstone] = keys.erase("user_alice", erased_by="user_admin", reason="request")
    personal.forget("user_alice")
    day = tombstone.erased_at.date().isoformat()
    opened, how = personal.open_event("MessageCreated", stored)
    assert opened == {
        "channel_id": "channel_general",
        "content": f"[erased on {day}]",
        "mentions": [],  # a declared empty value instead of the text
    }
    assert re.fullmatch(r"\[erased on \d{4}-\d{2}-\d{2}\]", opened["content"])
    assert how is not None and how.status == ERASED and how.erased_on == day
    assert how.to_dict()["status"] == "erased"
    assert how.stored(opened) == stored  # the stored form (what the hash covers) is intact


def test_an_erased_nested_field_reads_as_a_placeholder_in_its_parent(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    sealed = personal.seal_event(
        "UserProfileUpdated", {"updates": {"email": "bob@example.com", "display_name": "Bob"}},
        aggregate_id="user_bob", user_id="user_bob",
    )  # fmt: skip
    assert sealed is not None
    [tombstone] = keys.erase("user_bob", erased_by=None, reason="request")
    personal.forget("user_bob")
    opened, _ = personal.open_event("UserProfileUpdated", sealed.stored)
    assert opened == {
        "updates": {
            "display_name": "Bob",
            "email": f"[erased on {tombstone.erased_at.date().isoformat()}]",
        }
    }


def test_only_the_fields_that_were_sealed_get_placeholders(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    stored = sealed_message(personal, {"channel_id": "c", "content": "hi"})  # no mentions
    keys.erase("user_alice", erased_by=None, reason="request")
    personal.forget("user_alice")
    opened, _ = personal.open_event("MessageCreated", stored)
    assert set(opened) == {"channel_id", "content"}


def test_an_altered_envelope_reads_as_unreadable(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    raw = bytearray(base64.b64decode(stored[ENVELOPE]["ciphertext"]))
    raw[0] ^= 0x01
    altered = {
        **stored,
        ENVELOPE: {**stored[ENVELOPE], "ciphertext": base64.b64encode(raw).decode()},
    }
    opened, how = personal.open_event("MessageCreated", altered)
    assert opened["content"].startswith("[unreadable: ")
    assert opened["content"].endswith("]")
    assert opened["mentions"] == []
    assert opened["channel_id"] == "channel_general"
    assert how is not None and how.status == UNREADABLE and how.problem
    assert how.to_dict()["problem"] == how.problem


def test_an_envelope_with_a_changed_commitment_reads_as_unreadable(personal: PersonalData) -> None:
    """The commitment is the ciphertext's associated data: changed, it no longer decrypts."""
    stored = sealed_message(personal)
    altered = {**stored, ENVELOPE: {**stored[ENVELOPE], "commitment": "0" * 64}}
    opened, how = personal.open_event("MessageCreated", altered)
    assert opened["content"].startswith("[unreadable: ")
    assert how is not None and how.status == UNREADABLE
    assert "do not decrypt" in (how.problem or "")
    assert personal.commitment_holds(how) is False


def test_values_resealed_under_the_same_commitment_read_as_open_but_do_not_hold_it(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    stored = sealed_message(personal)
    forged = resealed(stored, data_key_of(keys, stored), {"content": "forged", "mentions": []})
    # what the hash covers is unchanged: only the commitment check can tell
    assert committed_bytes(canonical_json(forged)) == committed_bytes(canonical_json(stored))
    opened, how = personal.open_event("MessageCreated", forged)
    assert how is not None and how.status == OPEN  # reads leave the commitment out
    assert opened == {**MESSAGE, "content": "forged", "mentions": []}
    assert personal.commitment_holds(how) is False  # what verify asks


def test_a_genuine_seal_holds_its_commitment(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    _, how = personal.open_event("MessageCreated", stored)
    assert how is not None and how.status == OPEN
    assert personal.commitment_holds(how) is True


def test_a_commitment_can_be_checked_by_a_process_that_did_not_seal_it(
    keys: MemoryKeyStore, clock: Clock
) -> None:
    writer = PersonalData(POLICY, keys, clock=clock)
    stored = sealed_message(writer)
    forged = resealed(stored, data_key_of(keys, stored), {"content": "forged"})
    verifier = PersonalData(POLICY, keys, clock=clock)
    _, genuine = verifier.open_event("MessageCreated", stored)
    _, altered = verifier.open_event("MessageCreated", forged)
    assert genuine is not None and verifier.commitment_holds(genuine) is True
    assert altered is not None and verifier.commitment_holds(altered) is False


def test_an_erased_or_unknown_key_leaves_no_commitment_to_check(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    stored = sealed_message(personal)
    unknown = {**stored, ENVELOPE: {**stored[ENVELOPE], "key": "dk-nowhere"}}
    _, how = personal.open_event("MessageCreated", unknown)
    assert how is not None and how.status == UNREADABLE
    assert personal.commitment_holds(how) is True  # nothing left to compare
    keys.erase("user_alice", erased_by=None, reason="request")
    personal.forget("user_alice")
    _, how = personal.open_event("MessageCreated", stored)
    assert how is not None and how.status == ERASED
    assert personal.commitment_holds(how) is True


def test_an_unknown_key_id_reads_as_unreadable_naming_the_key(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    unknown = {**stored, ENVELOPE: {**stored[ENVELOPE], "key": "dk-nowhere"}}
    opened, how = personal.open_event("MessageCreated", unknown)
    assert opened["content"] == "[unreadable: the key store has no key dk-nowhere]"
    assert how is not None and how.status == UNREADABLE
    assert how.problem == "the key store has no key dk-nowhere"


def test_an_envelope_of_an_event_type_no_longer_declared_still_opens(
    personal: PersonalData,
) -> None:
    stored = sealed_message(personal)
    opened, how = personal.open_event("SomethingElse", stored)
    assert opened == MESSAGE
    assert how is not None and how.status == OPEN


def test_an_event_is_opened_on_a_copy_unless_the_caller_owns_it(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    before = dict(stored)
    opened, _ = personal.open_event("MessageCreated", stored)
    assert opened is not stored and stored == before  # the caller's stored data is untouched
    owned = dict(stored)
    opened, how = personal.open_event("MessageCreated", owned, owned=True)
    assert opened is owned and opened == MESSAGE  # opened in place
    assert how is not None and how.stored(opened) == stored


def test_an_envelope_that_is_not_an_object_is_no_envelope(personal: PersonalData) -> None:
    data = {"content": "hi", ENVELOPE: "not an envelope"}
    opened, how = personal.open_event("MessageCreated", data)
    assert opened is data and how is None


def test_an_envelope_without_a_key_id_of_text_reads_as_unreadable(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    for key_id in (None, 7):
        altered = {**stored, ENVELOPE: {**stored[ENVELOPE], "key": key_id}}
        opened, how = personal.open_event("MessageCreated", altered)
        assert how is not None and how.status == UNREADABLE
        assert opened["content"].startswith("[unreadable: ")


def test_opened_compares_by_value_and_is_a_slotted_unhashable_class(
    personal: PersonalData,
) -> None:
    stored = sealed_message(personal)
    _, how = personal.open_event("MessageCreated", stored)
    _, again = personal.open_event("MessageCreated", stored)
    assert how is not None and how is not again and how == again
    assert how == Opened(stored[ENVELOPE], OPEN)
    assert how != Opened(stored[ENVELOPE], ERASED)
    assert how != Opened(stored[ENVELOPE], OPEN, problem="x")
    assert how != Opened(stored[ENVELOPE], OPEN, erased_on="2026-01-01")
    assert how != Opened({**stored[ENVELOPE], "key": "dk-other"}, OPEN)
    assert how != (stored[ENVELOPE], OPEN)
    assert not hasattr(how, "__dict__")
    with pytest.raises(TypeError):
        hash(how)


def test_opened_says_how_it_read_without_showing_its_ciphertext(personal: PersonalData) -> None:
    stored = sealed_message(personal)
    _, how = personal.open_event("MessageCreated", stored)
    assert how is not None
    assert repr(how) == f"Opened(status='open', key={stored[ENVELOPE]['key']!r})"
    assert how.to_dict() == {"status": OPEN, "envelope": stored[ENVELOPE]}


# -- events without personal fields ----------------------------------------------------------


def test_an_event_type_without_declarations_is_not_sealed(personal: PersonalData) -> None:
    assert (
        personal.seal_event(
            "ChannelCreated", {"name": "general"}, aggregate_id="c", user_id="user_alice"
        )
        is None
    )


def test_a_declared_event_holding_none_of_its_fields_is_not_sealed_and_needs_no_key(
    clock: Clock,
) -> None:
    keys = CountingKeys()
    personal = PersonalData(POLICY, keys, clock=clock)
    assert (
        personal.seal_event(
            "MessageCreated", {"channel_id": "c"}, aggregate_id="m", user_id="user_alice"
        )
        is None
    )
    assert keys.active_calls == 0


def test_an_event_without_an_envelope_is_returned_unchanged(personal: PersonalData) -> None:
    data = {"name": "general", "content": "not sealed"}
    opened, how = personal.open_event("MessageCreated", data)
    assert opened is data
    assert how is None


def test_a_state_without_declared_fields_is_stored_and_opened_as_it_is(
    personal: PersonalData,
) -> None:
    state = {"name": "general"}
    assert personal.seal_state("Channel", "channel_1", state) is state
    assert personal.open_state("Channel", state) == (state, True)


# -- the key cache ---------------------------------------------------------------------------


def test_a_cached_key_is_honoured_for_cache_seconds_then_refreshed(
    personal: PersonalData, keys: MemoryKeyStore, clock: Clock
) -> None:
    stored = sealed_message(personal)
    keys.erase("user_alice", erased_by=None, reason="by another process")  # no forget() here
    clock.now += 9.9
    opened, how = personal.open_event("MessageCreated", stored)
    assert opened == MESSAGE and how is not None and how.status == OPEN
    assert sealed_message(personal) is not None  # still writes with the cached key
    clock.now += 0.2  # 10.1 s after the key was cached
    opened, how = personal.open_event("MessageCreated", stored)
    assert how is not None and how.status == ERASED
    assert opened["content"].startswith("[erased on ")
    with pytest.raises(SubjectErasedError):
        sealed_message(personal)


def test_keys_are_asked_of_the_store_once_per_cache_period(clock: Clock) -> None:
    keys = CountingKeys()
    personal = PersonalData(POLICY, keys, cache_seconds=10.0, clock=clock)
    stored = sealed_message(personal)
    sealed_message(personal)
    clock.now += 5
    personal.open_event("MessageCreated", stored)
    assert (keys.active_calls, keys.keys_calls) == (1, 0)  # the write cached the read key too
    clock.now += 6
    personal.open_event("MessageCreated", stored)
    sealed_message(personal)  # the write key expired too: the read just refreshed it
    assert (keys.active_calls, keys.keys_calls) == (1, 1)
    clock.now += 11
    sealed_message(personal)  # expired for both: one lookup of the key it holds
    assert (keys.active_calls, keys.keys_calls) == (1, 2)
    assert keys.asked[-1] == [stored[ENVELOPE]["key"]]
    personal.open_event("MessageCreated", stored)
    assert (keys.active_calls, keys.keys_calls) == (1, 2)


def test_every_expired_key_is_refreshed_in_the_same_round_trip(clock: Clock) -> None:
    keys = CountingKeys()
    personal = PersonalData(POLICY, keys, cache_seconds=10.0, clock=clock)
    alice = sealed_message(personal)
    bob = personal.seal_event("MessageCreated", MESSAGE, aggregate_id="m2", user_id="user_bob")
    assert bob is not None
    alice_key, bob_key = alice[ENVELOPE]["key"], bob.stored[ENVELOPE]["key"]
    clock.now += 11
    personal.open_event("MessageCreated", alice)
    assert keys.keys_calls == 1
    assert keys.asked[0][0] == alice_key and sorted(keys.asked[0]) == sorted([alice_key, bob_key])
    opened, how = personal.open_event("MessageCreated", bob.stored)
    assert opened == MESSAGE and how is not None and how.status == OPEN
    assert keys.keys_calls == 1  # refreshed with alice's
    assert (keys.active_calls, keys.keys_calls) == (2, 1)


def test_a_refresh_brings_an_erasure_by_another_process_for_every_key_it_asks(
    keys: MemoryKeyStore, clock: Clock
) -> None:
    counting = CountingKeys(keys)
    personal = PersonalData(POLICY, counting, cache_seconds=10.0, clock=clock)
    alice = sealed_message(personal)
    bob = personal.seal_event("MessageCreated", MESSAGE, aggregate_id="m2", user_id="user_bob")
    assert bob is not None
    keys.erase("user_bob", erased_by=None, reason="by another process")  # no forget() here
    clock.now += 11
    assert personal.open_event("MessageCreated", alice)[1].status == OPEN  # type: ignore[union-attr]
    _, how = personal.open_event("MessageCreated", bob.stored)
    assert how is not None and how.status == ERASED
    assert counting.keys_calls == 1
    with pytest.raises(SubjectErasedError):
        personal.seal_event("MessageCreated", MESSAGE, aggregate_id="m3", user_id="user_bob")
    clock.now += 11
    personal.open_event("MessageCreated", alice)
    assert counting.asked[-1] == [alice[ENVELOPE]["key"]]  # an erased key is not asked again


class Tick(float):
    """A clock reading whose subtraction can run ``during`` once, in the thread ``armed_in``:
    the cache compares readings while it walks its entries, so this is another thread's read
    landing at that moment (what a thread switch there does)."""

    armed_in: threading.Thread | None = None
    during: Any = None

    def __sub__(self, other: float) -> float:
        if Tick.armed_in is threading.current_thread():
            Tick.armed_in = None
            Tick.during()
        return float(self) - float(other)


def test_a_read_while_another_thread_refreshes_the_cache_does_not_fail(
    keys: MemoryKeyStore,
) -> None:
    writer = PersonalData(POLICY, keys)
    first, second, third = (
        personal_stored(writer, f"user_{name}") for name in ("first", "second", "third")
    )
    now = [1000.0]
    reader = PersonalData(POLICY, keys, cache_seconds=10.0, clock=lambda: Tick(now[0]))
    reader.open_event("MessageCreated", first)
    now[0] += 11  # the first key has expired: the next read of another key walks the cache

    def another_threads_read() -> None:
        other = threading.Thread(target=reader.open_event, args=("MessageCreated", second))
        other.start()
        other.join()

    Tick.during, Tick.armed_in = another_threads_read, threading.current_thread()
    try:
        opened, how = reader.open_event("MessageCreated", third)
    finally:
        Tick.armed_in = None
    assert how is not None and how.status == OPEN and opened == MESSAGE


def personal_stored(personal: PersonalData, user_id: str) -> dict[str, Any]:
    sealed = personal.seal_event("MessageCreated", MESSAGE, aggregate_id="m", user_id=user_id)
    assert sealed is not None
    return sealed.stored


def test_an_unknown_key_is_not_cached_as_one(clock: Clock) -> None:
    keys = CountingKeys()
    personal = PersonalData(POLICY, keys, cache_seconds=10.0, clock=clock)
    stored = sealed_message(personal)
    unknown = {**stored, ENVELOPE: {**stored[ENVELOPE], "key": "dk-nowhere"}}
    for _ in range(2):
        _, how = personal.open_event("MessageCreated", unknown)
        assert how is not None and how.status == UNREADABLE
    assert keys.asked == [["dk-nowhere"], ["dk-nowhere"]]


def test_a_key_read_by_another_process_is_cached_too(keys: MemoryKeyStore, clock: Clock) -> None:
    writer = PersonalData(POLICY, keys, clock=clock)
    stored = sealed_message(writer)
    counting = CountingKeys(keys)  # the same keys, counted
    reader = PersonalData(POLICY, counting, cache_seconds=10.0, clock=clock)
    for _ in range(3):
        assert reader.open_event("MessageCreated", stored)[0] == MESSAGE
    assert counting.keys_calls == 1


def test_forget_drops_the_cached_keys_at_once(personal: PersonalData, keys: MemoryKeyStore) -> None:
    stored = sealed_message(personal)
    keys.erase("user_alice", erased_by=None, reason="request")
    personal.forget("user_alice")
    _, how = personal.open_event("MessageCreated", stored)
    assert how is not None and how.status == ERASED
    with pytest.raises(SubjectErasedError) as raised:
        sealed_message(personal)
    assert raised.value.subject == "user_alice"


def test_forget_leaves_other_subjects_cached(clock: Clock) -> None:
    keys = CountingKeys()
    personal = PersonalData(POLICY, keys, cache_seconds=10.0, clock=clock)
    bob = personal.seal_event("MessageCreated", MESSAGE, aggregate_id="m2", user_id="user_bob")
    sealed_message(personal)
    assert bob is not None
    personal.forget("user_alice")
    personal.open_event("MessageCreated", bob.stored)
    assert keys.keys_calls == 0


def test_an_erased_key_once_read_stays_erased_whatever_the_clock(
    personal: PersonalData, keys: MemoryKeyStore, clock: Clock
) -> None:
    stored = sealed_message(personal)
    keys.erase("user_alice", erased_by=None, reason="request")
    personal.forget("user_alice")
    first, _ = personal.open_event("MessageCreated", stored)
    clock.now += 10_000
    again, how = personal.open_event("MessageCreated", stored)
    assert again == first and how is not None and how.status == ERASED


# -- erased subjects -------------------------------------------------------------------------


def test_an_erased_subject_takes_no_new_personal_data(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    sealed_message(personal)
    [tombstone] = keys.erase("user_alice", erased_by=None, reason="request")
    personal.forget("user_alice")
    with pytest.raises(SubjectErasedError) as raised:
        sealed_message(personal)
    assert raised.value.erased_at == tombstone.erased_at.date().isoformat()
    # ... while an event of theirs without personal fields is still no concern of the protector
    assert (
        personal.seal_event(
            "MessageCreated", {"channel_id": "c"}, aggregate_id="m", user_id="user_alice"
        )
        is None
    )


def test_a_snapshot_is_sealed_under_its_aggregates_snapshot_key(personal: PersonalData) -> None:
    state = {"email": "alice@example.com", "display_name": "Alice", "status": "active"}
    stored = personal.seal_state("User", "user_alice", state)
    assert stored[ENVELOPE]["subject"] == "snapshot:user_alice"
    assert set(stored[ENVELOPE]["fields"]) == {"email", "display_name"}
    assert stored["status"] == "active" and "email" not in stored
    assert personal.open_state("User", stored) == (state, True)


def test_a_snapshot_subject_renews_its_key_after_an_erasure_only_when_asked(
    personal: PersonalData, keys: MemoryKeyStore
) -> None:
    state = {"email": "alice@example.com", "display_name": "Alice", "status": "active"}
    before = personal.seal_state("User", "user_alice", state)
    keys.erase("snapshot:user_alice", erased_by=None, reason="request")
    personal.forget("snapshot:user_alice")
    opened, readable = personal.open_state("User", before)
    assert readable is False
    assert opened["email"].startswith("[erased on ") and opened["status"] == "active"
    # A writer's state may predate the erasure: refused; a replay from the store renews.
    with pytest.raises(SubjectErasedError):
        personal.seal_state("User", "user_alice", state)
    after = personal.seal_state("User", "user_alice", {**state, "email": "[erased]"}, renew=True)
    assert after[ENVELOPE]["key"] != before[ENVELOPE]["key"]
    assert personal.open_state("User", after) == ({**state, "email": "[erased]"}, True)
    assert len(keys.keys_of("snapshot:user_alice")) == 2
