"""The audit views an auditor's page uses, through HTTP on both backends: actors by name as
recorded, the username and content filters, word diffs, comparing two versions, a whole project
at an instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from chronicle import NewEvent

from .conftest import Api, assert_problem


def _rename(api: Api, username: str, new_name: str) -> None:
    response = api.client.patch(
        f"/users/{api.ids[username]}", json={"username": new_name}, headers=api.as_("admin")
    )
    assert response.status_code == 200, response.text


def _edit(api: Api, message_id: str, content: str, username: str = "alice") -> None:
    response = api.client.patch(
        f"/messages/{message_id}", json={"content": content}, headers=api.as_(username)
    )
    assert response.status_code == 200, response.text


def _events(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/audit/events", params=params, headers=api.as_("auditor"))
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def _all_pages(api: Api, **params: Any) -> list[str]:
    seen, after = [], None
    while True:
        query = params if after is None else {**params, "after": after}
        page = api.client.get("/audit/events", params=query, headers=api.as_("auditor")).json()
        seen += [event["data"]["content"] for event in page["events"]]
        if (after := page["next"]) is None:
            return seen


def _instant(api: Api, aggregate_id: str) -> str:
    """An instant just after the aggregate's newest event (and before anything later)."""
    newest = api.services.chat.store.get_events_for_aggregate(aggregate_id)[-1].timestamp
    time.sleep(0.01)
    return (newest + timedelta(microseconds=1)).isoformat()


# -- who, by name ---------------------------------------------------------------------------------


def test_events_and_history_name_the_actor_as_recorded_when_it_happened(api: Api) -> None:
    message = api.post_message("alice", "first words")
    _rename(api, "alice", "alice_renamed")
    _edit(api, message["id"], "second words")
    history = api.client.get(f"/audit/{message['id']}/history", headers=api.as_("auditor")).json()
    created, edited = history["events"]
    assert created["actor"] == {
        "user_id": api.ids["alice"], "username": "alice", "role": "member", "system": False,
    }  # fmt: skip
    assert edited["actor"]["username"] == "alice_renamed"
    events = _events(api, aggregate_type="Message", user_id=api.ids["alice"])
    assert [event["actor"]["username"] for event in events] == ["alice", "alice_renamed"]


def test_system_actors_are_shown_as_such(api: Api) -> None:
    (created,) = _events(api, aggregate_type="User", event_type="UserCreated", user="system:tests")[
        :1
    ]
    assert created["actor"] == {
        "user_id": "system:tests", "username": "system:tests", "role": None, "system": True,
    }  # fmt: skip


def test_the_user_filter_finds_the_events_of_whoever_had_that_name(api: Api) -> None:
    api.post_message("alice", "by alice")
    api.post_message("bob", "by bob")
    _rename(api, "alice", "alice_renamed")
    api.post_message("alice", "by alice, renamed")
    by_old_name = _events(api, user="alice", event_type="MessageCreated")
    assert [event["data"]["content"] for event in by_old_name] == [
        "by alice", "by alice, renamed",
    ]  # fmt: skip
    assert _events(api, user="bob", user_id=api.ids["alice"]) == []
    assert _events(api, user="nobody_at_all") == []
    response = api.client.get(
        "/audit/events", params={"user": "ali\x00ce"}, headers=api.as_("auditor")
    )
    assert_problem(response, 422)


def test_a_name_two_users_had_finds_both_in_commit_order_and_newest_first(api: Api) -> None:
    api.post_message("alice", "first alice")
    _rename(api, "alice", "alice_renamed")
    created = api.client.post(
        "/users",
        json={"username": "alice", "email": "new-alice@example.com", "password": "a-long-password"},
        headers=api.as_("admin"),
    )
    assert created.status_code == 201, created.text
    token = api.client.post(
        "/auth/token", data={"username": "alice", "password": "a-long-password"}
    ).json()["access_token"]
    api.headers["new_alice"] = {"Authorization": f"Bearer {token}"}
    api.post_message("new_alice", "second alice")
    api.post_message("bob", "not alice")
    api.post_message("alice", "first alice again")
    params = {"user": "alice", "event_type": "MessageCreated", "limit": 1}
    oldest = _all_pages(api, **params)
    assert oldest == ["first alice", "second alice", "first alice again"]
    assert _all_pages(api, **params, order="newest") == oldest[::-1]
    only_new = _events(api, user="alice", user_id=created.json()["id"], event_type="MessageCreated")
    assert [event["data"]["content"] for event in only_new] == ["second alice"]


def test_the_user_filter_pages_like_any_other_filter(api: Api) -> None:
    for index in range(5):
        api.post_message("alice", f"alice {index}")
    seen, after = [], None
    while True:
        params: dict[str, Any] = {"user": "alice", "event_type": "MessageCreated", "limit": 2}
        if after is not None:
            params["after"] = after
        page = api.client.get("/audit/events", params=params, headers=api.as_("auditor")).json()
        seen += [event["data"]["content"] for event in page["events"]]
        if (after := page["next"]) is None:
            break
    assert seen == [f"alice {index}" for index in range(5)]


def test_the_export_takes_the_user_filter_and_names_the_actor(api: Api) -> None:
    api.post_message("alice", "exported")
    api.post_message("bob", "not exported")
    params = {"user": "alice", "event_type": "MessageCreated"}
    ndjson = api.client.get("/audit/export", params=params, headers=api.as_("auditor"))
    lines = [line for line in ndjson.text.splitlines() if line]
    assert len(lines) == 1 and '"username":"alice"' in lines[0]
    csv_text = api.client.get(
        "/audit/export", params={**params, "format": "csv"}, headers=api.as_("auditor")
    ).text
    header, row = csv_text.splitlines()[:2]
    assert "username" in header.split(",") and ",alice,member," in row


def test_content_search_finds_created_and_edited_messages_whatever_the_case(api: Api) -> None:
    first = api.post_message("alice", "The Door is stuck")
    api.post_message("bob", "nothing here")
    second = api.post_message("bob", "a window")
    _edit(api, second["id"], "a window and a DOOR", username="bob")
    found = _events(api, q="door")
    assert [(event["aggregate_id"], event["event_type"]) for event in found] == [
        (first["id"], "MessageCreated"), (second["id"], "MessageUpdated"),
    ]  # fmt: skip
    assert [event["aggregate_id"] for event in _events(api, q="door", user="bob")] == [second["id"]]
    assert _events(api, q="door", event_type="MessageCreated")[0]["aggregate_id"] == first["id"]
    assert _events(api, q="door", event_type="UserCreated") == []
    assert_problem(
        api.client.get("/audit/events", params={"q": "do\x07or"}, headers=api.as_("auditor")), 422
    )
    exported = api.client.get(
        "/audit/export", params={"q": "DOOR"}, headers=api.as_("auditor")
    ).text
    assert len(exported.splitlines()) == 2


def test_content_search_passes_over_message_events_it_does_not_know(api: Api) -> None:
    message = api.post_message("alice", "a needle here")
    store = api.services.chat.store
    version = store.get_aggregate_version(message["id"])
    store.append(  # a newer version of the service, or an import, may write such events
        message["id"], [NewEvent("MessagePinned", {"by": "bob"})], expected_version=version,
        aggregate_type="Message",
    )  # fmt: skip
    found = _events(api, q="needle")
    assert [event["event_type"] for event in found] == ["MessageCreated"]


def test_content_search_pages_without_skipping_or_repeating(api: Api) -> None:
    for index in range(7):
        api.post_message("alice", f"needle {index}")
        api.post_message("bob", f"hay {index}")
    seen, after = [], None
    while True:
        params: dict[str, Any] = {"q": "NEEDLE", "limit": 3}
        if after is not None:
            params["after"] = after
        page = api.client.get("/audit/events", params=params, headers=api.as_("auditor")).json()
        seen += [event["data"]["content"] for event in page["events"]]
        if (after := page["next"]) is None:
            break
    assert seen == [f"needle {index}" for index in range(7)]


def test_newest_first_pages_backwards_through_every_filter_without_skipping(api: Api) -> None:
    for index in range(4):
        message = api.post_message("alice", f"needle {index}")
        api.post_message("bob", f"hay {index}")
        _edit(api, message["id"], f"needle {index} edited")
    _rename(api, "alice", "alice_renamed")
    api.post_message("alice", "needle 4")
    oldest_first = _all_pages(api, q="needle", limit=3)
    assert oldest_first[:2] == ["needle 0", "needle 0 edited"] and len(oldest_first) == 9
    assert _all_pages(api, q="needle", order="newest", limit=3) == oldest_first[::-1]
    by_name = _all_pages(api, user="alice", event_type="MessageCreated", order="newest", limit=2)
    assert by_name == [f"needle {index}" for index in range(4, -1, -1)]
    # The export stays in commit order, what `chronicle import` reads back.
    exported = api.client.get("/audit/export", params={"q": "needle"}, headers=api.as_("auditor"))
    lines = [orjson.loads(line)["data"]["content"] for line in exported.text.splitlines()]
    assert lines == oldest_first
    wrong = api.client.get("/audit/events", params={"order": "up"}, headers=api.as_("auditor"))
    assert_problem(wrong, 422)


# -- what changed, in full ------------------------------------------------------------------------


def test_an_edit_near_the_end_of_a_long_message_shows_only_the_changed_words(api: Api) -> None:
    long_text = " ".join(f"word{index}" for index in range(200))
    message = api.post_message("alice", long_text + " the end")
    _edit(api, message["id"], long_text + " the\tvery end")
    history = api.client.get(f"/audit/{message['id']}/history", headers=api.as_("auditor")).json()
    created, edited = history["events"]
    assert created["created"] and created["event_type"] == "MessageCreated"
    assert {"field": "content", "old": None, "new": long_text + " the end", "diff": None} in (
        created["changes"]
    )
    (content,) = [change for change in edited["changes"] if change["field"] == "content"]
    changed = [part for part in content["diff"] if part["op"] != "equal"]
    assert changed == [{"op": "insert", "text": "\tvery"}]  # the rest is one equal part
    assert content["diff"][0] == {"op": "equal", "text": long_text + " the"}
    parts = content["diff"]
    assert "".join(p["text"] for p in parts if p["op"] != "delete") == long_text + " the\tvery end"
    assert "".join(p["text"] for p in parts if p["op"] != "insert") == long_text + " the end"
    (count,) = [change for change in edited["changes"] if change["field"] == "edit_count"]
    assert count["diff"] is None


def test_two_versions_compare_with_both_states_and_word_diffs(api: Api) -> None:
    message = api.post_message("alice", "one two three")
    _edit(api, message["id"], "one 2 three")
    _edit(api, message["id"], "one 2 three four")
    url = f"/audit/{message['id']}/compare"
    body = api.client.get(url, params={"from": 1, "to": 3}, headers=api.as_("auditor")).json()
    assert (body["from"]["version"], body["to"]["version"]) == (1, 3)
    assert body["from"]["state"]["content"] == "one two three"
    assert body["to"]["state"]["content"] == "one 2 three four"
    changes = {change["field"]: change for change in body["changes"]}
    assert changes["edit_count"] == {"field": "edit_count", "old": 0, "new": 2, "diff": None}
    assert changes["content"]["diff"] == [
        {"op": "equal", "text": "one "},
        {"op": "delete", "text": "two"},
        {"op": "insert", "text": "2"},
        {"op": "equal", "text": " three"},
        {"op": "insert", "text": " four"},
    ]
    backwards = api.client.get(url, params={"from": 3, "to": 1}, headers=api.as_("auditor"))
    assert backwards.json()["changes"][0]["old"] == "one 2 three four"
    same = api.client.get(url, params={"from": 2, "to": 2}, headers=api.as_("auditor"))
    assert same.json()["changes"] == []


def test_compare_refuses_versions_the_aggregate_lacks_and_unknown_aggregates(api: Api) -> None:
    message = api.post_message("alice", "once")
    url = f"/audit/{message['id']}/compare"
    auditor = api.as_("auditor")
    for params in ({"from": 1, "to": 2}, {"from": 0, "to": 1}, {"from": "x", "to": 1}, {"to": 1}):
        assert_problem(api.client.get(url, params=params, headers=auditor), 422)
    unknown = "/audit/message_" + "0" * 32 + "/compare"
    assert_problem(api.client.get(unknown, params={"from": 1, "to": 1}, headers=auditor), 404)
    assert_problem(api.client.get(url, params={"from": 1, "to": 1}, headers=api.as_("bob")), 403)


# -- a whole project at an instant ----------------------------------------------------------------


def _ticket(api: Api, project_id: str, title: str) -> str:
    response = api.client.post(
        "/tickets",
        json={"title": title, "project_id": project_id, "priority": "high"},
        headers=api.as_("alice"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _project_message(api: Api, project_id: str, content: str) -> str:
    response = api.client.post(
        "/messages", json={"content": content, "project_id": project_id}, headers=api.as_("alice")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _project_at(api: Api, project_id: str, at: str) -> dict[str, Any]:
    response = api.client.get(
        f"/audit/projects/{project_id}/at", params={"at": at}, headers=api.as_("auditor")
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_project_at_an_instant_shows_its_tickets_and_messages_as_they_were(api: Api) -> None:
    project_id = str(api.project("Apollo")["id"])
    other = str(api.project("Other")["id"])
    ticket_id = _ticket(api, project_id, "Fix the door")
    _ticket(api, other, "Not this one")
    kept = _project_message(api, project_id, "door is stuck")
    gone = _project_message(api, project_id, "a typo")
    api.post_message("alice", "in no project")
    before = _instant(api, gone)

    assigned = api.client.post(
        f"/tickets/{ticket_id}/assign",
        json={"assigned_to": api.ids["bob"]},
        headers=api.as_("alice"),
    )
    assert assigned.status_code == 200, assigned.text
    _edit(api, kept, "door is fixed")
    assert api.client.delete(f"/messages/{gone}", headers=api.as_("alice")).status_code in (
        200, 204,
    )  # fmt: skip
    after = max(_instant(api, aggregate_id) for aggregate_id in (ticket_id, kept, gone))

    then = _project_at(api, project_id, before)
    assert then["project"]["aggregate_id"] == project_id
    assert then["project"]["state"]["name"] == "Apollo"
    ((ticket,),) = [then["tickets"]]
    assert ticket["aggregate_id"] == ticket_id and ticket["state"]["assigned_to"] is None
    messages = {message["aggregate_id"]: message for message in then["messages"]}
    assert set(messages) == {kept, gone}
    assert messages[kept]["state"]["content"] == "door is stuck"
    assert not messages[gone]["deleted"]

    now = _project_at(api, project_id, after)
    assert now["tickets"][0]["state"]["assigned_to"] == api.ids["bob"]
    messages = {message["aggregate_id"]: message for message in now["messages"]}
    assert messages[kept]["state"]["content"] == "door is fixed"
    assert messages[gone]["deleted"]


def test_a_correlation_id_finds_every_event_one_request_caused_and_nothing_else(
    api: Api,
) -> None:
    same = {"X-Correlation-ID": "request-7f3a"}
    project_id = str(api.project("Apollo")["id"])
    first = api.client.post(
        "/messages",
        json={"content": "one", "project_id": project_id},
        headers={**api.as_("alice"), **same},
    )
    other = api.client.post("/messages", json={"content": "two"}, headers=api.as_("alice"))
    ticket = api.client.post(
        "/tickets",
        json={"title": "three", "project_id": project_id, "priority": "low"},
        headers={**api.as_("bob"), **same},
    )
    assert {first.status_code, other.status_code, ticket.status_code} == {201}
    found = _events(api, correlation_id="request-7f3a")
    assert [e["aggregate_id"] for e in found] == [first.json()["id"], ticket.json()["id"]]
    assert all(e["metadata"]["correlation_id"] == "request-7f3a" for e in found)
    assert _events(api, correlation_id="request-7f3a", user="bob")[0]["event_type"] == (
        "TicketCreated"
    )
    assert _events(api, correlation_id="no-such-request") == []
    exported = api.client.get(
        "/audit/export", params={"correlation_id": "request-7f3a"}, headers=api.as_("auditor")
    )
    assert [orjson.loads(line)["event_id"] for line in exported.text.splitlines()] == [
        e["event_id"] for e in found
    ]
    assert_problem(
        api.client.get(
            "/audit/events", params={"correlation_id": "bad\x00id"}, headers=api.as_("auditor")
        ),
        422,
    )


def test_each_ticket_and_message_of_a_project_at_an_instant_reads_as_its_own_state_then(
    api: Api,
) -> None:
    project_id = str(api.project("Apollo")["id"])
    tickets = [_ticket(api, project_id, f"Task {n}") for n in range(3)]
    messages = [_project_message(api, project_id, f"note {n}") for n in range(4)]
    _edit(api, messages[1], "note 1, edited")
    instants = [_instant(api, messages[1])]
    for ticket_id in tickets[:2]:
        assigned = api.client.post(
            f"/tickets/{ticket_id}/assign",
            json={"assigned_to": api.ids["bob"]},
            headers=api.as_("alice"),
        )
        assert assigned.status_code == 200, assigned.text
    _edit(api, messages[1], "note 1, edited twice")
    assert api.client.delete(f"/messages/{messages[2]}", headers=api.as_("alice")).status_code in (
        200, 204,
    )  # fmt: skip
    instants.append(_instant(api, messages[2]))
    for at in instants:
        view = _project_at(api, project_id, at)
        listed = [*view["tickets"], *view["messages"]]
        assert {entry["aggregate_id"] for entry in listed} == {*tickets, *messages}
        for entry in listed:
            own = api.client.get(
                f"/audit/{entry['aggregate_id']}/state",
                params={"at": at},
                headers=api.as_("auditor"),
            ).json()
            assert {k: entry[k] for k in own} == own


def test_project_at_refuses_instants_before_it_existed_or_without_a_timezone(api: Api) -> None:
    project_id = str(api.project("Apollo")["id"])
    url = f"/audit/projects/{project_id}/at"
    auditor = api.as_("auditor")
    long_ago = "2020-01-01T00:00:00Z"
    body = assert_problem(api.client.get(url, params={"at": long_ago}, headers=auditor), 422)
    assert "did not exist yet" in body["detail"]
    now = datetime.now(UTC).isoformat()
    for at in ("2026-01-01T00:00:00", "yesterday", "2026-01-01T00:00:00Z\x00"):
        assert_problem(api.client.get(url, params={"at": at}, headers=auditor), 422)
    assert_problem(api.client.get(url, headers=auditor), 422)
    unknown = "/audit/projects/project_" + "0" * 32 + "/at"
    assert_problem(api.client.get(unknown, params={"at": now}, headers=auditor), 404)
    message = api.post_message("alice", "not a project")
    not_a_project = f"/audit/projects/{message['id']}/at"
    assert_problem(api.client.get(not_a_project, params={"at": now}, headers=auditor), 404)
    assert_problem(api.client.get(url, params={"at": now}, headers=api.as_("alice")), 403)
