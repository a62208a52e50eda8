"""Projects and tickets through HTTP on both backends."""

from __future__ import annotations

from .conftest import Api, assert_problem


def test_an_admin_creates_a_project_and_moves_it_along_its_state_machine(api: Api) -> None:
    project = api.project()
    assert project["status"] == "active" and project["owner_id"] == api.ids["admin"]
    moved = api.client.post(
        f"/projects/{project['id']}/status",
        json={"status": "on_hold", "expected_version": 1},
        headers=api.as_("admin"),
    )
    assert moved.status_code == 200 and moved.json()["version"] == 2
    read = api.client.get(f"/projects/{project['id']}", headers=api.as_("alice")).json()
    assert read["status"] == "on_hold"


def test_members_may_not_manage_projects(api: Api) -> None:
    project = api.project()
    before = api.events()
    assert_problem(api.client.post("/projects", json={"name": "x"}, headers=api.as_("bob")), 403)
    assert_problem(
        api.client.post(
            f"/projects/{project['id']}/status", json={"status": "archived"},
            headers=api.as_("bob"),
        ),
        403,
    )  # fmt: skip
    assert api.events() == before


def test_a_transition_the_state_machine_refuses_is_409_and_stores_nothing(api: Api) -> None:
    project = api.project()
    url = f"/projects/{project['id']}/status"
    api.client.post(url, json={"status": "archived"}, headers=api.as_("admin"))
    before = api.events()
    assert_problem(api.client.post(url, json={"status": "active"}, headers=api.as_("admin")), 409)
    assert_problem(api.client.post(url, json={"status": "gone"}, headers=api.as_("admin")), 422)
    assert api.events() == before


def test_a_ticket_is_created_assigned_and_moved_by_members(api: Api) -> None:
    project = api.project()
    created = api.client.post(
        "/tickets",
        json={"title": "Bug", "description": "it breaks", "project_id": project["id"],
              "priority": "high"},
        headers=api.as_("alice"),
    )  # fmt: skip
    assert created.status_code == 201
    ticket = created.json()
    assigned = api.client.post(
        f"/tickets/{ticket['id']}/assign",
        json={"assigned_to": api.ids["bob"], "expected_version": 1},
        headers=api.as_("alice"),
    )
    assert assigned.json()["assigned_by"] == api.ids["alice"] and assigned.json()["version"] == 2
    moved = api.client.post(
        f"/tickets/{ticket['id']}/status", json={"status": "in_progress"}, headers=api.as_("bob")
    )
    assert moved.json()["version"] == 3
    read = api.client.get(f"/tickets/{ticket['id']}", headers=api.as_("auditor")).json()
    assert (read["status"], read["assigned_to"]) == ("in_progress", api.ids["bob"])


def test_ticket_errors_and_roles(api: Api) -> None:
    project = api.project()
    ticket = api.client.post(
        "/tickets", json={"title": "T", "project_id": project["id"]}, headers=api.as_("bob")
    ).json()
    before = api.events()
    unknown_project = {"title": "T", "project_id": "project_" + "0" * 32}
    assert_problem(api.client.post("/tickets", json=unknown_project, headers=api.as_("bob")), 422)
    assert_problem(
        api.client.post(
            f"/tickets/{ticket['id']}/assign", json={"assigned_to": "user_" + "0" * 32},
            headers=api.as_("bob"),
        ),
        422,
    )  # fmt: skip
    assert_problem(
        api.client.post(
            f"/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=api.as_("bob")
        ),
        409,
    )
    assert_problem(
        api.client.post(
            f"/tickets/{ticket['id']}/status", json={"status": "closed"},
            headers=api.as_("auditor"),
        ),
        403,
    )  # fmt: skip
    assert_problem(api.client.get("/tickets/ticket_" + "0" * 32, headers=api.as_("bob")), 404)
    assert_problem(api.client.get("/projects/project_" + "0" * 32, headers=api.as_("bob")), 404)
    assert_problem(
        api.client.post(
            "/tickets/ticket_" + "0" * 32 + "/status", json={"status": "closed"},
            headers=api.as_("bob"),
        ),
        404,
    )  # fmt: skip
    assert api.events() == before
