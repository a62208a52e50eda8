"""An audit page names its actors from their own events, never from every user's."""

from __future__ import annotations

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
