"""An audit page names its actors from their own events, never from every user's."""

from __future__ import annotations

import json

import pytest

from chronicle.chat import actors

from .conftest import Api


def refuse_reading_every_user(monkeypatch: pytest.MonkeyPatch) -> None:
    def every_user_event(log: object) -> None:
        raise AssertionError("a page read every user's events to name its actors")

    monkeypatch.setattr(actors, "_user_events", every_user_event)


def test_a_page_and_an_export_name_their_actors_without_reading_every_user(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.post_message("alice", "from alice")
    api.post_message("bob", "from bob")
    refuse_reading_every_user(monkeypatch)
    page = api.client.get(
        "/audit/events", params={"event_type": "MessageCreated"}, headers=api.as_("auditor")
    )
    assert page.status_code == 200, page.text
    assert [event["actor"]["username"] for event in page.json()["events"]] == ["alice", "bob"]
    export = api.client.get(
        "/audit/export", params={"event_type": "MessageCreated"}, headers=api.as_("auditor")
    )
    assert export.status_code == 200 and export.text.count('"username":"bob"') >= 1


def test_a_search_by_username_still_finds_every_user_who_had_the_name(api: Api) -> None:
    api.post_message("alice", "from alice")
    renamed = api.client.patch(
        f"/users/{api.ids['alice']}", json={"username": "alicia"}, headers=api.as_("admin")
    )
    assert renamed.status_code == 200, renamed.text
    page = api.client.get(
        "/audit/events",
        params={"user": "alice", "event_type": "MessageCreated"},
        headers=api.as_("auditor"),
    )
    assert page.status_code == 200, page.text
    [event] = page.json()["events"]
    assert event["user_id"] == api.ids["alice"] and event["actor"]["username"] == "alice"


def test_a_page_reads_the_names_of_all_its_actors_in_one_read(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    for username in ("alice", "bob", "alice"):
        api.post_message(username, f"from {username}")
    store = api.services.chat.store
    reads: list[list[str]] = []
    read_several = store.get_events_for_aggregates

    def one_user(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page read its actors one user at a time")

    def several_users(aggregate_ids: list[str]) -> object:
        reads.append(list(aggregate_ids))
        return read_several(aggregate_ids)

    monkeypatch.setattr(store, "get_events_for_aggregate", one_user)
    monkeypatch.setattr(store, "get_events_for_aggregates", several_users)
    page = api.client.get(
        "/audit/events", params={"event_type": "MessageCreated"}, headers=api.as_("auditor")
    )
    assert page.status_code == 200, page.text
    named = [event["actor"]["username"] for event in page.json()["events"]]
    assert named == ["alice", "bob", "alice"]
    assert reads == [[api.ids["alice"], api.ids["bob"]]]
    reads.clear()
    export = api.client.get(
        "/audit/export", params={"event_type": "MessageCreated"}, headers=api.as_("auditor")
    )
    assert export.status_code == 200, export.text
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert [row["actor"]["username"] for row in rows] == ["alice", "bob", "alice"]
    assert reads == [[api.ids["alice"], api.ids["bob"]]]
