"""The browser's proof checker (``/ui/proof.js``, Web Crypto) held to the Python ``check_proof``.

Real proofs are made by the project's own code on a fresh SQLite store, sealed with a signing key,
and go through JSON text on their way into the page, as they would to a third party. Every case
asserts the script's verdict and that ``check_proof`` reaches the same one; where both name the
same failures, their words are compared too. The page is served by the service's own web router
from http://127.0.0.1 (Web Crypto needs a secure context), under a strict content policy.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from chronicle import NewEvent
from chronicle.bootstrap import open_store
from chronicle.chat.domain.events import MessageCreated, chat_events
from chronicle.chat.web import web_router
from chronicle.chat.wiring import chat_personal_policy
from chronicle.integrity import Sealer
from chronicle.integrity.keys import key_entry
from chronicle.integrity.proofs import ProofCheck, check_proof, inclusion_proof_document
from chronicle.integrity.signing import SigningKey, load_signing_key, new_signing_key_text
from chronicle.personal.keystore.memory import MemoryKeyStore
from chronicle.personal.protector import PersonalData
from chronicle.store.codec import canonical_json
from chronicle.store.integrity import ENVELOPE, content_digest
from chronicle.store.ports import EventStore
from tests.browser.conftest import free_port

Document = dict[str, Any]

BLANK = (
    "<!doctype html><html><head><meta charset='utf-8'><title>proof check</title>"
    "<script src='/ui/proof.js'></script></head><body></body></html>"
)
STRICT = "default-src 'none'; script-src 'self'; connect-src 'self'; base-uri 'none'"
"""The blank page's policy: no inline script, no eval; only the served script runs."""


# -- the service's web router, and one browser page, per module ---------------------------------


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = FastAPI()
    app.include_router(web_router())

    @app.get("/blank")
    def blank() -> HTMLResponse:
        return HTMLResponse(BLANK, headers={"Content-Security-Policy": STRICT})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: Any) -> None:
        if message.type == "error":  # a refused script or policy violation shows here
            errors.append(message.text)

    page.on("console", console)
    page.goto(f"{base_url}/blank")
    page.wait_for_function("window.ChronicleProof !== undefined")
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"


# -- real proofs, made by the project's own code ------------------------------------------------


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return load_signing_key(new_signing_key_text())


@pytest.fixture(scope="module")
def trusted(key: SigningKey) -> dict[str, bytes]:
    return {key.key_id: key.public}


@pytest.fixture(scope="module")
def pinned(key: SigningKey) -> str:
    return key_entry(key.public)


VARIED = {
    "text": 'café ☕ naïve — «quoted» "and" back\\slash\ttab',
    "ratio": 1.5,
    "large": 10**15,
    "negative": -0.25,
    "tiny": 1e-7,
    "nested": {"list": [1, 1.5, None, True, False, {"deep": "ü"}], "empty": {}, "none": []},
    "😀 outside the BMP": "a key sorted by its UTF-16 code units",
    "\uffff": "last in code points, not in UTF-16",
    "control": "\u0000\u001f\u007f\u2028",
}


def append(
    store: EventStore,
    aggregate_id: str,
    event_type: str,
    data: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    *,
    schema_version: int = 1,
    user_id: str | None = None,
) -> str:
    [recorded] = store.append(
        aggregate_id,
        [NewEvent(event_type, data, metadata or {}, schema_version=schema_version)],
        expected_version=store.get_aggregate_version(aggregate_id),
        aggregate_type="Note",
        user_id=user_id,
    )
    return recorded.event_id


@dataclass(frozen=True)
class Log:
    """A sealed store, and the ids of the events the tests prove by the part they play."""

    store: EventStore
    events: dict[str, str]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, key: SigningKey) -> Iterator[Log]:
    """A dozen events (varied content, a chain of versions, sealed personal fields), one seal."""
    folder: Path = tmp_path_factory.mktemp("proofs")
    personal = PersonalData(chat_personal_policy(), MemoryKeyStore(), cache_seconds=0)
    store = open_store(f"sqlite:///{folder / 'chronicle.db'}", personal=personal)
    events: dict[str, str] = {}
    metadata = {"source": "tests", "trace": {"id": "é1"}}
    events["varied"] = append(store, "note_1", "NoteWritten", VARIED, metadata, user_id="user_ü")
    events["second"] = append(store, "note_1", "NoteEdited", {"text": "second"}, {"n": 2})
    message_id = f"message_{uuid.uuid4().hex}"
    created = MessageCreated(content="words only its author may read", username="ana_name",
                             message_type="text")  # fmt: skip
    [sealed] = store.append(
        message_id,
        [chat_events.to_new_event(created)],
        expected_version=0,
        aggregate_type="Message",
        user_id="user_ana",
    )
    events["personal"] = sealed.event_id
    for n in range(9):
        append(store, f"counter_{n % 3}", "Counted", {"n": n, "half": n / 2}, schema_version=2)
    assert Sealer(store, key=key).run_once()
    yield Log(store, events)
    store.close()


@pytest.fixture(scope="module")
def unsigned_proof(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """A proof against a seal made without a signing key."""
    folder: Path = tmp_path_factory.mktemp("unsigned")
    store = open_store(f"sqlite:///{folder / 'chronicle.db'}")
    try:
        event_id = append(store, "note_1", "NoteWritten", {"text": "sealed by nobody"})
        append(store, "note_2", "NoteWritten", {"text": "also"})
        assert Sealer(store).run_once()
        return as_json(inclusion_proof_document(store, event_id))
    finally:
        store.close()


def as_json(document: Any) -> Any:
    return orjson.loads(orjson.dumps(document))


def proof_of(log: Log, role: str) -> Document:
    document: Document = as_json(inclusion_proof_document(log.store, log.events[role]))
    return document


def flip_hex(text: str, at: int = 0) -> str:
    """``text`` with one hex digit changed (so one byte of what it encodes)."""
    digit = "0" if text[at] != "0" else "1"
    return text[:at] + digit + text[at + 1 :]


def changed_at(document: Document, path: tuple[Any, ...], new: Any) -> Document:
    changed = copy.deepcopy(document)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    if new is DELETE:
        del holder[path[-1]]
    else:
        holder[path[-1]] = new
    return changed


DELETE = object()


def value_at(document: Document, path: tuple[Any, ...]) -> Any:
    value: Any = document
    for step in path:
        value = value[step]
    return value


# -- checking in both --------------------------------------------------------------------------


def in_browser(page: Any, document: Any, pinned: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "async ([text, key]) => ChronicleProof.checkInclusion(JSON.parse(text), key)",
        [orjson.dumps(document).decode(), pinned],
    )
    return result


def check_both(
    page: Any, document: Any, trusted: dict[str, bytes], pinned: str
) -> tuple[dict[str, Any], ProofCheck]:
    """The browser's verdict and Python's, on the same JSON text; they must agree on validity."""
    browser = in_browser(page, document, pinned)
    python = check_proof(as_json(document), trusted)
    assert browser["valid"] is python.valid, (browser, python)
    assert browser["valid"] is (not browser["failures"])
    return browser, python


def assert_fails_as_python_does(
    page: Any, document: Any, trusted: dict[str, bytes], pinned: str, *words: str
) -> dict[str, Any]:
    """Invalid in both, with the same failures word for word, naming ``words``."""
    browser, python = check_both(page, document, trusted, pinned)
    assert not browser["valid"]
    assert browser["failures"] == python.failures
    text = " | ".join(browser["failures"])
    for word in words:
        assert word in text, text
    return browser


# -- genuine proofs ----------------------------------------------------------------------------


def test_the_service_serves_the_checker_with_the_audit_pages_headers(base_url: str) -> None:
    script = httpx.get(f"{base_url}/ui/proof.js")
    audit = httpx.get(f"{base_url}/ui/audit.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    for header in ("content-security-policy", "x-content-type-options", "cache-control"):
        assert script.headers[header] == audit.headers[header]
    assert b"window.ChronicleProof" in script.content


def test_a_genuine_proof_is_valid_and_names_its_seal_and_key(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str, key: SigningKey
) -> None:
    for role in ("varied", "second", "personal"):
        document = proof_of(log, role)
        browser, python = check_both(page, document, trusted, pinned)
        assert browser["valid"] and python.valid, browser["failures"]
        assert browser["failures"] == []
        assert browser["seal"] == document["seal"]["number"] == 1
        assert browser["keyId"] == key.key_id
        assert browser["treeSize"] == document["tree_size"] == 12
        assert browser["leafIndex"] == document["leaf_index"]


def test_every_event_of_the_log_has_a_proof_the_browser_accepts(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    for event in log.store.read_all():
        document = as_json(inclusion_proof_document(log.store, event.event_id))
        browser, _ = check_both(page, document, trusted, pinned)
        assert browser["valid"], (event.event_id, browser["failures"])


def test_a_sealed_personal_field_is_checked_in_its_committed_form_without_its_key(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "personal")
    envelope = document["event"]["data"][ENVELOPE]
    assert "ciphertext" in envelope
    assert "words only its author" not in orjson.dumps(document).decode()
    changed = copy.deepcopy(document)  # the ciphertext is not hashed: it may be shredded
    changed["event"]["data"][ENVELOPE]["ciphertext"] = base64.b64encode(b"other").decode()
    assert check_both(page, changed, trusted, pinned)[0]["valid"]
    del changed["event"]["data"][ENVELOPE]["ciphertext"]
    assert check_both(page, changed, trusted, pinned)[0]["valid"]
    committed = next(name for name in envelope if name != "ciphertext")
    changed["event"]["data"][ENVELOPE][committed] = "forged"
    assert_fails_as_python_does(page, changed, trusted, pinned, "hash does not match its content")


# -- tampering -----------------------------------------------------------------------------------


def test_a_changed_data_value_fails_as_a_hash_that_does_not_match_the_content(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    document["event"]["data"]["nested"]["list"][1] = 1.25
    assert_fails_as_python_does(page, document, trusted, pinned, "hash does not match its content")


def test_a_changed_metadata_value_fails_as_a_hash_that_does_not_match_the_content(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    document["event"]["metadata"]["trace"]["id"] = "e1"
    assert_fails_as_python_does(page, document, trusted, pinned, "hash does not match its content")


def test_a_changed_previous_hash_fails_as_a_broken_chain_step(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "second")
    assert document["event"]["version"] == 2
    document["event"]["previous_hash"] = flip_hex(document["event"]["previous_hash"], 10)
    assert_fails_as_python_does(page, document, trusted, pinned, "and previous_hash")


def test_a_first_version_that_does_not_chain_to_zeros_fails(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    document["event"]["previous_hash"] = flip_hex(document["event"]["previous_hash"], 63)
    assert_fails_as_python_does(page, document, trusted, pinned, "not 32 zero bytes")


def test_a_swapped_audit_path_node_fails_as_a_path_that_does_not_reach_the_root(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    path = document["audit_path"]
    assert len(path) >= 3
    path[0], path[1] = path[1], path[0]
    assert_fails_as_python_does(page, document, trusted, pinned, "audit path does not lead")
    shorter = proof_of(log, "varied")  # RFC 9162 lengths are exact: no node may go missing
    shorter["audit_path"].pop()
    assert_fails_as_python_does(page, shorter, trusted, pinned, "audit path does not lead")


def test_a_wrong_leaf_index_fails_as_a_path_that_does_not_reach_the_root(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "second")
    document["leaf_index"] += 1
    browser = assert_fails_as_python_does(page, document, trusted, pinned, "audit path")
    assert f"leaf {document['leaf_index']} of 12" in browser["failures"][0]
    beyond = proof_of(log, "second")
    beyond["leaf_index"] = 12
    assert_fails_as_python_does(page, beyond, trusted, pinned, "leaf 12 of 12")


def test_a_tree_size_other_than_the_seals_fails(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "second")
    document["tree_size"] = 11
    assert_fails_as_python_does(
        page, document, trusted, pinned, "tree_size 11 is not the seal's tree size 12"
    )


def test_a_changed_seal_root_fails_its_signature_and_the_path(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    document["seal"]["root"] = flip_hex(document["seal"]["root"], 5)
    assert_fails_as_python_does(
        page, document, trusted, pinned, "signature is invalid", "audit path does not lead"
    )


def test_a_changed_signature_byte_fails_as_an_invalid_signature(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    document["seal"]["signature"] = flip_hex(document["seal"]["signature"], 40)
    assert_fails_as_python_does(page, document, trusted, pinned, "seal (seal 1)'s signature")


def test_any_changed_seal_field_fails_as_an_invalid_signature(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    for name in ("log_head", "last_hash", "previous"):
        document = proof_of(log, "varied")
        document["seal"][name] = flip_hex(document["seal"][name], 7)
        assert_fails_as_python_does(page, document, trusted, pinned, "signature is invalid")
    document = proof_of(log, "varied")
    document["seal"]["sealed_at"] = "2000-01-01T00:00:00.000000Z"
    assert_fails_as_python_does(page, document, trusted, pinned, "signature is invalid")
    document = proof_of(log, "varied")
    document["seal"]["position"] += 1
    assert_fails_as_python_does(page, document, trusted, pinned, "signature is invalid")


def test_an_unsigned_seal_fails_as_showing_no_one_made_it(
    page: Any, unsigned_proof: Document, trusted: dict[str, bytes], pinned: str
) -> None:
    assert unsigned_proof["seal"]["signature"] is None
    browser = assert_fails_as_python_does(page, unsigned_proof, trusted, pinned, "is unsigned")
    assert browser["seal"] == 1 and browser["keyId"] is None


def test_a_pinned_key_other_than_the_signers_fails_naming_both_keys(
    page: Any, log: Log, key: SigningKey
) -> None:
    other = load_signing_key(new_signing_key_text())
    document = proof_of(log, "varied")
    browser, python = check_both(
        page, document, {other.key_id: other.public}, key_entry(other.public)
    )
    assert not browser["valid"] and not python.valid
    [failure] = browser["failures"]
    assert "is signed by key" in failure and "not trusted" in failure
    assert key.key_id in failure and other.key_id in failure
    assert "not trusted" in python.failures[0]


def test_a_seal_claiming_the_pinned_key_it_was_not_signed_by_fails_its_signature(
    page: Any, log: Log
) -> None:
    other = load_signing_key(new_signing_key_text())
    document = proof_of(log, "varied")
    document["seal"]["key_id"] = other.key_id
    browser, _ = check_both(page, document, {other.key_id: other.public}, key_entry(other.public))
    assert browser["failures"] == [
        "seal (seal 1)'s signature is invalid: it was changed after signing"
    ]


# -- malformed input -----------------------------------------------------------------------------


def test_a_document_that_is_not_an_object_fails_without_throwing(
    page: Any, trusted: dict[str, bytes], pinned: str
) -> None:
    documents: list[Any] = [[], "a proof", None, 5, True]
    for document in documents:
        assert_fails_as_python_does(page, document, trusted, pinned, "it is not a JSON object")


def test_a_document_with_missing_or_mistyped_fields_fails_naming_them(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    cases: list[tuple[str, Any, str]] = [
        ("format", DELETE, "format is not"),
        ("event", DELETE, "event is not a JSON object"),
        ("seal", DELETE, "seal is not a JSON object"),
        ("audit_path", DELETE, "audit_path is not a list"),
        ("leaf_index", DELETE, "leaf_index is not a whole number"),
        ("tree_size", "12", "tree_size is not a whole number"),
        ("event.hash", DELETE, "event.hash is missing"),
        ("event.version", 0, "event.version is missing or of the wrong type"),
        ("event.user_id", 5, "event.user_id is missing"),
        ("event.data", [1, 2], "event.data must be a JSON object, not list"),
        ("event.metadata", DELETE, "event.metadata must be a JSON object, not NoneType"),
        ("seal.signature", DELETE, "not a seal in the form Chronicle writes"),
        ("seal.root", DELETE, "seal is not a Chronicle seal"),
        ("seal.number", 1.5, "a number of seal is not a whole number"),
        ("seal.format", "chronicle-seal/9", "seal is not a Chronicle seal"),
    ]
    document = proof_of(log, "second")
    for where, value, words in cases:
        changed = changed_at(document, tuple(where.split(".")), value)
        browser, python = check_both(page, changed, trusted, pinned)
        assert not browser["valid"], where
        text = " | ".join(browser["failures"])
        assert words in text, (where, text)
        if where not in ("seal.root", "seal.format"):  # Python quotes the exception's repr
            assert browser["failures"] == python.failures, where


def test_a_seal_not_in_the_form_chronicle_writes_fails_even_when_it_parses(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    changes: list[tuple[str, Any]] = [
        ("root", "upper"),
        ("sealed_at", "+00:00"),
        ("extra", "field"),
        ("public_key", ""),
    ]
    for name, how in changes:
        document = proof_of(log, "varied")
        seal = document["seal"]
        if how == "upper":
            seal[name] = seal[name].upper()
        elif how == "+00:00":
            seal[name] = seal[name][:-1] + "+00:00"
        else:
            seal[name] = how
        browser = assert_fails_as_python_does(page, document, trusted, pinned)
        assert "not a seal in the form Chronicle writes" in browser["failures"][0], name


def test_data_beyond_what_chronicle_stores_fails_as_malformed(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    document = proof_of(log, "varied")
    for value in (2**53, -(2**53), 1e300):
        changed = changed_at(document, ("event", "data", "large"), value)
        assert_fails_as_python_does(page, changed, trusted, pinned, "outside ±(2**53 - 1)")
    deep = changed_at(document, ("event", "data", "large"), nested(65))
    assert_fails_as_python_does(page, deep, trusted, pinned, "nested deeper than 64 levels")


def test_a_consistency_proof_is_not_taken_for_an_inclusion_proof(
    page: Any, trusted: dict[str, bytes], pinned: str
) -> None:
    document = {"format": "chronicle-proof/1", "type": "consistency", "from": {}, "to": {}}
    browser = in_browser(page, document, pinned)
    assert not browser["valid"] and "consistency proof" in browser["failures"][0]
    document["type"] = "exclusion"
    assert_fails_as_python_does(page, document, trusted, pinned)
    assert "type is neither" in in_browser(page, document, pinned)["failures"][0]


# -- the pinned key ------------------------------------------------------------------------------


def parsed_or_error(page: Any, text: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """async (text) => {
            try {
                const {keyId, raw} = await ChronicleProof.parsePinnedKey(text);
                return {keyId, raw: Array.from(raw)};
            } catch (error) {
                return {error: error.message};
            }
        }""",
        text,
    )
    return result


def test_a_pinned_key_is_read_as_an_entry_or_as_bare_base64(page: Any, key: SigningKey) -> None:
    bare = base64.b64encode(key.public).decode()
    for text in (key_entry(key.public), bare, f"  {key_entry(key.public)}\n"):
        assert parsed_or_error(page, text) == {"keyId": key.key_id, "raw": list(key.public)}
    key_id = page.evaluate(
        "async (raw) => ChronicleProof.keyIdOf(new Uint8Array(raw))", list(key.public)
    )
    assert key_id == key.key_id


def test_a_malformed_pinned_key_is_refused_saying_what_is_wrong(page: Any, key: SigningKey) -> None:
    other = load_signing_key(new_signing_key_text())
    bare = base64.b64encode(key.public).decode()
    cases = [
        (base64.b64encode(key.public[:31]).decode(), "31 bytes"),
        ("not base64!", "not base64"),
        (bare[:-1], "not base64"),
        (
            f"{other.key_id}:{bare}",
            f"does not name the key that follows it (its id is {key.key_id}",
        ),
        (f"XYZ:{bare}", "does not name the key"),
        ("", "no pinned key was given"),
        (None, "must be text"),
    ]
    for text, words in cases:
        result = parsed_or_error(page, text)
        assert words in result.get("error", ""), (text, result)


def test_a_malformed_pinned_key_makes_a_failure_not_an_exception(page: Any, log: Log) -> None:
    browser = in_browser(page, proof_of(log, "varied"), "not a key")
    assert not browser["valid"]
    assert "the pinned key cannot be used" in browser["failures"][0]
    assert "not trusted" in browser["failures"][1]


# -- canonical JSON and the content digest -------------------------------------------------------

FIXED_EVENT: Document = {
    "event_id": "0190b4c2-7d3e-7a51-9e2f-3c4d5e6f7081",
    "aggregate_id": "message_ü😀",
    "aggregate_type": "Message",
    "event_type": "MessageCreated",
    "version": 1,
    "schema_version": 3,
    "timestamp": "2024-07-01T12:34:56.789012Z",
    "user_id": None,
    "data": {
        "b": [1, 1.5, 10**15, -0.0, 1e-7, "ß"],
        "a": {"z": None, "y": True},
        "😀": "outside the BMP",
        "\uffff": "inside it",
        ENVELOPE: {"commitment": "ab" * 32, "key_id": "k1", "ciphertext": "c2VjcmV0"},
    },
    "metadata": {"trace": "t\n1", "count": 2},
}


FIXED_DIGEST = "116bd2fb3c9a90251f137240954f3416b6152436af6e54efc397bdfd0add63e8"
"""The content digest of ``FIXED_EVENT``: a change of the hashed form changes it."""


def python_digest(event: Document) -> str:
    return content_digest(
        event_id=event["event_id"],
        aggregate_id=event["aggregate_id"],
        aggregate_type=event["aggregate_type"],
        event_type=event["event_type"],
        schema_version=event["schema_version"],
        timestamp=event["timestamp"],
        user_id=event["user_id"],
        data=canonical_json(event["data"]),
        metadata=canonical_json(event["metadata"]),
    ).hex()


def browser_digest(page: Any, event: Document) -> str:
    digest: str = page.evaluate(
        "async (text) => ChronicleProof._contentDigest(JSON.parse(text))",
        orjson.dumps(event).decode(),
    )
    return digest


def test_the_content_digest_of_a_fixed_event_is_the_known_answer_and_pythons(page: Any) -> None:
    assert python_digest(FIXED_EVENT) == FIXED_DIGEST
    assert browser_digest(page, FIXED_EVENT) == FIXED_DIGEST
    # Without the envelope's ciphertext the digest is the same: the hash never covered it.
    envelope = {k: v for k, v in FIXED_EVENT["data"][ENVELOPE].items() if k != "ciphertext"}
    shredded = {**FIXED_EVENT, "data": {**FIXED_EVENT["data"], ENVELOPE: envelope}}
    assert browser_digest(page, shredded) == python_digest(shredded) == FIXED_DIGEST
    # An envelope that is not an object is hashed as it is.
    plain = {**FIXED_EVENT, "user_id": "user_1", "data": {**FIXED_EVENT["data"], ENVELOPE: "x"}}
    assert browser_digest(page, plain) == python_digest(plain) != FIXED_DIGEST


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


CANONICAL_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -0.0,
    1,
    -1,
    1.5,
    0.1,
    0.1 + 0.2,
    1 / 3,
    -2.5e-10,
    1e-7,
    5e-324,
    123456789.125,
    2**53 - 1,
    -(2**53 - 1),
    9007199254740991.0,
    10**15,
    1e20 / 1e10,
    "",
    "plain ascii",
    'quote " backslash \\ slash / tab \t newline \n',
    "\u0000\u0001\u0008\u000b\u000c\u001f\u007f\u0080",
    "\u2028\u2029 café ☕ 😀 \U0010ffff",
    [],
    {},
    [1, [2, [3, {"a": []}]], "x"],
    {"b": 1, "a": 2, "aa": 3, "A": 4, "": 5, "é": 6, "😀": 7, "\uffff": 8, "\ue000": 9},
    {"nested": {"z": {"y": {"x": [None, {"w": 1.25}]}}}, "n": -0.5},
    {"\u20ac": 1, "\r": 2, "1": 3, "10": 4, "9": 5, "__proto__": 6},
    nested(64),
    VARIED,
]


def test_canonical_json_in_the_browser_is_byte_for_byte_pythons(page: Any) -> None:
    texts = [orjson.dumps(value).decode() for value in CANONICAL_VALUES]
    got = page.evaluate(
        """(texts) => texts.map((text) => Array.from(
            new TextEncoder().encode(ChronicleProof._canonical(JSON.parse(text))),
            (byte) => byte.toString(16).padStart(2, "0")).join(""))""",
        texts,
    )
    for value, hex_bytes in zip(CANONICAL_VALUES, got, strict=True):
        assert bytes.fromhex(hex_bytes) == canonical_json(value), value


def test_values_chronicle_cannot_store_are_refused_in_the_browser_as_in_python(page: Any) -> None:
    from chronicle.errors import InvalidEventError

    refused: list[tuple[Any, str]] = [
        (2**53, "9007199254740992"),
        (-(2**53), "-9007199254740992"),
        (1e21, "1e21"),
        ({"a": [1e300]}, '{"a":[1e300]}'),
        ("\ud800", '"\\ud800"'),
        ({"\udc00": 1}, '{"\\udc00":1}'),
        (nested(65), orjson.dumps(nested(65)).decode()),
    ]
    for value, text in refused:
        with pytest.raises(InvalidEventError):
            canonical_json(value)
        error = page.evaluate(
            """(text) => {
                try { ChronicleProof._canonical(JSON.parse(text)); return null; }
                catch (error) { return error.message; }
            }""",
            text,
        )
        assert error, text


# -- every field, changed every way ---------------------------------------------------------------


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every member and item of a JSON value, containers included."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for name, item in items:
        yield (*prefix, name)
        yield from paths_of(item, (*prefix, name))


def variants(value: Any) -> list[Any]:
    """Other values for a member: other types, and a near miss of its own type."""
    others: list[Any] = [DELETE, None, "x", 0, -1, 2.5, True, [], {}]
    if isinstance(value, str):
        others.append(flip_hex(value) if value else "0")
        others.append(value.upper())
    elif isinstance(value, bool):
        others.append(not value)
    elif isinstance(value, int):
        others += [value + 1, value - 1]
    return others


def test_every_single_change_to_a_proof_gets_the_same_verdict_in_the_browser_and_python(
    page: Any, log: Log, trusted: dict[str, bytes], pinned: str
) -> None:
    """Each member of two proofs deleted or replaced by other types and near misses: the same
    validity, and the same failures word for word except where Python quotes an exception's
    repr (a seal that does not parse) or the keys it trusts."""
    cases = []
    for role in ("varied", "personal"):
        document = proof_of(log, role)
        for path in paths_of(document):
            for new in variants(value_at(document, path)):
                case = changed_at(document, path, new)
                if case != document:
                    cases.append(case)
    results = page.evaluate(
        """async ([texts, key]) => {
            const results = [];
            for (const text of texts) {
                results.push(await ChronicleProof.checkInclusion(JSON.parse(text), key));
            }
            return results;
        }""",
        [[orjson.dumps(case).decode() for case in cases], pinned],
    )
    assert len(cases) > 1000
    worded_alike = 0
    for case, browser in zip(cases, results, strict=True):
        python = check_proof(as_json(case), trusted)
        assert browser["valid"] is python.valid, (python.failures, browser["failures"])
        text = " | ".join(browser["failures"])
        if "is not a Chronicle seal:" not in text and "which is not trusted" not in text:
            assert browser["failures"] == python.failures
            worded_alike += 1
    assert worded_alike > 0.8 * len(cases)
