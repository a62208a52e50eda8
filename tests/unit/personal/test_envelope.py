"""The envelope of personal fields: known answers, tamper evidence, the hashed form, hiding.

The known answers are computed here from the documented formulas, not from the code under test:
``commitment = SHA-256("chronicle-commitment-v1" ‖ 0x00 ‖ salt ‖ canonical values)`` (hex) and
``ciphertext = base64(nonce ‖ AES-256-GCM(key, nonce, salt ‖ canonical values))`` with the
commitment's ASCII as associated data, through the ``cryptography`` package's low-level
``Cipher`` API.

What the AEAD does not cover (the header's subject, key, fields and version) the integrity hash
does: the tests of the hashed form show that changing any of them changes the committed bytes.
"""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from chronicle.personal import envelope
from chronicle.personal.envelope import (
    ENVELOPE,
    EnvelopeError,
    commitment_holds,
    open_values,
    open_with,
    seal,
)
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import committed_bytes, content_digest

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SALT = bytes(range(0x40, 0x60))
NONCE = bytes(range(0xA0, 0xAC))
SUBJECT = "user_alice"
KEY_ID = "dk-test-1"

DATA = {"channel_id": "channel_general", "content": "h\u00e9llo, Bob", "mentions": ["user_bob"]}
FIELDS = ("content", "mentions")
VALUES = {"content": "h\u00e9llo, Bob", "mentions": ["user_bob"]}
CANONICAL_VALUES = b'{"content":"h\xc3\xa9llo, Bob","mentions":["user_bob"]}'
KNOWN_COMMITMENT = "4b0176fa889632e4f310d77af55dfd8e86e208c2208e4a71a89e0f4af520d43a"
# Computed once with Cipher(algorithms.AES(KEY), modes.GCM(NONCE)) over SALT ‖ CANONICAL_VALUES
# with KNOWN_COMMITMENT's ASCII as associated data: the ciphertext followed by the 16-byte tag
# (see test_the_known_ciphertext_is_what_aes_gcm_gives_for_the_documented_inputs). The stored
# blob is NONCE ‖ KNOWN_CIPHERTEXT.
KNOWN_CIPHERTEXT = bytes.fromhex(
    "a6593e6e018e44f82a2ccd984b378e9120fd0b43c6e2143bc4577cdd"
    "23f62b5ea9542490c15636532bbe3eea61b92a952b746a6820bf785c6d7c663bca04ecdfdacfa755"
    "6b8791939190a07ae0aceee7b0f9c640b0d9a2faa7c31a13e772c6ac30"
)
KNOWN_BLOB_B64 = (
    "oKGio6Slpqeoqaqrplk+bgGORPgqLM2YSzeOkSD9C0PG4hQ7xFd83SP2K16pVCSQwVY2Uyu+PuphuSqVK3RqaCC/"
    "eFxtfGY7ygTs39rPp1Vrh5GTkZCgeuCs7uew+cZAsNmi+qfDGhPncsasMA=="
)


def documented_commitment(salt: bytes, canonical_values: bytes) -> str:
    return hashlib.sha256(b"chronicle-commitment-v1\x00" + salt + canonical_values).hexdigest()


def documented_plaintext(salt: bytes, canonical_values: bytes) -> bytes:
    """32 raw bytes of salt, then the values' RFC 8785 form."""
    return salt + canonical_values


def documented_aad(commitment: str) -> bytes:
    return commitment.encode("ascii")


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM with the low-level API: ciphertext followed by the 16-byte tag."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def gcm_decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The inverse of the documented ``nonce ‖ ciphertext ‖ tag`` blob, with the low-level API."""
    nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hand_built_envelope(
    *,
    values: bytes = CANONICAL_VALUES,
    plaintext: bytes | None = None,
    commitment: str | None = None,
    fields: list[str] | None = None,
    key: bytes = KEY,
    salt: bytes = SALT,
    nonce: bytes = NONCE,
) -> dict[str, Any]:
    """An envelope made without our code. Its plaintext is ``salt ‖ values`` (or ``plaintext``);
    its commitment, which is also the associated data the ciphertext is sealed under, is
    ``commitment`` or by default the documented commitment to what the plaintext really holds."""
    plaintext = documented_plaintext(salt, values) if plaintext is None else plaintext
    if commitment is None:
        commitment = documented_commitment(plaintext[:32], plaintext[32:])
    ciphertext = gcm_encrypt(key, nonce, plaintext, documented_aad(commitment))
    return {
        "v": 1,
        "subject": SUBJECT,
        "key": KEY_ID,
        "fields": fields if fields is not None else ["content", "mentions"],
        "commitment": commitment,
        "ciphertext": b64(nonce + ciphertext),
    }


def known_envelope() -> dict[str, Any]:
    return {
        "v": 1,
        "subject": SUBJECT,
        "key": KEY_ID,
        "fields": ["content", "mentions"],
        "commitment": KNOWN_COMMITMENT,
        "ciphertext": KNOWN_BLOB_B64,
    }


@pytest.fixture
def fixed_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The envelope's salt and nonce are SALT and NONCE: its one draw of random bytes, the salt
    first."""

    def urandom(size: int) -> bytes:
        return {44: SALT + NONCE}[size]

    monkeypatch.setattr(envelope, "os", SimpleNamespace(urandom=urandom))


def sealed_of(
    data: dict[str, Any], fields: tuple[str, ...] = FIELDS, key: bytes = KEY
) -> envelope.Sealed:
    sealed = seal(data, fields, subject=SUBJECT, key_id=KEY_ID, key=key)
    assert sealed is not None
    return sealed


def blob_of(sealed_envelope: dict[str, Any]) -> bytes:
    return base64.b64decode(sealed_envelope["ciphertext"], validate=True)


def digest_of(data: bytes) -> bytes:
    return content_digest(
        event_id="00000000-0000-4000-8000-000000000001", aggregate_id="message_1",
        aggregate_type="Message", event_type="MessageCreated", schema_version=1,
        timestamp="2026-01-01T00:00:00.000000Z", user_id=SUBJECT, data=data, metadata=b"{}",
    )  # fmt: skip


def opens_nowhere(sealed_envelope: dict[str, Any], key: bytes = KEY) -> None:
    """Neither a checked open, nor a read's open, nor verification's check opens it."""
    with pytest.raises(EnvelopeError, match="do not decrypt"):
        open_values(sealed_envelope, key)
    with pytest.raises(EnvelopeError, match="do not decrypt"):
        open_with(sealed_envelope, AESGCM(key))
    with pytest.raises(EnvelopeError, match="do not decrypt"):
        commitment_holds(sealed_envelope, AESGCM(key))


# -- known answers ---------------------------------------------------------------------------


def test_the_known_commitment_follows_the_documented_formula() -> None:
    assert documented_commitment(SALT, CANONICAL_VALUES) == KNOWN_COMMITMENT
    assert envelope.commitment(SALT, CANONICAL_VALUES) == KNOWN_COMMITMENT
    assert envelope.commitment_of(SALT + CANONICAL_VALUES) == KNOWN_COMMITMENT


def test_the_known_values_are_the_rfc_8785_form_of_the_personal_fields() -> None:
    assert canonical_json(VALUES) == CANONICAL_VALUES
    assert len(SALT) == 32 and len(NONCE) == 12


def test_the_known_ciphertext_is_what_aes_gcm_gives_for_the_documented_inputs() -> None:
    plaintext = documented_plaintext(SALT, CANONICAL_VALUES)
    assert plaintext[:32] == SALT and plaintext[32:] == CANONICAL_VALUES
    aad = documented_aad(KNOWN_COMMITMENT)
    assert aad == KNOWN_COMMITMENT.encode("ascii") and len(aad) == 64
    assert gcm_encrypt(KEY, NONCE, plaintext, aad) == KNOWN_CIPHERTEXT
    assert len(KNOWN_CIPHERTEXT) == len(plaintext) + 16
    assert base64.b64decode(KNOWN_BLOB_B64) == NONCE + KNOWN_CIPHERTEXT
    assert gcm_decrypt(KEY, NONCE + KNOWN_CIPHERTEXT, aad) == plaintext


def test_a_seal_with_a_fixed_salt_and_nonce_gives_the_known_commitment_and_ciphertext(
    fixed_randomness: None,
) -> None:
    sealed = sealed_of(DATA)
    stored = sealed.stored[ENVELOPE]
    assert stored["commitment"] == documented_commitment(SALT, CANONICAL_VALUES)
    assert stored["commitment"] == KNOWN_COMMITMENT
    assert blob_of(stored) == NONCE + KNOWN_CIPHERTEXT
    assert stored == known_envelope()
    assert "nonce" not in stored  # the nonce travels inside the ciphertext's blob
    assert {k: v for k, v in sealed.stored.items() if k != ENVELOPE} == {
        "channel_id": "channel_general"
    }


def test_a_seal_with_a_kept_cipher_gives_the_same_known_answer(fixed_randomness: None) -> None:
    sealed = seal(DATA, FIELDS, subject=SUBJECT, key_id=KEY_ID, cipher=AESGCM(KEY))
    assert sealed is not None
    assert sealed.stored[ENVELOPE] == known_envelope()


def test_the_associated_data_is_the_commitment_and_not_the_header(
    fixed_randomness: None,
) -> None:
    stored = sealed_of(DATA).stored[ENVELOPE]
    blob = blob_of(stored)
    assert gcm_decrypt(KEY, blob, documented_aad(stored["commitment"])) == SALT + CANONICAL_VALUES
    header = canonical_json({k: v for k, v in stored.items() if k != "ciphertext"})
    with pytest.raises(InvalidTag):  # the old format's associated data
        gcm_decrypt(KEY, blob, header)
    with pytest.raises(InvalidTag):
        gcm_decrypt(KEY, blob, b"")


def test_a_random_seal_holds_the_documented_plaintext_under_the_documented_commitment() -> None:
    stored = sealed_of(DATA).stored[ENVELOPE]
    plaintext = gcm_decrypt(KEY, blob_of(stored), documented_aad(stored["commitment"]))
    salt, values = plaintext[:32], plaintext[32:]
    assert values == CANONICAL_VALUES
    assert stored["commitment"] == documented_commitment(salt, values)
    assert len(blob_of(stored)) == 12 + 32 + len(CANONICAL_VALUES) + 16


def test_an_envelope_built_by_hand_from_the_documented_format_opens() -> None:
    built = hand_built_envelope()
    assert open_values(built, KEY) == VALUES
    assert open_with(built, AESGCM(KEY)) == VALUES
    assert open_with(built, AESGCM(KEY), check=True) == VALUES
    assert commitment_holds(built, AESGCM(KEY)) is True


def test_the_known_vector_opens_with_its_key() -> None:
    assert open_values(known_envelope(), KEY) == VALUES
    assert open_with(known_envelope(), AESGCM(KEY)) == VALUES
    assert commitment_holds(known_envelope(), AESGCM(KEY)) is True


# -- tampering: what the AEAD refuses ----------------------------------------------------------


def flipped(text: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return b64(bytes(raw))


@pytest.mark.parametrize("at", [12, 12 + 3, 12 + 31, 12 + 32, -17])
def test_a_changed_ciphertext_does_not_open(at: int) -> None:
    sealed = dict(sealed_of(DATA).stored[ENVELOPE])  # salt bytes, values bytes, the last byte
    sealed["ciphertext"] = flipped(sealed["ciphertext"], at=at)
    opens_nowhere(sealed)


@pytest.mark.parametrize("at", [-16, -1])
def test_a_changed_tag_does_not_open(at: int) -> None:
    sealed = dict(sealed_of(DATA).stored[ENVELOPE])
    sealed["ciphertext"] = flipped(sealed["ciphertext"], at=at)
    opens_nowhere(sealed)


@pytest.mark.parametrize("at", [0, 5, 11])
def test_a_changed_nonce_inside_the_blob_does_not_open(at: int) -> None:
    sealed = dict(sealed_of(DATA).stored[ENVELOPE])
    sealed["ciphertext"] = flipped(sealed["ciphertext"], at=at)
    opens_nowhere(sealed)


def test_a_truncated_or_extended_blob_does_not_open() -> None:
    sealed = sealed_of(DATA).stored[ENVELOPE]
    blob = blob_of(sealed)
    for changed in (blob[:-1], blob[:12], blob[:28], blob + b"\x00", b""):
        opens_nowhere({**sealed, "ciphertext": b64(changed)})


@pytest.mark.parametrize(
    "commitment",
    [
        "0" * 64,
        KNOWN_COMMITMENT,  # a genuine commitment, of the same values under another salt
        "UPPER",  # replaced below by the same digest in capitals: other ASCII, same number
        "",
    ],
)
def test_a_changed_commitment_does_not_open_as_it_is_the_associated_data(
    commitment: str,
) -> None:
    original = sealed_of(DATA).stored[ENVELOPE]
    sealed = dict(original)
    sealed["commitment"] = original["commitment"].upper() if commitment == "UPPER" else commitment
    assert sealed["commitment"] != original["commitment"]
    assert open_values(original, KEY) == VALUES  # the envelope opened before the change
    opens_nowhere(sealed)


def test_a_commitment_that_is_not_text_does_not_open() -> None:
    sealed = sealed_of(DATA).stored[ENVELOPE]
    for commitment in (None, 7, ["x"]):
        opens_nowhere({**sealed, "commitment": commitment})


def test_the_wrong_key_does_not_open() -> None:
    opens_nowhere(sealed_of(DATA).stored[ENVELOPE], OTHER_KEY)
    opens_nowhere(known_envelope(), OTHER_KEY)


def test_a_ciphertext_moved_from_another_event_does_not_open() -> None:
    this = dict(sealed_of(DATA).stored[ENVELOPE])
    other = sealed_of({**DATA, "content": "something else"}).stored[ENVELOPE]
    this["ciphertext"] = other["ciphertext"]
    opens_nowhere(this)


def test_a_ciphertext_of_the_same_values_moved_from_another_event_does_not_open() -> None:
    this = dict(sealed_of(DATA).stored[ENVELOPE])
    twin = sealed_of(DATA).stored[ENVELOPE]  # same values, other salt: another commitment
    assert twin["commitment"] != this["commitment"]
    this["ciphertext"] = twin["ciphertext"]
    opens_nowhere(this)


def test_a_ciphertext_moved_with_its_commitment_opens_but_changes_the_hashed_bytes() -> None:
    """Moving both together is not refused by the AEAD; the hash covers the commitment."""
    this = sealed_of(DATA)
    other = sealed_of({**DATA, "content": "something else"}).stored[ENVELOPE]
    moved = {
        **this.stored,
        ENVELOPE: {
            **this.stored[ENVELOPE],
            "commitment": other["commitment"],
            "ciphertext": other["ciphertext"],
        },
    }
    assert open_values(moved[ENVELOPE], KEY)["content"] == "something else"
    assert committed_bytes(canonical_json(moved)) != committed_bytes(canonical_json(this.stored))


@pytest.mark.parametrize("missing", ["ciphertext", "commitment"])
def test_an_envelope_missing_a_part_does_not_open(missing: str) -> None:
    sealed = dict(sealed_of(DATA).stored[ENVELOPE])
    del sealed[missing]
    opens_nowhere(sealed)


@pytest.mark.parametrize("ciphertext", ["not base64!", "AAA", "AAAA AAAA", None, 123, b"AAAA"])
def test_an_envelope_whose_ciphertext_is_not_base64_text_does_not_open(ciphertext: Any) -> None:
    sealed = {**sealed_of(DATA).stored[ENVELOPE], "ciphertext": ciphertext}
    opens_nowhere(sealed)


def test_an_envelope_that_is_not_an_object_does_not_open() -> None:
    for sealed in ("text", ["commitment", "ciphertext"], None):
        opens_nowhere(sealed)  # type: ignore[arg-type]


def test_an_envelope_of_the_old_format_does_not_open() -> None:
    """The former format: a separate nonce, the plaintext ``{"salt", "values"}`` in JSON, the
    canonical header as associated data."""
    commitment = documented_commitment(SALT, CANONICAL_VALUES)
    header = (
        b'{"commitment":"' + commitment.encode() + b'","fields":["content","mentions"],'
        b'"key":"' + KEY_ID.encode() + b'","subject":"' + SUBJECT.encode() + b'","v":1}'
    )
    plaintext = b'{"salt":"' + base64.b64encode(SALT) + b'","values":' + CANONICAL_VALUES + b"}"
    old = {
        "v": 1, "subject": SUBJECT, "key": KEY_ID, "fields": ["content", "mentions"],
        "commitment": commitment, "nonce": b64(NONCE),
        "ciphertext": b64(gcm_encrypt(KEY, NONCE, plaintext, header)),
    }  # fmt: skip
    opens_nowhere(old)


# -- tampering: what the hash covers instead ---------------------------------------------------


HEADER_CHANGES = [
    ("subject", "user_mallory"),
    ("key", "dk-test-2"),
    ("fields", ["content"]),
    ("fields", ["mentions", "content"]),
    ("fields", []),
    ("v", 2),
    ("v", "1"),
]


@pytest.mark.parametrize(("name", "value"), HEADER_CHANGES)
def test_a_changed_header_field_changes_the_hashed_bytes(name: str, value: Any) -> None:
    sealed = sealed_of(DATA)
    assert sealed.stored[ENVELOPE][name] != value
    changed = {**sealed.stored, ENVELOPE: {**sealed.stored[ENVELOPE], name: value}}
    assert committed_bytes(canonical_json(changed)) != committed_bytes(
        canonical_json(sealed.stored)
    )
    assert digest_of(canonical_json(changed)) != digest_of(canonical_json(sealed.stored))


@pytest.mark.parametrize(("name", "value"), HEADER_CHANGES)
def test_a_changed_header_field_is_not_the_aeads_to_refuse(name: str, value: Any) -> None:
    """The associated data is the commitment alone: the rest of the header is the hash's."""
    sealed = {**sealed_of(DATA).stored[ENVELOPE], name: value}
    assert open_values(sealed, KEY) == VALUES
    assert commitment_holds(sealed, AESGCM(KEY)) is True


@pytest.mark.parametrize("added", [{"extra": "x"}, {"nonce": b64(NONCE)}])
def test_a_header_field_added_changes_the_hashed_bytes(added: dict[str, Any]) -> None:
    sealed = sealed_of(DATA)
    changed = {**sealed.stored, ENVELOPE: {**sealed.stored[ENVELOPE], **added}}
    assert committed_bytes(canonical_json(changed)) != committed_bytes(
        canonical_json(sealed.stored)
    )
    assert digest_of(canonical_json(changed)) != digest_of(canonical_json(sealed.stored))


# -- a plaintext its commitment was not made to ------------------------------------------------


FORGED_VALUES = b'{"content":"forged","mentions":[]}'


def assert_only_the_commitment_check_refuses(forged: dict[str, Any], values: Any) -> None:
    with pytest.raises(EnvelopeError, match="do not match their commitment"):
        open_values(forged, KEY)
    with pytest.raises(EnvelopeError, match="do not match their commitment"):
        open_with(forged, AESGCM(KEY), check=True)
    assert open_with(forged, AESGCM(KEY), check=False) == values  # a read leaves it out
    assert open_with(forged, AESGCM(KEY)) == values  # ... by default
    assert commitment_holds(forged, AESGCM(KEY)) is False  # what verify asks


def test_values_that_do_not_match_the_commitment_decrypt_but_fail_its_check() -> None:
    forged = hand_built_envelope(
        values=FORGED_VALUES, commitment=documented_commitment(SALT, CANONICAL_VALUES)
    )
    assert_only_the_commitment_check_refuses(forged, {"content": "forged", "mentions": []})


def test_values_committed_under_another_salt_decrypt_but_fail_the_check() -> None:
    forged = hand_built_envelope(commitment=documented_commitment(bytes(32), CANONICAL_VALUES))
    assert_only_the_commitment_check_refuses(forged, VALUES)


def test_values_committed_without_the_domain_prefix_decrypt_but_fail_the_check() -> None:
    bare = hashlib.sha256(SALT + CANONICAL_VALUES).hexdigest()
    assert_only_the_commitment_check_refuses(hand_built_envelope(commitment=bare), VALUES)


def test_values_committed_in_another_json_form_decrypt_but_fail_the_check() -> None:
    spaced = b'{"content": "h\xc3\xa9llo, Bob", "mentions": ["user_bob"]}'
    forged = hand_built_envelope(
        plaintext=SALT + spaced, commitment=documented_commitment(SALT, CANONICAL_VALUES)
    )
    assert_only_the_commitment_check_refuses(forged, VALUES)


@pytest.mark.parametrize(
    ("plaintext", "problem"),
    [
        (SALT + b"not json", "not JSON"),
        (SALT, "not JSON"),  # a salt and no values
        (b"short", "not JSON"),  # not even a salt
        (SALT + b'["content"]', "not a JSON object"),
        (SALT + b'"text"', "not a JSON object"),
        (SALT + b"null", "not a JSON object"),
    ],
)
def test_a_plaintext_that_is_not_a_salt_and_a_json_object_is_refused(
    plaintext: bytes, problem: str
) -> None:
    forged = hand_built_envelope(plaintext=plaintext)  # committed to as it is, so it holds
    assert commitment_holds(forged, AESGCM(KEY)) is True
    with pytest.raises(EnvelopeError, match=problem):
        open_values(forged, KEY)
    with pytest.raises(EnvelopeError, match=problem):
        open_with(forged, AESGCM(KEY))


# -- the hashed form -------------------------------------------------------------------------


def test_the_committed_bytes_of_the_stored_form_are_the_canonical_committed_form() -> None:
    sealed = sealed_of(DATA)
    assert committed_bytes(canonical_json(sealed.stored)) == canonical_json(sealed.committed)


def test_the_committed_form_is_the_stored_form_without_the_ciphertext() -> None:
    sealed = sealed_of(DATA)
    stored = sealed.stored[ENVELOPE]
    assert sealed.committed == {
        "channel_id": "channel_general",
        ENVELOPE: {k: v for k, v in stored.items() if k != "ciphertext"},
    }
    assert set(sealed.committed[ENVELOPE]) == {"v", "subject", "key", "fields", "commitment"}


def test_the_known_committed_bytes_are_the_documented_ones(fixed_randomness: None) -> None:
    assert committed_bytes(canonical_json(sealed_of(DATA).stored)) == (
        b'{"$personal":{"commitment":"' + KNOWN_COMMITMENT.encode() + b'",'
        b'"fields":["content","mentions"],"key":"dk-test-1","subject":"user_alice","v":1},'
        b'"channel_id":"channel_general"}'
    )


def test_the_committed_bytes_do_not_change_when_only_the_ciphertext_does() -> None:
    sealed = sealed_of(DATA)
    other = sealed_of(DATA)
    swapped = {
        **sealed.stored,
        ENVELOPE: {
            **sealed.stored[ENVELOPE],
            "ciphertext": other.stored[ENVELOPE]["ciphertext"] + "AAAA",
        },
    }
    assert canonical_json(swapped) != canonical_json(sealed.stored)
    assert committed_bytes(canonical_json(swapped)) == committed_bytes(
        canonical_json(sealed.stored)
    )  # which is why a changed ciphertext is caught by opening it, not by the hash


@pytest.mark.parametrize("name", ["commitment", "subject", "key", "fields", "v"])
def test_the_committed_bytes_change_with_every_header_field(name: str) -> None:
    sealed = sealed_of(DATA)
    changed = {**sealed.stored, ENVELOPE: {**sealed.stored[ENVELOPE], name: "changed"}}
    assert committed_bytes(canonical_json(changed)) != committed_bytes(
        canonical_json(sealed.stored)
    )


def test_the_committed_bytes_change_with_the_data_outside_the_envelope() -> None:
    sealed = sealed_of(DATA)
    changed = {**sealed.stored, "channel_id": "channel_random"}
    assert committed_bytes(canonical_json(changed)) != committed_bytes(
        canonical_json(sealed.stored)
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"content": "hello", "mentions": []},
        {"note": '"$personal": {"ciphertext": "x"}'},  # the key's text inside a value
        {"nested": {"$personal": {"commitment": "x", "ciphertext": "y"}}},  # not at the top
        {"$personal": "a string, not an envelope"},
        {"$personal": {"commitment": "abc", "fields": []}},  # already without a ciphertext
        {"$personal": {"commitment": "abc", "nonce": "x"}},  # a nonce is no longer left out
    ],
)
def test_data_without_a_sealed_envelope_is_hashed_as_it_is(data: dict[str, Any]) -> None:
    raw = canonical_json(data)
    assert committed_bytes(raw) is raw


def test_the_digest_of_data_without_an_envelope_is_the_documented_one() -> None:
    content: dict[str, Any] = {
        "aggregate_id": "message_1", "aggregate_type": "Message", "data": {"content": "hi"},
        "event_id": "00000000-0000-4000-8000-000000000001", "event_type": "MessageCreated",
        "metadata": {"correlation_id": "c"}, "schema_version": 1,
        "timestamp": "2026-01-01T00:00:00.000000Z", "user_id": "user_alice",
    }  # fmt: skip
    digest = content_digest(
        event_id=content["event_id"], aggregate_id=content["aggregate_id"],
        aggregate_type=content["aggregate_type"], event_type=content["event_type"],
        schema_version=1, timestamp=content["timestamp"], user_id="user_alice",
        data=canonical_json(content["data"]), metadata=canonical_json(content["metadata"]),
    )  # fmt: skip
    assert digest == hashlib.sha256(canonical_json(content)).digest()


def test_the_digest_of_a_sealed_event_is_the_same_from_its_stored_or_its_committed_form() -> None:
    sealed = sealed_of(DATA)

    def digest(data: bytes, committed: bool) -> bytes:
        return content_digest(
            event_id="00000000-0000-4000-8000-000000000001", aggregate_id="message_1",
            aggregate_type="Message", event_type="MessageCreated", schema_version=1,
            timestamp="2026-01-01T00:00:00.000000Z", user_id=SUBJECT, data=data,
            metadata=b"{}", committed=committed,
        )  # fmt: skip

    assert digest(canonical_json(sealed.stored), False) == digest(
        canonical_json(sealed.committed), True
    )


def test_the_digest_of_a_sealed_event_is_the_documented_one(fixed_randomness: None) -> None:
    content: dict[str, Any] = {
        "aggregate_id": "message_1", "aggregate_type": "Message",
        "data": {"$personal": {"commitment": KNOWN_COMMITMENT, "fields": ["content", "mentions"],
                               "key": KEY_ID, "subject": SUBJECT, "v": 1},
                 "channel_id": "channel_general"},
        "event_id": "00000000-0000-4000-8000-000000000001", "event_type": "MessageCreated",
        "metadata": {}, "schema_version": 1, "timestamp": "2026-01-01T00:00:00.000000Z",
        "user_id": SUBJECT,
    }  # fmt: skip
    expected = hashlib.sha256(canonical_json(content)).digest()
    assert digest_of(canonical_json(sealed_of(DATA).stored)) == expected


# -- hiding ----------------------------------------------------------------------------------


def test_two_seals_of_the_same_values_share_neither_commitment_nor_ciphertext() -> None:
    first, second = sealed_of(DATA).stored[ENVELOPE], sealed_of(DATA).stored[ENVELOPE]
    assert first["commitment"] != second["commitment"]
    assert first["ciphertext"] != second["ciphertext"]
    assert blob_of(first)[:12] != blob_of(second)[:12]  # fresh nonces
    salts = [
        gcm_decrypt(KEY, blob_of(sealed), documented_aad(sealed["commitment"]))[:32]
        for sealed in (first, second)
    ]
    assert salts[0] != salts[1]  # fresh salts
    assert open_values(first, KEY) == open_values(second, KEY) == VALUES


def test_the_commitment_cannot_be_checked_against_a_guess_without_the_salt() -> None:
    stored = sealed_of(DATA).stored[ENVELOPE]
    assert stored["commitment"] != hashlib.sha256(CANONICAL_VALUES).hexdigest()
    assert stored["commitment"] != documented_commitment(b"", CANONICAL_VALUES)
    assert stored["commitment"] != documented_commitment(bytes(32), CANONICAL_VALUES)


def test_the_stored_form_holds_no_plaintext_of_a_personal_field() -> None:
    stored = canonical_json(sealed_of({"content": "a very secret sentence"}).stored)
    assert b"secret" not in stored


# -- paths -----------------------------------------------------------------------------------


def test_a_nested_field_is_taken_out_of_its_parent_and_sealed() -> None:
    data = {"updates": {"email": "alice@example.com", "display_name": "Alice"}}
    sealed = sealed_of(data, ("updates.email",))
    assert sealed.stored["updates"] == {"display_name": "Alice"}
    assert sealed.stored[ENVELOPE]["fields"] == ["updates.email"]
    assert open_values(sealed.stored[ENVELOPE], KEY) == {"updates.email": "alice@example.com"}
    assert data == {"updates": {"email": "alice@example.com", "display_name": "Alice"}}


def test_absent_optional_fields_are_not_named_in_the_envelope() -> None:
    data = {"updates": {"display_name": "Alice", "email": "a@example.com"}, "content": "hi"}
    sealed = sealed_of(data, ("content", "updates.email", "updates.phone", "mentions"))
    assert sealed.stored[ENVELOPE]["fields"] == ["content", "updates.email"]
    assert open_values(sealed.stored[ENVELOPE], KEY) == {
        "content": "hi",
        "updates.email": "a@example.com",
    }


def test_data_holding_none_of_the_fields_is_not_sealed() -> None:
    data = {"updates": {"display_name": "Alice"}, "channel_id": "c"}
    assert seal(data, ("content", "updates.email"), subject=SUBJECT, key_id=KEY_ID, key=KEY) is None


def test_a_nested_field_under_a_parent_that_is_not_an_object_is_left_alone() -> None:
    data = {"updates": "not an object", "content": "hi"}
    sealed = sealed_of(data, ("content", "updates.email"))
    assert sealed.stored["updates"] == "not an object"
    assert sealed.stored[ENVELOPE]["fields"] == ["content"]


def test_a_field_whose_value_is_null_is_sealed_as_present() -> None:
    sealed = sealed_of({"content": None}, ("content",))
    assert "content" not in sealed.stored
    assert open_values(sealed.stored[ENVELOPE], KEY) == {"content": None}


def test_sealing_leaves_the_callers_data_unchanged() -> None:
    data = {"content": "hi", "updates": {"email": "e", "name": "n"}}
    before = orjson.loads(orjson.dumps(data))
    sealed_of(data, ("content", "updates.email"))
    assert data == before


def test_an_opened_nested_field_is_put_back_in_its_parent() -> None:
    data = {"updates": {"email": "alice@example.com", "display_name": "Alice"}}
    sealed = sealed_of(data, ("updates.email",))
    rest = envelope.without_envelope(sealed.stored)
    for path, value in open_values(sealed.stored[ENVELOPE], KEY).items():
        envelope.put(rest, path, value)
    assert rest == data
    assert envelope.with_envelope(rest, sealed.stored[ENVELOPE]) == sealed.stored


# -- round trip ------------------------------------------------------------------------------

SAFE = 2**53 - 1
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-SAFE, max_value=SAFE)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["content", "mentions", "email", "updates.email", "updates.phone"])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(field_names, json_values, min_size=1, max_size=5), json_values)
def test_seal_then_open_gives_back_every_personal_value(
    personal: dict[str, Any], other: Any
) -> None:
    data: dict[str, Any] = {"other": other}
    for path, value in personal.items():
        envelope.put(data, path, value)
    fields = tuple(sorted(personal))
    sealed = seal(data, fields, subject=SUBJECT, key_id=KEY_ID, key=KEY)
    assert sealed is not None
    # A top-level path that is also a parent (``updates``) would be another field: not sampled.
    expected = {path: value for path, value in personal.items()}
    stored = sealed.stored[ENVELOPE]
    assert open_values(stored, KEY) == expected
    assert open_with(stored, AESGCM(KEY)) == expected
    assert commitment_holds(stored, AESGCM(KEY)) is True
    plaintext = gcm_decrypt(KEY, blob_of(stored), documented_aad(stored["commitment"]))
    assert plaintext[32:] == canonical_json(expected)
    assert stored["commitment"] == documented_commitment(plaintext[:32], plaintext[32:])
    assert sealed.stored["other"] == other
    assert committed_bytes(canonical_json(sealed.stored)) == canonical_json(sealed.committed)


def test_a_clients_own_personal_key_is_refused_or_hashed_as_verification_will_hash_it() -> None:
    from chronicle import NewEvent
    from chronicle.errors import InvalidEventError
    from chronicle.store.prepare import prepare_append

    own = NewEvent(
        "ChannelCreated", {"$personal": {"commitment": "c", "ciphertext": "c"}, "name": "x"}
    )
    try:
        prepared = prepare_append(
            "channel_1", [own], expected_version=0, aggregate_type="Channel",
            user_id="user_alice", max_event_bytes=1 << 20,
        )  # fmt: skip
    except InvalidEventError:
        return  # refused: nothing is stored that verification would read differently
    event = prepared.events[0]
    assert event.digest == content_digest(
        event_id=event.event_id, aggregate_id="channel_1", aggregate_type="Channel",
        event_type="ChannelCreated", schema_version=1, timestamp=event.timestamp_text,
        user_id="user_alice", data=event.data, metadata=event.metadata,
    )  # fmt: skip
