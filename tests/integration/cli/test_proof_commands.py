"""``chronicle proof`` then ``chronicle verify-proof``, in subprocesses, on SQLite and PostgreSQL.

The proof is checked with the store out of reach (the SQLite file deleted, EVENT_STORE_URL at a
closed port): it must need nothing but the file and the public key.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from chronicle import NewEvent
from chronicle.bootstrap import open_store
from chronicle.integrity.keys import key_entry
from chronicle.integrity.proofs import consistency_proof_document
from chronicle.integrity.signing import load_signing_key, new_signing_key_text, public_key_text

from .subprocesses import free_port, run_chronicle, store_env

NOTE = "a note of forty bytes, the one to change"


@pytest.fixture
def signing_key() -> str:
    return new_signing_key_text()


def fill(url: str, events: int = 5) -> list[str]:
    """Events on two aggregates; the ids of the events of ``message_1``, oldest first."""
    store = open_store(url)
    try:
        for index in range(events):
            aggregate_id = f"message_{index % 2}"
            store.append(
                aggregate_id,
                [NewEvent("MessageEdited", {"note": NOTE, "n": index, "ratio": index / 4})],
                expected_version=store.get_aggregate_version(aggregate_id),
                aggregate_type="Message",
                user_id="user_alice",
            )
        return [event.event_id for event in store.get_events_for_aggregate("message_1")]
    finally:
        store.close()


def seal(url: str, key: str) -> None:
    sealed = run_chronicle("seal", env=store_env(url, CHRONICLE_SIGNING_KEY=key))
    assert sealed.returncode == 0, sealed.stderr


def out_of_reach(url: str) -> str:
    """The same store made unreachable: its SQLite file deleted, or a PostgreSQL port closed."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
        return url
    return f"postgresql://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"


def test_a_proof_made_from_the_store_verifies_with_the_store_out_of_reach(
    store_url: str, signing_key: str, tmp_path: Path
) -> None:
    event_ids = fill(store_url)
    seal(store_url, signing_key)
    proof = tmp_path / "proof.json"
    env = store_env(store_url)
    made = run_chronicle("proof", event_ids[1], "--output", str(proof), env=env)
    assert made.returncode == 0, made.stderr
    assert f"event {event_ids[1]}" in made.stdout and "under seal 1" in made.stdout
    printed = run_chronicle("proof", event_ids[1], "--json", env=env)
    assert printed.returncode == 0, printed.stderr
    document = orjson.loads(proof.read_bytes())
    assert orjson.loads(printed.stdout) == document
    assert document["event"]["event_id"] == event_ids[1] and document["event"]["version"] == 2
    assert proof.stat().st_mode & 0o777 == 0o644 & ~_umask()

    public = load_signing_key(signing_key).public
    offline = store_env(out_of_reach(store_url))
    checked = run_chronicle(
        "verify-proof", str(proof), "--public-key", key_entry(public), env=offline
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("valid") and event_ids[1] in checked.stdout
    if store_url.startswith("sqlite"):
        assert not Path(store_url.removeprefix("sqlite:///")).exists()  # nothing opened it
    as_json = run_chronicle(
        "verify-proof", str(proof), "--public-key", public_key_text(public), "--json", env=offline
    )
    assert as_json.returncode == 0, as_json.stderr
    assert orjson.loads(as_json.stdout) == {"valid": True, "type": "inclusion", "failures": []}

    # One changed byte in the proof's event: the hash no longer matches the content.
    content = proof.read_bytes()
    assert content.count(NOTE.encode()) == 1
    proof.write_bytes(content.replace(NOTE.encode(), NOTE.replace("one", "onE").encode()))
    tampered = run_chronicle(
        "verify-proof", str(proof), "--public-key", key_entry(public), env=offline
    )
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "INVALID" in tampered.stdout and "hash does not match its content" in tampered.stdout


def test_a_proof_against_an_older_seal_and_against_an_untrusted_key(
    store_url: str, signing_key: str, tmp_path: Path
) -> None:
    event_ids = fill(store_url, events=3)
    seal(store_url, signing_key)
    more = fill(store_url, events=4)
    seal(store_url, signing_key)
    env = store_env(store_url)
    public = key_entry(load_signing_key(signing_key).public)
    old = tmp_path / "old.json"
    made = run_chronicle("proof", event_ids[0], "--seal", "1", "--output", str(old), env=env)
    assert made.returncode == 0, made.stderr
    assert orjson.loads(old.read_bytes())["seal"]["number"] == 1
    assert run_chronicle("verify-proof", str(old), "--public-key", public, env=env).returncode == 0
    later = run_chronicle("proof", more[-1], "--seal", "1", env=env)
    assert later.returncode == 1 and "later seal" in later.stderr
    other = key_entry(load_signing_key(new_signing_key_text()).public)
    both = f"{other},{public}"
    assert run_chronicle("verify-proof", str(old), "--public-key", both, env=env).returncode == 0
    untrusted = run_chronicle("verify-proof", str(old), "--public-key", other, env=env)
    assert untrusted.returncode == 1 and "not trusted" in untrusted.stdout
    # verify-proof takes consistency proofs too (GET /audit/seals/consistency serves them).
    store = open_store(store_url)
    try:
        document = consistency_proof_document(store, 1, 2)
    finally:
        store.close()
    consistency = tmp_path / "consistency.json"
    consistency.write_bytes(orjson.dumps(document))
    extends = run_chronicle("verify-proof", str(consistency), "--public-key", public, env=env)
    assert extends.returncode == 0, extends.stdout + extends.stderr
    assert "seal 2 (7 events) extends seal 1 (3 events)" in extends.stdout
    document["from"]["root"] = document["to"]["root"]
    consistency.write_bytes(orjson.dumps(document))
    forked = run_chronicle("verify-proof", str(consistency), "--public-key", public, env=env)
    assert forked.returncode == 1 and "signature is invalid" in forked.stdout


def test_an_unknown_or_unsealed_event_exits_one_saying_why(store_url: str) -> None:
    [first, *_] = fill(store_url, events=2)
    env = store_env(store_url)
    unsealed = run_chronicle("proof", first, env=env)
    assert unsealed.returncode == 1 and "chronicle seal" in unsealed.stderr
    unknown = run_chronicle("proof", "00000000-0000-4000-8000-000000000000", env=env)
    assert unknown.returncode == 1 and "no event is stored" in unknown.stderr


def test_verify_proof_exits_two_on_an_unreadable_file_or_a_bad_key(
    tmp_path: Path, signing_key: str
) -> None:
    env = store_env(f"sqlite:///{tmp_path / 'never-opened.db'}")
    public = key_entry(load_signing_key(signing_key).public)
    missing = run_chronicle(
        "verify-proof", str(tmp_path / "none.json"), "--public-key", public, env=env
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    folder = run_chronicle("verify-proof", str(tmp_path), "--public-key", public, env=env)
    assert folder.returncode == 2
    proof = tmp_path / "proof.json"
    proof.write_text("{}")
    for bad in ("not-a-key", "0123456789abcdef:" + public.split(":")[1], ""):
        result = run_chronicle("verify-proof", str(proof), "--public-key", bad, env=env)
        assert result.returncode == 2, (bad, result.stderr)
    without_key = run_chronicle("verify-proof", str(proof), env=env)
    assert without_key.returncode == 2
    not_json = tmp_path / "garbage.json"
    not_json.write_bytes(b"\x00\xff not json")
    garbage = run_chronicle("verify-proof", str(not_json), "--public-key", public, env=env)
    assert garbage.returncode == 1 and "malformed document" in garbage.stdout
    assert not (tmp_path / "never-opened.db").exists()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
