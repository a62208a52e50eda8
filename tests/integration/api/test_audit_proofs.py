"""``GET /audit/events/{event_id}/proof`` and ``GET /audit/seals/consistency`` on both backends:
what they serve verifies offline, and what cannot be proven is a problem, never a 5xx."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from chronicle.integrity import Sealer
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.merkle_log import build_merkle_log
from chronicle.integrity.proofs import check_proof
from chronicle.integrity.signing import SigningKey, load_signing_key, new_signing_key_text
from chronicle.store.records import Seal

from .conftest import Api, assert_problem


@pytest.fixture
def key() -> SigningKey:
    return load_signing_key(new_signing_key_text())


def sealed_event(api: Api, key: SigningKey, content: str = "to be proven") -> str:
    """The id of a new message's event, sealed (on PostgreSQL a commit becomes visible to the
    sealer only once no older transaction is open, so it may take more than one run)."""
    store = api.services.chat.store
    message = api.post_message("alice", content)
    [event] = store.get_events_for_aggregate(message["id"])
    deadline = time.monotonic() + 30
    while store.merkle_leaf(event.position) is None:
        assert time.monotonic() < deadline, "the sealer never sealed the event"
        Sealer(store, key=key).run_once()
        time.sleep(0.01)
    return event.event_id


def latest_seal(api: Api) -> int:
    seal = api.services.chat.store.latest_seal()
    assert seal is not None
    return seal.number


def test_an_auditor_gets_a_proof_that_verifies_offline(api: Api, key: SigningKey) -> None:
    event_id = sealed_event(api, key)
    response = api.client.get(f"/audit/events/{event_id}/proof", headers=api.as_("auditor"))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["type"] == "inclusion" and document["event"]["event_id"] == event_id
    # The proof carries the content sealed: it checks with no key, and says nothing in clear.
    sealed = document["event"]["data"]["$personal"]
    assert "content" in sealed["fields"] and "content" not in document["event"]["data"]
    assert "to be proven" not in response.text
    check = check_proof(document, {key.key_id: key.public})
    assert check.valid, check.failures
    commitment = sealed["commitment"]
    sealed["commitment"] = commitment[:-1] + ("0" if commitment[-1] != "0" else "1")
    assert not check_proof(document, {key.key_id: key.public}).valid


def test_a_proof_against_a_chosen_seal_and_between_two_seals(api: Api, key: SigningKey) -> None:
    first = sealed_event(api, key, "first")
    old_seal = latest_seal(api)
    sealed_event(api, key, "second")
    new_seal = latest_seal(api)
    assert new_seal > old_seal
    trusted = {key.key_id: key.public}
    auditor = api.as_("admin")
    url = f"/audit/events/{first}/proof"
    old = api.client.get(url, params={"seal": old_seal}, headers=auditor)
    assert old.status_code == 200, old.text
    assert old.json()["seal"]["number"] == old_seal and check_proof(old.json(), trusted).valid
    latest = api.client.get(url, headers=auditor).json()
    assert latest["seal"]["number"] == new_seal and check_proof(latest, trusted).valid
    for start in range(1, new_seal + 1):
        params = {"from": start, "to": new_seal}
        response = api.client.get("/audit/seals/consistency", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        document = response.json()
        assert (document["from"]["number"], document["to"]["number"]) == (start, new_seal)
        assert check_proof(document, trusted).valid
        assert (document["proof"] == []) == (start == new_seal)


def test_an_unknown_event_is_404_and_one_not_sealed_yet_is_409(api: Api, key: SigningKey) -> None:
    auditor = api.as_("auditor")
    for event_id in ("00000000-0000-4000-8000-000000000000", "not-an-id", "a%00b", "é" * 300):
        response = api.client.get(f"/audit/events/{event_id}/proof", headers=auditor)
        assert_problem(response, 404)
    message = api.post_message("alice", "not sealed yet")
    [event] = api.services.chat.store.get_events_for_aggregate(message["id"])
    body = assert_problem(
        api.client.get(f"/audit/events/{event.event_id}/proof", headers=auditor), 409
    )
    assert body["type"] == "urn:chronicle:problem:not-sealed-yet"
    assert "chronicle seal" in body["detail"]


def test_bad_seal_numbers_are_422(api: Api, key: SigningKey) -> None:
    event_id = sealed_event(api, key)
    auditor = api.as_("auditor")
    url = f"/audit/events/{event_id}/proof"
    for seal in ("0", "-1", "abc", "1.5", str(2**70), "99"):
        assert_problem(api.client.get(url, params={"seal": seal}, headers=auditor), 422)
    consistency = "/audit/seals/consistency"
    for params in (
        {"from": "1"},
        {"to": "1"},
        {"from": "x", "to": "1"},
        {"from": "0", "to": "1"},
        {"from": "1", "to": str(2**64)},
        {"from": "1", "to": "99"},
        {"from": "99", "to": "100"},
    ):
        assert_problem(api.client.get(consistency, params=params, headers=auditor), 422)
    sealed_event(api, key, "again")
    backwards = {"from": str(latest_seal(api)), "to": "1"}
    body = assert_problem(api.client.get(consistency, params=backwards, headers=auditor), 422)
    assert "after" in body["detail"]


def test_a_seal_of_format_1_cannot_be_proven_against_409(api: Api, key: SigningKey) -> None:
    store = api.services.chat.store
    events = store.read_all()
    head = LOG_GENESIS
    for event in events:
        head = log_step(head, event.position, event.hash)
    store.append_seal(
        Seal(1, events[-1].position, len(events), head, events[-1].hash, datetime.now(UTC))
    )
    build_merkle_log(store)
    auditor = api.as_("auditor")
    body = assert_problem(
        api.client.get(f"/audit/events/{events[0].event_id}/proof", headers=auditor), 409
    )
    assert "format 1" in body["detail"]
    params = {"from": 1, "to": 1}
    assert_problem(api.client.get("/audit/seals/consistency", params=params, headers=auditor), 409)
    later = sealed_event(api, key)  # seal 2, a tree head: proofs work again
    trusted = {key.key_id: key.public}
    for event_id in (events[0].event_id, later):
        response = api.client.get(f"/audit/events/{event_id}/proof", headers=auditor)
        assert response.status_code == 200 and check_proof(response.json(), trusted).valid


def test_members_and_anonymous_callers_get_no_proof(api: Api, key: SigningKey) -> None:
    event_id = sealed_event(api, key)
    sealed_event(api, key)
    for url, params in (
        (f"/audit/events/{event_id}/proof", {}),
        ("/audit/seals/consistency", {"from": 1, "to": 2}),
    ):
        assert_problem(api.client.get(url, params=params, headers=api.as_("alice")), 403)
        assert_problem(api.client.get(url, params=params), 401)
