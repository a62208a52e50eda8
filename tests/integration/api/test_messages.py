"""Messages through HTTP on both backends: every route, role and ownership rule, every error."""

from __future__ import annotations

import itertools
import threading

import pytest

from chronicle.chat.api import routes_messages
from chronicle.chat.domain import Message

from .conftest import Api, assert_problem


def test_posting_answers_201_with_the_id_version_and_state(api: Api) -> None:
    body = api.post_message(content="hi @bob and @carol")
    assert body["id"].startswith("message_") and body["version"] == 1
    assert body["username"] == "alice" and body["mentions"] == ["bob", "carol"]
    assert body["author_id"] == api.ids["alice"]
    stored = api.services.chat.store.get_events_for_aggregate(body["id"])
    assert [e.user_id for e in stored] == [api.ids["alice"]]


def test_the_seed_route_answers_the_seed_shape(api: Api) -> None:
    response = api.client.post(
        "/messages/eventsourced", json={"content": "from the seed"}, headers=api.as_("bob")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["version"] == 1
    assert (
        api.client.get(f"/messages/{body['aggregate_id']}", headers=api.as_("bob")).json()[
            "content"
        ]
        == "from the seed"
    )


def test_a_correlation_header_is_recorded_on_the_events(api: Api) -> None:
    response = api.client.post(
        "/messages",
        json={"content": "traced"},
        headers={**api.as_("alice"), "X-Request-ID": "req-42"},
    )
    event = api.services.chat.store.get_events_for_aggregate(response.json()["id"])[0]
    assert event.correlation_id == "req-42"


def test_messages_list_in_creation_order_page_by_page_and_by_project(api: Api) -> None:
    project = api.project()
    ids = [api.post_message(content=f"m{i}")["id"] for i in range(5)]
    in_project = api.client.post(
        "/messages", json={"content": "p", "project_id": project["id"]}, headers=api.as_("bob")
    ).json()["id"]
    seen, after = [], None
    while True:
        params = {"limit": 2} | ({"after": after} if after is not None else {})
        page = api.client.get("/messages", params=params, headers=api.as_("auditor")).json()
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [*ids, in_project]
    filtered = api.client.get(
        "/messages", params={"project_id": project["id"]}, headers=api.as_("alice")
    ).json()
    assert [item["id"] for item in filtered["items"]] == [in_project]


def test_an_author_edits_and_deletes_their_message_and_versions_advance(api: Api) -> None:
    message = api.post_message()
    edited = api.client.patch(
        f"/messages/{message['id']}",
        json={"content": "edited @carol", "expected_version": 1},
        headers=api.as_("alice"),
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2 and edited.json()["mentions"] == ["carol"]
    read = api.client.get(f"/messages/{message['id']}", headers=api.as_("bob")).json()
    assert read["content"] == "edited @carol" and read["mentions"] == ["carol"]
    deleted = api.client.delete(
        f"/messages/{message['id']}", params={"expected_version": 2}, headers=api.as_("alice")
    )
    assert deleted.status_code == 200 and deleted.json()["is_deleted"] is True
    listed = api.client.get("/messages", headers=api.as_("alice")).json()["items"]
    assert message["id"] not in [item["id"] for item in listed]


def test_a_deleted_message_is_gone_for_readers_and_kept_for_admins_and_auditors(api: Api) -> None:
    message = api.post_message("alice", content="a secret I regret")
    assert api.client.delete(f"/messages/{message['id']}", headers=api.as_("alice")).is_success
    for reader in ("bob", "alice", "auditor", "admin"):
        gone = assert_problem(
            api.client.get(f"/messages/{message['id']}", headers=api.as_(reader)), 410
        )
        assert "a secret" not in gone["detail"] and "/history" in gone["detail"]
    admin = api.client.get(
        f"/messages/{message['id']}", params={"include_deleted": "true"}, headers=api.as_("admin")
    )
    assert admin.status_code == 200 and admin.json()["content"] == "a secret I regret"
    listed = api.client.get(
        "/messages", params={"include_deleted": "true", "limit": 500}, headers=api.as_("admin")
    )
    assert message["id"] in [item["id"] for item in listed.json()["items"]]
    for member in ("bob", "auditor"):
        refused = api.client.get(
            "/messages", params={"include_deleted": "true"}, headers=api.as_(member)
        )
        assert_problem(refused, 403)
    history = api.client.get(f"/audit/{message['id']}/history", headers=api.as_("auditor"))
    assert history.status_code == 200 and len(history.json()["events"]) == 2


def test_a_member_may_not_change_another_members_message_and_nothing_is_stored(api: Api) -> None:
    message = api.post_message("alice")
    before = api.events()
    assert_problem(
        api.client.patch(
            f"/messages/{message['id']}", json={"content": "mine now"}, headers=api.as_("bob")
        ),
        403,
    )
    assert_problem(api.client.delete(f"/messages/{message['id']}", headers=api.as_("bob")), 403)
    assert api.events() == before


def test_the_author_of_a_message_this_process_never_saw_is_read_from_its_row(api: Api) -> None:
    """Written by another process (here: straight through the writer, as ``chronicle`` or another
    service instance would): the first edit reads who wrote it, and the answer is the same."""
    made = api.services.writer.create(
        Message.create("from elsewhere", "alice", "text"), user_id=api.ids["alice"]
    )
    url = f"/messages/{made.aggregate.id}"
    before = api.events()
    assert_problem(api.client.patch(url, json={"content": "x"}, headers=api.as_("bob")), 403)
    assert api.events() == before
    edited = api.client.patch(url, json={"content": "mine"}, headers=api.as_("alice"))
    assert edited.status_code == 200, edited.text
    assert_problem(api.client.delete(url, headers=api.as_("bob")), 403)


def test_an_edit_of_a_message_posted_here_does_not_read_its_row_to_check_the_author(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = api.post_message("alice")
    read: list[str] = []
    real = routes_messages._message

    def counted(services: object, message_id: str) -> object:
        read.append(message_id)
        return real(services, message_id)  # type: ignore[arg-type]

    monkeypatch.setattr(routes_messages, "_message", counted)
    url = f"/messages/{message['id']}"
    assert api.client.patch(url, json={"content": "one"}, headers=api.as_("alice")).is_success
    assert_problem(api.client.patch(url, json={"content": "x"}, headers=api.as_("bob")), 403)
    assert api.client.delete(url, headers=api.as_("alice")).is_success
    assert read == []


def test_an_admin_may_change_anyones_message(api: Api) -> None:
    message = api.post_message("alice")
    response = api.client.patch(
        f"/messages/{message['id']}", json={"content": "moderated"}, headers=api.as_("admin")
    )
    assert response.status_code == 200
    assert (
        api.services.chat.store.get_events_for_aggregate(message["id"])[-1].user_id
        == (api.ids["admin"])
    )


def test_an_auditor_writes_nothing(api: Api) -> None:
    message = api.post_message()
    before = api.events()
    assert_problem(
        api.client.post("/messages", json={"content": "x"}, headers=api.as_("auditor")), 403
    )
    assert_problem(
        api.client.patch(
            f"/messages/{message['id']}", json={"content": "x"}, headers=api.as_("auditor")
        ),
        403,
    )
    assert api.events() == before


def test_unknown_messages_are_404(api: Api) -> None:
    unknown = "message_" + "0" * 32
    for response in (
        api.client.get(f"/messages/{unknown}", headers=api.as_("alice")),
        api.client.patch(f"/messages/{unknown}", json={"content": "x"}, headers=api.as_("admin")),
        api.client.delete("/messages/not-even-an-id", headers=api.as_("admin")),
    ):
        assert_problem(response, 404)


def test_a_stale_expected_version_is_409_with_the_actual_version_and_writes_nothing(
    api: Api,
) -> None:
    message = api.post_message()
    api.client.patch(f"/messages/{message['id']}", json={"content": "v2"}, headers=api.as_("alice"))
    before = api.events()
    body = assert_problem(
        api.client.patch(
            f"/messages/{message['id']}",
            json={"content": "v3", "expected_version": 1},
            headers=api.as_("alice"),
        ),
        409,
    )
    assert body["actual_version"] == 2 and body["expected_version"] == 1
    assert api.events() == before


def test_editing_a_deleted_message_is_a_rule_the_domain_refuses_409(api: Api) -> None:
    message = api.post_message()
    api.client.delete(f"/messages/{message['id']}", headers=api.as_("alice"))
    before = api.events()
    assert_problem(
        api.client.patch(
            f"/messages/{message['id']}", json={"content": "back"}, headers=api.as_("alice")
        ),
        409,
    )
    assert api.events() == before


def test_invalid_fields_are_422_and_store_nothing(api: Api) -> None:
    before = api.events()
    for body in (
        {"content": ""},
        {"content": "   "},
        {"content": "x" * 4001},
        {"content": "x", "message_type": "video"},
        {"content": "x", "project_id": "ticket_" + "0" * 32},
        {"content": "x", "surprise": True},
        {},
    ):
        assert_problem(api.client.post("/messages", json=body, headers=api.as_("alice")), 422)
    missing_project = {"content": "x", "project_id": "project_" + "0" * 32}
    assert_problem(
        api.client.post("/messages", json=missing_project, headers=api.as_("alice")), 422
    )
    assert_problem(
        api.client.post(
            "/messages",
            content=b'{"content": "\xff\xfe"}',
            headers={**api.as_("alice"), "Content-Type": "application/json"},
        ),
        400,  # not JSON at all (invalid UTF-8): a malformed request
    )
    assert_problem(api.client.get("/messages?limit=0", headers=api.as_("alice")), 422)
    assert api.events() == before


def test_an_oversized_body_is_413_and_stores_nothing(api: Api) -> None:
    before = api.events()
    huge = b'{"content": "' + b"x" * 2_000_000 + b'"}'
    response = api.client.post(
        "/messages",
        content=huge,
        headers={**api.as_("alice"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)

    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    chunked = api.client.post(
        "/messages", content=chunks(),
        headers={**api.as_("alice"), "Content-Type": "application/json"},
    )  # fmt: skip
    assert_problem(chunked, 413)
    assert api.events() == before


def test_eight_clients_editing_one_message_each_version_is_won_exactly_once(api: Api) -> None:
    message = api.post_message()
    clients, rounds = 8, 4
    winners: list[str] = []
    for round_number in range(1, rounds + 1):
        statuses = race(api, message["id"], clients, round_number)
        assert sorted(statuses.values()) == [200] + [409] * (clients - 1)
        winner = next(i for i, status in statuses.items() if status == 200)
        winners.append(f"round {round_number} by client {winner}")

    history = api.client.get(f"/audit/{message['id']}/history", headers=api.as_("auditor")).json()
    versions = [entry["version"] for entry in history["events"]]
    assert versions == list(range(1, rounds + 2))
    # No lost update: each edit's "old" content is exactly the previous winner's content.
    contents = [message["content"], *winners]
    for entry, (old, new) in zip(history["events"][1:], itertools.pairwise(contents), strict=True):
        change = next(c for c in entry["changes"] if c["field"] == "content")
        assert (change["old"], change["new"]) == (old, new)


def race(api: Api, message_id: str, clients: int, version: int) -> dict[int, int]:
    """``clients`` threads PATCH the message at once with the same expected version."""
    barrier = threading.Barrier(clients)
    statuses: dict[int, int] = {}

    def edit(index: int) -> None:
        barrier.wait()
        response = api.client.patch(
            f"/messages/{message_id}",
            json={"content": f"round {version} by client {index}", "expected_version": version},
            headers=api.as_("alice"),
        )
        statuses[index] = response.status_code

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
