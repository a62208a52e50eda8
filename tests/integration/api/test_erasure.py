"""``POST /users/{id}/erasure``: a user's personal data shredded, the log still whole.

The acceptance scan of every byte Chronicle wrote is in ``tests/integration/personal``; these
are the route's rules: what it changes, what refuses it, and that a cut-short run completes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from chronicle.errors import KeyStoreUnavailableError
from tests.integration.api.conftest import Api, assert_problem, settings_for, start
from tests.support.tcp_proxy import TcpProxy

ERASED = re.compile(r"^\[erased on \d{4}-\d{2}-\d{2}\]$")


def erase(api: Api, username: str, *, by: str = "admin", reason: str = "request 17") -> object:
    return api.client.post(
        f"/users/{api.ids[username]}/erasure", json={"reason": reason}, headers=api.as_(by)
    )


def message_content(api: Api, message_id: str) -> str:
    response = api.client.get(f"/messages/{message_id}", headers=api.as_("admin"))
    assert response.status_code == 200, response.text
    return str(response.json()["content"])


def test_an_erased_user_reads_as_erased_everywhere_and_the_log_still_verifies(api: Api) -> None:
    alices = api.post_message("alice", "alice wrote this")
    bobs = api.post_message("bob", "bob wrote that")
    response = erase(api, "alice")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (
        body["subject"] == api.ids["alice"]
        and body["key_ids"]
        and not body["completed_earlier_run"]
    )
    assert alices["id"] in body["aggregates"]

    assert ERASED.match(message_content(api, alices["id"]))
    assert message_content(api, bobs["id"]) == "bob wrote that"
    user = api.client.get(f"/users/{api.ids['alice']}", headers=api.as_("admin")).json()
    assert ERASED.match(user["username"]) and ERASED.match(user["email"])
    history = api.client.get(f"/audit/{alices['id']}/history", headers=api.as_("auditor")).json()
    created = history["events"][0]
    assert ERASED.match(created["data"]["content"]) and created["data"]["mentions"] == []
    events = api.client.get(
        "/audit/events", params={"user_id": api.ids["alice"]}, headers=api.as_("auditor")
    ).json()["events"]
    assert {event["personal"]["status"] for event in events if event.get("personal")} == {"erased"}
    assert "alice wrote this" not in str(events)

    login = api.client.post("/auth/token", data={"username": "alice", "password": "alice-password"})
    assert login.status_code == 401
    report = api.client.get("/audit/verify", headers=api.as_("auditor")).json()
    assert report["intact"], report


def test_the_erasure_is_recorded_on_the_user_by_whoever_erased_and_names_no_personal_data(
    api: Api,
) -> None:
    erase(api, "alice", reason="ticket 2026-117")
    history = api.client.get(
        f"/audit/{api.ids['alice']}/history", headers=api.as_("auditor")
    ).json()
    last = history["events"][-1]
    assert last["event_type"] == "PersonalDataErased"
    assert last["user_id"] == api.ids["admin"] and last["data"]["reason"] == "ticket 2026-117"
    assert "alice" not in str(last["data"]).replace(api.ids["alice"], "")


def test_erasing_twice_an_unknown_user_or_as_a_non_admin_is_refused_and_changes_nothing(
    api: Api,
) -> None:
    assert erase(api, "alice").status_code == 200
    before = api.events()
    assert "erased on" in assert_problem(erase(api, "alice"), 409)["detail"]
    assert_problem(
        api.client.post(
            "/users/user_0123456789abcdef0123456789abcdef/erasure",
            json={"reason": "r"},
            headers=api.as_("admin"),
        ),
        404,
    )
    assert_problem(erase(api, "bob", by="auditor"), 403)
    assert_problem(erase(api, "bob", reason="   "), 422)
    assert api.events() == before


@pytest.mark.parametrize("on", ["user", "aggregate"])
def test_a_legal_hold_on_the_user_or_on_their_data_refuses_the_erasure_naming_it(
    api: Api, on: str
) -> None:
    message = api.post_message("alice", "kept for the court")
    subject = (
        {"subject_kind": "user", "subject_id": api.ids["alice"]}
        if on == "user"
        else {"subject_kind": "aggregate", "subject_id": message["id"]}
    )
    hold = api.client.post("/holds", json={**subject, "reason": "case 4"}, headers=api.as_("admin"))
    assert hold.status_code == 201, hold.text
    before = api.events()
    problem = assert_problem(erase(api, "alice"), 409)
    assert (
        problem["hold_id"] == hold.json()["hold_id"] and hold.json()["hold_id"] in problem["detail"]
    )
    assert api.events() == before
    assert message_content(api, message["id"]) == "kept for the court"


def test_an_erasure_cut_short_after_its_event_is_completed_by_running_it_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = api.post_message("alice", "half erased")
    keys = api.services.chat.store.personal_data.keys  # type: ignore[attr-defined]

    def key_store_gone(*args: object, **kwargs: object) -> object:
        raise KeyStoreUnavailableError("the key store went away mid-erasure")

    with monkeypatch.context() as patch:
        patch.setattr(keys, "erase_all", key_store_gone)
        assert_problem(erase(api, "alice"), 503)
    assert message_content(api, message["id"]) != "half erased"  # the read model is redacted
    response = erase(api, "alice")
    assert response.status_code == 200, response.text
    assert response.json()["completed_earlier_run"] is True
    history = api.client.get(
        f"/audit/{api.ids['alice']}/history", headers=api.as_("auditor")
    ).json()
    assert [e["event_type"] for e in history["events"]].count("PersonalDataErased") == 1
    assert ERASED.match(history["events"][0]["data"]["username"])
    assert_problem(erase(api, "alice"), 409)


@pytest.fixture
def api_behind_a_key_store_proxy(postgres_schema_url: str) -> Iterator[tuple[Api, TcpProxy]]:
    target = urlsplit(postgres_schema_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        key_store_url = postgres_schema_url.replace(
            f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}", 1
        )
        settings = settings_for(
            postgres_schema_url,
            key_store_url=key_store_url,
            key_cache_seconds=0,
            connect_timeout=2,
            key_encryption_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        yield from ((api, proxy) for api in start(settings))


def test_with_the_key_store_down_personal_writes_fail_503_and_nothing_is_stored_in_clear(
    api_behind_a_key_store_proxy: tuple[Api, TcpProxy],
) -> None:
    api, proxy = api_behind_a_key_store_proxy
    proxy.cut()
    before = api.events()
    response = api.client.post(
        "/messages", json={"content": "must not be stored"}, headers=api.as_("alice")
    )
    assert_problem(response, 503)
    assert api.events() == before
    project = api.client.post(
        "/projects", json={"name": "Still works", "description": "d"}, headers=api.as_("admin")
    )
    assert project.status_code == 201, project.text
    proxy.restore()
    assert api.post_message("alice", "stored sealed")["content"] == "stored sealed"


def test_with_the_key_store_down_reads_that_open_sealed_fields_fail_503_until_it_is_back(
    api_behind_a_key_store_proxy: tuple[Api, TcpProxy],
) -> None:
    api, proxy = api_behind_a_key_store_proxy
    message = api.post_message("alice", "written while the key store was up")
    auditor = api.as_("auditor")
    proxy.cut()
    assert_problem(api.client.get(f"/audit/{message['id']}/history", headers=auditor), 503)
    assert_problem(
        api.client.get("/audit/events", params={"aggregate_id": message["id"]}, headers=auditor),
        503,
    )
    proxy.restore()
    history = api.client.get(f"/audit/{message['id']}/history", headers=auditor)
    assert history.status_code == 200, history.text
    assert history.json()["events"][0]["data"]["content"] == "written while the key store was up"
