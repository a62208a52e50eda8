"""Audit routes through HTTP on both backends: history, time travel, search, export."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import orjson

from .conftest import Api, assert_problem


def an_edited_message(api: Api) -> tuple[str, str]:
    """A message edited once; and an instant between its creation and the edit."""
    message = api.post_message(content="before")
    created = api.services.chat.store.get_events_for_aggregate(message["id"])[0].timestamp
    time.sleep(0.01)
    api.client.patch(
        f"/messages/{message['id']}", json={"content": "after"}, headers=api.as_("alice")
    )
    return message["id"], (created + timedelta(microseconds=1)).isoformat()


def test_history_shows_who_when_what_and_the_field_changes(api: Api) -> None:
    message_id, _ = an_edited_message(api)
    body = api.client.get(f"/audit/{message_id}/history", headers=api.as_("auditor")).json()
    first, second = body["events"]
    assert (first["version"], first["event_type"]) == (1, "MessageCreated")
    assert first["created"] and not second["created"]
    assert {"field": "content", "old": None, "new": "before", "diff": None} in first["changes"]
    assert second["user_id"] == api.ids["alice"] and second["timestamp"]
    content = next(change for change in second["changes"] if change["field"] == "content")
    assert (content["old"], content["new"]) == ("before", "after")


def test_state_at_an_instant_or_a_version_shows_it_as_it_was(api: Api) -> None:
    message_id, between = an_edited_message(api)
    url = f"/audit/{message_id}/state"
    at = api.client.get(url, params={"at": between}, headers=api.as_("admin")).json()
    assert (at["version"], at["state"]["content"]) == (1, "before")
    by_version = api.client.get(url, params={"version": 1}, headers=api.as_("auditor")).json()
    assert by_version["state"]["content"] == "before"
    now = api.client.get(url, headers=api.as_("auditor")).json()
    assert (now["version"], now["state"]["content"]) == (2, "after")


def test_state_errors(api: Api) -> None:
    message_id, between = an_edited_message(api)
    url = f"/audit/{message_id}/state"
    auditor = api.as_("auditor")
    assert_problem(api.client.get(url, params={"version": 9}, headers=auditor), 422)
    assert_problem(api.client.get(url, params={"version": 1, "at": between}, headers=auditor), 422)
    assert_problem(api.client.get(url, params={"at": "2020-01-01T00:00:00"}, headers=auditor), 422)
    assert_problem(api.client.get(url, params={"at": "2020-01-01T00:00:00Z"}, headers=auditor), 404)
    assert_problem(api.client.get("/audit/message_" + "0" * 32 + "/state", headers=auditor), 404)
    assert_problem(api.client.get("/audit/../history", headers=auditor), 404)


def test_members_may_not_read_the_audit_trail(api: Api) -> None:
    message_id, _ = an_edited_message(api)
    for url in (f"/audit/{message_id}/history", f"/audit/{message_id}/state", "/audit/events",
                "/audit/export", "/audit/verify"):  # fmt: skip
        assert_problem(api.client.get(url, headers=api.as_("alice")), 403)
        assert_problem(api.client.get(url), 401)


def test_event_search_filters_and_pages_with_next(api: Api) -> None:
    for index in range(5):
        api.post_message("bob", f"bob {index}")
    api.post_message("alice", "alice")
    seen, after = [], None
    while True:
        params = {"user_id": api.ids["bob"], "event_type": "MessageCreated", "limit": 2}
        page = api.client.get(
            "/audit/events", params=params | ({"after": after} if after else {}),
            headers=api.as_("auditor"),
        ).json()  # fmt: skip
        seen += [event["data"]["content"] for event in page["events"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [f"bob {index}" for index in range(5)]
    bad = {"since": "yesterday"}
    assert_problem(api.client.get("/audit/events", params=bad, headers=api.as_("auditor")), 422)


def test_export_streams_every_matching_event_as_ndjson_and_csv(api: Api) -> None:
    for index in range(3):
        api.post_message("alice", f"m{index}")
    params = {"aggregate_type": "Message"}
    ndjson = api.client.get("/audit/export", params=params, headers=api.as_("auditor"))
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in ndjson.content.splitlines()]
    assert [line["data"]["content"] for line in lines] == ["m0", "m1", "m2"]
    exported = api.client.get(
        "/audit/export", params=params | {"format": "csv"}, headers=api.as_("admin")
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [orjson.loads(row["data"])["content"] for row in rows] == ["m0", "m1", "m2"]
    assert rows[0]["event_id"] == lines[0]["event_id"]


def test_the_verification_report_and_key_are_served(api: Api) -> None:
    api.post_message()
    report = api.client.get("/audit/verify", headers=api.as_("auditor"))
    assert report.status_code == 200 and report.json()
    key = api.client.get("/audit/verify/key", headers=api.as_("auditor")).json()
    assert key["algorithm"] == "Ed25519"
