"""Proof documents on an in-memory store: they verify offline, and any change makes them fail.

Every document goes through JSON text (``orjson``) before it is checked, as it would on its way
to a third party, so nothing Python-only (bytes, datetimes) can make a proof pass.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronicle import NewEvent
from chronicle.bootstrap import open_store
from chronicle.integrity import Sealer
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.merkle_log import build_merkle_log
from chronicle.integrity.proofs import (
    PROOF_FORMAT,
    NotSealedYetError,
    ProofCheck,
    SealNumberError,
    UnknownEventError,
    UnprovableSealError,
    check_proof,
    consistency_proof_document,
    inclusion_proof_document,
)
from chronicle.integrity.seals import seal_to_dict
from chronicle.integrity.signing import SigningKey, load_signing_key, new_signing_key_text
from chronicle.store.ports import EventStore
from chronicle.store.records import Seal

Document = dict[str, Any]
ROUNDS = 4  # seals: one per round of appends


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return load_signing_key(new_signing_key_text())


@pytest.fixture(scope="module")
def trusted(key: SigningKey) -> dict[str, bytes]:
    return {key.key_id: key.public}


def append_round(store: EventStore, round_number: int, aggregates: int = 3) -> None:
    """One more event on each of a few aggregates (their chains grow), with varied content."""
    for index in range(aggregates + round_number):
        aggregate_id = f"message_{index}"
        store.append(
            aggregate_id,
            [
                NewEvent(
                    "MessageEdited",
                    {"content": f"édité {round_number} 🎉", "ratio": 0.1 * index, "n": index},
                    schema_version=1 + index % 2,
                )
            ],
            expected_version=store.get_aggregate_version(aggregate_id),
            aggregate_type="Message",
            user_id=None if index % 2 else f"user_{index}",
        )


@pytest.fixture(scope="module")
def store(key: SigningKey) -> Iterator[EventStore]:
    """Events over several aggregates, sealed after each of ``ROUNDS`` rounds (uneven sizes)."""
    store = open_store("memory://")
    sealer = Sealer(store, key=key)
    for round_number in range(ROUNDS):
        append_round(store, round_number)
        assert sealer.run_once()
    yield store
    store.close()


def as_json(document: Document) -> Document:
    loaded: Document = orjson.loads(orjson.dumps(document))
    return loaded


def proof_of(store: EventStore, event_id: str, seal: int | None = None) -> Document:
    return as_json(inclusion_proof_document(store, event_id, seal))


def flip_hex(text: str, at: int = 0) -> str:
    """``text`` with one hex digit changed (so one byte of what it encodes)."""
    digit = "0" if text[at] != "0" else "1"
    return text[:at] + digit + text[at + 1 :]


def assert_invalid(check: ProofCheck, *words: str) -> None:
    assert not check.valid and check.failures
    text = " | ".join(check.failures)
    for word in words:
        assert word in text, text


# -- inclusion ----------------------------------------------------------------------------------


def test_every_event_has_a_proof_against_the_latest_seal_that_verifies(
    store: EventStore, trusted: dict[str, bytes]
) -> None:
    latest = store.latest_seal()
    assert latest is not None and latest.number == ROUNDS
    events = store.read_all()
    assert len(events) == latest.tree_size
    for index, event in enumerate(events):
        document = proof_of(store, event.event_id)
        assert document["format"] == PROOF_FORMAT and document["type"] == "inclusion"
        assert (document["leaf_index"], document["tree_size"]) == (index, latest.tree_size)
        assert document["event"]["hash"] == event.hash.hex()
        assert document["seal"]["number"] == latest.number
        check = check_proof(document, trusted)
        assert check.valid and check.type == "inclusion", check.failures


def test_a_proof_against_an_older_seal_verifies_and_one_it_does_not_cover_is_refused(
    store: EventStore, trusted: dict[str, bytes]
) -> None:
    seals = store.get_seals()
    for event in store.read_all():
        for seal in seals:
            if store.merkle_leaf(event.position).index < seal.tree_size:  # type: ignore[union-attr]
                document = proof_of(store, event.event_id, seal.number)
                assert document["tree_size"] == seal.tree_size
                assert check_proof(document, trusted).valid
            else:
                with pytest.raises(NotSealedYetError, match="later seal"):
                    inclusion_proof_document(store, event.event_id, seal.number)


def a_later_event(store: EventStore) -> str:
    """An event at version 3 or more, in the middle of the log: its proof has a real path."""
    return next(event.event_id for event in store.read_all() if event.version >= 3)


def data_changed(document: Document) -> None:
    content = document["event"]["data"]["content"]
    document["event"]["data"]["content"] = chr(ord(content[0]) ^ 1) + content[1:]


def data_number_changed(document: Document) -> None:
    document["event"]["data"]["n"] += 1


def data_key_added(document: Document) -> None:
    document["event"]["data"]["extra"] = None


def path_changed(at: int) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["audit_path"][at] = flip_hex(document["audit_path"][at], 63)

    return change


MUTATIONS: dict[str, Callable[[Document], None]] = {
    "a byte of the event's data": data_changed,
    "a number in the event's data": data_number_changed,
    "a key added to the event's data": data_key_added,
    "a byte of the first audit path hash": path_changed(0),
    "a byte of the last audit path hash": path_changed(-1),
    "an audit path hash dropped": lambda d: d["audit_path"].pop(),
    "an audit path hash added": lambda d: d["audit_path"].append("00" * 32),
    "the audit path reversed": lambda d: d["audit_path"].reverse(),
    "the leaf index plus one": lambda d: d.update(leaf_index=d["leaf_index"] + 1),
    "the leaf index minus one": lambda d: d.update(leaf_index=d["leaf_index"] - 1),
    "the tree size plus one": lambda d: d.update(tree_size=d["tree_size"] + 1),
    "the tree size minus one": lambda d: d.update(tree_size=d["tree_size"] - 1),
    "a byte of the seal's root": lambda d: d["seal"].update(root=flip_hex(d["seal"]["root"])),
    "a byte of the seal's signature": lambda d: d["seal"].update(
        signature=flip_hex(d["seal"]["signature"], 10)
    ),
    "the seal's tree size": lambda d: d["seal"].update(tree_size=d["seal"]["tree_size"] + 1),
    "the seal's time": lambda d: d["seal"].update(sealed_at="2020-01-01T00:00:00.000000Z"),
    "the seal's number": lambda d: d["seal"].update(number=d["seal"]["number"] + 1),
    "the event's hash": lambda d: d["event"].update(hash=flip_hex(d["event"]["hash"], 5)),
    "the previous hash": lambda d: d["event"].update(
        previous_hash=flip_hex(d["event"]["previous_hash"], 7)
    ),
    "the event id": lambda d: d["event"].update(event_id=flip_hex(d["event"]["event_id"], 0)),
    "the aggregate id": lambda d: d["event"].update(aggregate_id="message_99"),
    "the aggregate type": lambda d: d["event"].update(aggregate_type="Ticket"),
    "the event type": lambda d: d["event"].update(event_type="MessageDeleted"),
    "the version": lambda d: d["event"].update(version=d["event"]["version"] + 1),
    "the schema version": lambda d: d["event"].update(schema_version=3),
    "the timestamp": lambda d: d["event"].update(
        timestamp=d["event"]["timestamp"].replace(".", ".9", 1)[:-2] + "Z"
    ),
    "the user id": lambda d: d["event"].update(user_id="mallory"),
    "the metadata": lambda d: d["event"]["metadata"].update(correlation_id="forged"),
    "the format": lambda d: d.update(format="chronicle-proof/2"),
    "the type": lambda d: d.update(type="consistency"),
    "the seal removed": lambda d: d.pop("seal"),
    "the event removed": lambda d: d.pop("event"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_any_change_to_an_inclusion_proof_makes_it_invalid(
    store: EventStore, trusted: dict[str, bytes], name: str
) -> None:
    document = proof_of(store, a_later_event(store))
    assert check_proof(document, trusted).valid
    changed = copy.deepcopy(document)
    MUTATIONS[name](changed)
    assert changed != document
    assert_invalid(check_proof(as_json(changed), trusted))


def test_the_failures_name_what_was_changed(store: EventStore, trusted: dict[str, bytes]) -> None:
    document = proof_of(store, a_later_event(store))
    content = copy.deepcopy(document)
    data_changed(content)
    assert_invalid(check_proof(content, trusted), "hash does not match its content")
    path = copy.deepcopy(document)
    path_changed(0)(path)
    assert_invalid(check_proof(path, trusted), "audit path does not lead")
    signature = copy.deepcopy(document)
    MUTATIONS["a byte of the seal's signature"](signature)
    assert_invalid(check_proof(signature, trusted), "signature is invalid")
    root = copy.deepcopy(document)
    MUTATIONS["a byte of the seal's root"](root)
    failures = check_proof(root, trusted).failures
    assert any("signature is invalid" in f for f in failures)
    assert any("audit path does not lead" in f for f in failures)
    size = copy.deepcopy(document)
    MUTATIONS["the tree size plus one"](size)
    assert_invalid(check_proof(size, trusted), "is not the seal's tree size")


def test_a_seal_signed_by_another_key_or_unsigned_is_not_accepted(
    store: EventStore, key: SigningKey
) -> None:
    document = proof_of(store, a_later_event(store))
    other = load_signing_key(new_signing_key_text())
    assert_invalid(check_proof(document, {other.key_id: other.public}), "not trusted")
    assert_invalid(check_proof(document, {}), "not trusted")
    # The right id with the wrong key: the signature cannot hold.
    assert_invalid(check_proof(document, {key.key_id: other.public}), "signature is invalid")
    # A forger re-signs with their own key and names it: still not a trusted key.
    forged = copy.deepcopy(document)
    forged["seal"]["key_id"] = other.key_id
    assert_invalid(check_proof(forged, {key.key_id: key.public}), "not trusted")
    unsigned = copy.deepcopy(document)
    unsigned["seal"]["signature"] = None
    assert_invalid(check_proof(unsigned, {key.key_id: key.public}), "unsigned")


def test_a_seal_not_in_the_form_chronicle_writes_is_malformed(
    store: EventStore, trusted: dict[str, bytes]
) -> None:
    document = proof_of(store, a_later_event(store))
    upper = copy.deepcopy(document)
    upper["seal"]["root"] = upper["seal"]["root"].upper()
    assert_invalid(check_proof(upper, trusted), "malformed")
    offset = copy.deepcopy(document)
    offset["seal"]["sealed_at"] = offset["seal"]["sealed_at"].replace("Z", "+00:00")
    assert_invalid(check_proof(offset, trusted), "malformed")


def test_a_proof_with_an_unsigned_seal_is_made_but_never_accepted(
    trusted: dict[str, bytes],
) -> None:
    store = open_store("memory://")
    try:
        append_round(store, 0)
        Sealer(store).run_once()
        document = proof_of(store, store.read_all()[1].event_id)
        assert document["seal"]["signature"] is None
        assert_invalid(check_proof(document, trusted), "unsigned")
    finally:
        store.close()


def test_the_check_reads_no_settings_and_opens_no_store(
    store: EventStore, trusted: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    document = proof_of(store, a_later_event(store))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("check_proof must not read settings or open a store")

    monkeypatch.setattr("chronicle.config.get_settings", refuse)
    monkeypatch.setattr("chronicle.config.load_settings", refuse)
    monkeypatch.setattr("chronicle.bootstrap.open_store", refuse)
    assert check_proof(document, trusted).valid


# -- errors -------------------------------------------------------------------------------------


def test_an_unknown_event_or_seal_is_a_typed_error(store: EventStore) -> None:
    with pytest.raises(UnknownEventError):
        inclusion_proof_document(store, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(UnknownEventError):
        inclusion_proof_document(store, "not an id")
    event_id = store.read_all()[0].event_id
    with pytest.raises(SealNumberError, match=f"no seal 99 .*latest is seal {ROUNDS}"):
        inclusion_proof_document(store, event_id, 99)
    with pytest.raises(SealNumberError):
        inclusion_proof_document(store, event_id, 0)
    with pytest.raises(SealNumberError):
        consistency_proof_document(store, 1, 99)
    with pytest.raises(SealNumberError, match="after"):
        consistency_proof_document(store, 2, 1)


def test_an_event_not_sealed_yet_says_to_run_chronicle_seal(key: SigningKey) -> None:
    store = open_store("memory://")
    try:
        append_round(store, 0)
        first = store.read_all()[0].event_id
        with pytest.raises(NotSealedYetError, match="chronicle seal"):
            inclusion_proof_document(store, first)
        Sealer(store, key=key).run_once()
        append_round(store, 1)
        later = store.read_all()[-1].event_id
        inclusion_proof_document(store, first)
        with pytest.raises(NotSealedYetError, match="chronicle seal"):
            inclusion_proof_document(store, later)
    finally:
        store.close()


def format_1_seal_over(store: EventStore) -> Seal:
    """A seal as Chronicle made them before the Merkle log: a log chain head, no root."""
    events = store.read_all()
    head = LOG_GENESIS
    for event in events:
        head = log_step(head, event.position, event.hash)
    seal = Seal(1, events[-1].position, len(events), head, events[-1].hash, datetime.now(UTC))
    store.append_seal(seal)
    return seal


def test_no_proof_is_made_against_a_seal_of_format_1(
    key: SigningKey, trusted: dict[str, bytes]
) -> None:
    store = open_store("memory://")
    try:
        append_round(store, 0)
        old = format_1_seal_over(store)
        build_merkle_log(store)  # its events get their leaves, but the seal has no root
        event_id = store.read_all()[0].event_id
        with pytest.raises(UnprovableSealError, match="format 1"):
            inclusion_proof_document(store, event_id)
        with pytest.raises(UnprovableSealError, match="format 1"):
            consistency_proof_document(store, 1, 1)
        append_round(store, 1)
        Sealer(store, key=key).run_once()
        assert check_proof(proof_of(store, event_id), trusted).valid
        with pytest.raises(UnprovableSealError):
            inclusion_proof_document(store, event_id, 1)
        # A document naming a format 1 seal is refused by the check as well.
        document = proof_of(store, event_id)
        document["seal"] = as_json(seal_to_dict(old))
        assert_invalid(check_proof(document, trusted), "format 1")
    finally:
        store.close()


# -- consistency --------------------------------------------------------------------------------


def pairs() -> list[tuple[int, int]]:
    return [(old, new) for old in range(1, ROUNDS + 1) for new in range(old, ROUNDS + 1)]


@pytest.mark.parametrize(("old", "new"), pairs())
def test_a_consistency_proof_between_any_two_seals_verifies(
    store: EventStore, trusted: dict[str, bytes], old: int, new: int
) -> None:
    document = as_json(consistency_proof_document(store, old, new))
    assert (document["format"], document["type"]) == (PROOF_FORMAT, "consistency")
    assert (document["from"]["number"], document["to"]["number"]) == (old, new)
    assert (document["proof"] == []) == (old == new)
    check = check_proof(document, trusted)
    assert check.valid and check.type == "consistency", check.failures


CONSISTENCY_MUTATIONS: dict[str, Callable[[Document], None]] = {
    "a byte of a proof hash": lambda d: d.update(proof=[flip_hex(h, 31) for h in d["proof"]]),
    "a proof hash added": lambda d: d["proof"].append("ab" * 32),
    "a byte of the older root": lambda d: d["from"].update(root=flip_hex(d["from"]["root"])),
    "a byte of the newer root": lambda d: d["to"].update(root=flip_hex(d["to"]["root"])),
    "a byte of the newer signature": lambda d: d["to"].update(
        signature=flip_hex(d["to"]["signature"])
    ),
    "the older tree size": lambda d: d["from"].update(tree_size=d["from"]["tree_size"] + 1),
    "the seals swapped": lambda d: d.update({"from": d["to"], "to": d["from"]}),
    "the older seal removed": lambda d: d.pop("from"),
}


@pytest.mark.parametrize(("old", "new"), pairs())
@pytest.mark.parametrize("name", CONSISTENCY_MUTATIONS)
def test_any_change_to_a_consistency_proof_makes_it_invalid(
    store: EventStore, trusted: dict[str, bytes], old: int, new: int, name: str
) -> None:
    document = as_json(consistency_proof_document(store, old, new))
    changed = copy.deepcopy(document)
    CONSISTENCY_MUTATIONS[name](changed)
    if changed == document:  # swapping a seal with itself, or flipping an empty proof
        return
    assert_invalid(check_proof(as_json(changed), trusted))


def test_a_consistency_proof_needs_both_seals_trusted(store: EventStore) -> None:
    document = as_json(consistency_proof_document(store, 1, ROUNDS))
    other = load_signing_key(new_signing_key_text())
    assert_invalid(check_proof(document, {other.key_id: other.public}), "not trusted")


def test_a_consistency_proof_from_a_forked_log_fails(
    key: SigningKey, trusted: dict[str, bytes]
) -> None:
    """Two stores that share seal 1's number but not its events: seal 1 of one store is not a
    prefix of the other's seal 2, whatever proof is offered."""
    one, two = open_store("memory://"), open_store("memory://")
    try:
        for store in (one, two):
            append_round(store, 0)
            Sealer(store, key=key).run_once()
            append_round(store, 1)
            Sealer(store, key=key).run_once()
        document = as_json(consistency_proof_document(one, 1, 2))
        document["from"] = as_json(consistency_proof_document(two, 1, 2))["from"]
        assert_invalid(check_proof(document, trusted), "prefix")
    finally:
        one.close()
        two.close()


# -- the check never raises ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=70)
    | st.sampled_from(["00" * 32, "inclusion", "consistency", PROOF_FORMAT]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_check_never_raises_on_arbitrary_input(value: Any) -> None:
    check = check_proof(value, {})
    assert not check.valid and all(isinstance(failure, str) for failure in check.failures)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (object keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_of(item, (*prefix, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.copy(document)
    changed[path[0]] = replaced(document[path[0]], path[1:], value)
    return changed


@pytest.fixture(scope="module")
def documents(store: EventStore) -> list[Document]:
    event_id = a_later_event(store)
    return [proof_of(store, event_id), as_json(consistency_proof_document(store, 1, ROUNDS))]


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_check_never_raises_on_a_proof_with_any_part_replaced(
    documents: list[Document], trusted: dict[str, bytes], data: st.DataObject
) -> None:
    document = data.draw(st.sampled_from(documents))
    path = data.draw(st.sampled_from(list(paths_of(document))))
    value = data.draw(json_values)
    changed = replaced(document, path, value)
    check = check_proof(changed, trusted)
    assert isinstance(check.valid, bool) and all(isinstance(f, str) for f in check.failures)
    if check.valid:
        # Only what no check covers may change and still pass: a field that is not hashed or
        # signed (the event's position, the seal's informative public key), or no change at all.
        assert changed == document or path[-1] in {"position", "public_key"}, (path, value)


DEEP = orjson.loads("[" * 1024 + "]" * 1024)
TEXT_NO_JSON_HOLDS = "\ud800"


@pytest.mark.parametrize(
    "where",
    [
        ("leaf_index",),
        ("tree_size",),
        ("audit_path",),
        ("event",),
        ("event", "version"),
        ("event", "data"),
        ("event", "data", "content"),
        ("seal",),
        ("seal", "number"),
        ("seal", "tree_size"),
        ("seal", "position"),
        ("seal", "root"),
        ("seal", "key_id"),
        ("seal", "sealed_at"),
    ],
)
@pytest.mark.parametrize("value", [DEEP, TEXT_NO_JSON_HOLDS, 2**200, -1, 1.5, True])
def test_the_check_never_raises_on_deep_huge_or_unencodable_values(
    documents: list[Document], trusted: dict[str, bytes], where: tuple[str, ...], value: Any
) -> None:
    check = check_proof(replaced(documents[0], where, value), trusted)
    assert not check.valid and check.failures


# -- the README's description is enough to write a verifier -------------------------------------


def readme_verifier(document: Document, trusted: dict[str, bytes]) -> bool:
    """An inclusion proof checked as the README's "Proofs anyone can check" describes it, with
    hashlib, an RFC 8785 encoder and an Ed25519 library only: nothing of Chronicle's."""
    import hashlib

    import rfc8785
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    event, seal = document["event"], document["seal"]
    content = {name: event[name] for name in (
        "aggregate_id", "aggregate_type", "data", "event_id", "event_type", "metadata",
        "schema_version", "timestamp", "user_id",
    )}  # fmt: skip
    digest = sha(rfc8785.dumps(content))
    previous = bytes.fromhex(event["previous_hash"])
    if event["version"] == 1 and previous != bytes(32):
        return False
    event_hash = sha(previous + event["version"].to_bytes(8, "big") + digest)
    if event_hash.hex() != event["hash"]:
        return False
    # RFC 9162 §2.1.3.2
    index, size = document["leaf_index"], document["tree_size"]
    if size != seal["tree_size"] or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, sha(b"\x00" + event_hash)
    for p in (bytes.fromhex(h) for h in document["audit_path"]):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r.hex() != seal["root"]:
        return False
    payload = rfc8785.dumps({k: v for k, v in seal.items() if k not in ("public_key", "signature")})
    key = trusted.get(seal["key_id"])
    if key is None or seal["signature"] is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(seal["signature"]), payload)
    except InvalidSignature:
        return False
    return True


def test_a_verifier_written_from_the_readme_agrees_with_check_proof(
    store: EventStore, trusted: dict[str, bytes]
) -> None:
    document = proof_of(store, a_later_event(store))
    assert readme_verifier(document, trusted)
    for name in ("a byte of the event's data", "a byte of the first audit path hash",
                 "a byte of the seal's root", "a byte of the seal's signature", "the user id",
                 "the leaf index plus one", "the previous hash"):  # fmt: skip
        changed = copy.deepcopy(document)
        MUTATIONS[name](changed)
        assert not readme_verifier(changed, trusted), name
        assert not check_proof(changed, trusted).valid, name
    for event in store.read_all():
        assert readme_verifier(proof_of(store, event.event_id), trusted)
