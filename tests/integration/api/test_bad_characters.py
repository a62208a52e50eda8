"""NUL and control characters in every parameter, on both backends: a 4xx problem, never a 5xx.

An id that cannot name anything answers 404; a filter, cursor or body string holding such a
character answers 422; the login form answers as it does for a wrong username. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from chronicle.chat.service.credentials import TABLE as CREDENTIALS

from .conftest import Api, assert_problem

BAD = {"NUL": "\x00", "ESC": "\x1b"}
"""The characters tried: NUL (which PostgreSQL text cannot hold) and another control character."""


@dataclass
class Resources:
    """One stored resource of each kind, for the bad requests to aim at."""

    message: str
    project: str
    ticket: str
    user: str


Send = Callable[[Api, Resources, str, dict[str, str]], Any]
"""Sends one request with ``bad`` placed in one parameter (api, resources, bad, auth headers)."""


def bad_id(method: str, route: str, json: dict[str, Any] | None = None) -> Send:
    """``route`` with the stored resource's id in its path, ``bad`` inserted into the id."""

    def send(api: Api, res: Resources, bad: str, headers: dict[str, str]) -> Any:
        ids = {
            kind: quote(value[:10] + bad + value[10:], safe="") for kind, value in vars(res).items()
        }
        return api.client.request(method, route.format(**ids), json=json, headers=headers)

    return send


def bad_query(method: str, route: str, **params: str) -> Send:
    """``route`` with query parameters, ``{bad}`` in them replaced by the bad character."""

    def send(api: Api, res: Resources, bad: str, headers: dict[str, str]) -> Any:
        filled = {name: value.format(bad=bad) for name, value in params.items()}
        url = route.format(**vars(res))
        return api.client.request(method, url, params=filled, headers=headers)

    return send


def bad_body(method: str, route: str, **body: str) -> Send:
    """``route`` with a JSON body; ``{bad}`` and resource names in its strings are filled in."""

    def send(api: Api, res: Resources, bad: str, headers: dict[str, str]) -> Any:
        filled = {name: value.format(bad=bad, **vars(res)) for name, value in body.items()}
        url = route.format(**vars(res))
        return api.client.request(method, url, json=filled, headers=headers)

    return send


def new_user(**fields: str) -> Send:
    valid = {"username": "newuser", "email": "new@example.com", "password": "long-enough"}
    return bad_body("POST", "/users", **(valid | fields))


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    send: Send


NOT_FOUND = [
    Case("GET /messages/{id}", "alice", bad_id("GET", "/messages/{message}")),
    Case("PATCH /messages/{id}", "alice", bad_id("PATCH", "/messages/{message}", {"content": "x"})),
    Case("DELETE /messages/{id}", "alice", bad_id("DELETE", "/messages/{message}")),
    Case("GET /users/{id}", "admin", bad_id("GET", "/users/{user}")),
    Case("PATCH /users/{id}", "admin", bad_id("PATCH", "/users/{user}", {"email": "a@b.org"})),
    Case("GET /projects/{id}", "alice", bad_id("GET", "/projects/{project}")),
    Case(
        "POST /projects/{id}/status",
        "admin",
        bad_id("POST", "/projects/{project}/status", {"status": "on_hold"}),
    ),
    Case("GET /tickets/{id}", "alice", bad_id("GET", "/tickets/{ticket}")),
    Case(
        "POST /tickets/{id}/assign",
        "alice",
        bad_id("POST", "/tickets/{ticket}/assign", {"assigned_to": "user_" + "0" * 32}),
    ),
    Case(
        "POST /tickets/{id}/status",
        "alice",
        bad_id("POST", "/tickets/{ticket}/status", {"status": "in_progress"}),
    ),
    Case("GET /audit/{id}/history", "auditor", bad_id("GET", "/audit/{message}/history")),
    Case("GET /audit/{id}/state", "auditor", bad_id("GET", "/audit/{message}/state")),
]

_AUDIT_FILTERS = {
    "user_id": "user_{bad}x",
    "aggregate_type": "Message{bad}",
    "event_type": "MessageCreated{bad}",
    "since": "2026-01-01T00:00:00Z{bad}",
    "until": "2026-01-01T00:00:00Z{bad}",
}

INVALID = [
    Case("GET /messages?project_id", "alice", bad_query("GET", "/messages", project_id="p{bad}")),
    Case("GET /messages?after", "alice", bad_query("GET", "/messages", after="1{bad}")),
    Case("GET /messages?limit", "alice", bad_query("GET", "/messages", limit="5{bad}")),
    *(
        Case(
            f"GET /audit/{route}?{name}",
            "auditor",
            bad_query("GET", f"/audit/{route}", **{name: value}),
        )
        for route in ("events", "export")
        for name, value in _AUDIT_FILTERS.items()
    ),
    Case("GET /audit/events?after", "auditor", bad_query("GET", "/audit/events", after="0{bad}")),
    Case(
        "GET /audit/export?format", "auditor", bad_query("GET", "/audit/export", format="csv{bad}")
    ),
    Case(
        "GET /audit/{id}/state?at",
        "auditor",
        bad_query("GET", "/audit/{message}/state", at="2026-01-01T00:00:00Z{bad}"),
    ),
    Case(
        "GET /audit/{id}/state?version",
        "auditor",
        bad_query("GET", "/audit/{message}/state", version="1{bad}"),
    ),
    Case(
        "DELETE /messages/{id}?expected_version",
        "alice",
        bad_query("DELETE", "/messages/{message}", expected_version="1{bad}"),
    ),
    Case("POST /users username", "admin", new_user(username="new{bad}user")),
    Case("POST /users email", "admin", new_user(email="new{bad}@example.com")),
    Case("POST /users password", "admin", new_user(password="long{bad}enough")),
    Case("POST /users role", "admin", new_user(role="admin{bad}")),
    Case(
        "PATCH /users/{id} username",
        "alice",
        bad_body("PATCH", "/users/{user}", username="alice{bad}"),
    ),
    Case(
        "PATCH /users/{id} email",
        "alice",
        bad_body("PATCH", "/users/{user}", email="a{bad}@example.com"),
    ),
    Case(
        "PATCH /users/{id} password",
        "alice",
        bad_body("PATCH", "/users/{user}", password="new-password{bad}"),
    ),
    *(
        Case(f"POST {route} {field}", "alice", bad_body("POST", route, **body))
        for route in ("/messages", "/messages/eventsourced")
        for field, body in (
            ("content", {"content": "hello{bad}world"}),
            ("project_id", {"content": "hello", "project_id": "{project}{bad}"}),
            ("message_type", {"content": "hello", "message_type": "text{bad}"}),
        )
    ),
    Case(
        "PATCH /messages/{id} content",
        "alice",
        bad_body("PATCH", "/messages/{message}", content="edited{bad}"),
    ),
    Case("POST /projects name", "admin", bad_body("POST", "/projects", name="Launch{bad}")),
    Case(
        "POST /projects description",
        "admin",
        bad_body("POST", "/projects", name="Launch", description="soon{bad}"),
    ),
    Case(
        "POST /projects/{id}/status status",
        "admin",
        bad_body("POST", "/projects/{project}/status", status="on_hold{bad}"),
    ),
    Case(
        "POST /tickets title",
        "alice",
        bad_body("POST", "/tickets", title="Bug{bad}", project_id="{project}"),
    ),
    Case(
        "POST /tickets description",
        "alice",
        bad_body("POST", "/tickets", title="Bug", project_id="{project}", description="x{bad}"),
    ),
    Case(
        "POST /tickets project_id",
        "alice",
        bad_body("POST", "/tickets", title="Bug", project_id="{project}{bad}"),
    ),
    Case(
        "POST /tickets priority",
        "alice",
        bad_body("POST", "/tickets", title="Bug", project_id="{project}", priority="high{bad}"),
    ),
    Case(
        "POST /tickets/{id}/assign assigned_to",
        "alice",
        bad_body("POST", "/tickets/{ticket}/assign", assigned_to="{user}{bad}"),
    ),
    Case(
        "POST /tickets/{id}/status status",
        "alice",
        bad_body("POST", "/tickets/{ticket}/status", status="closed{bad}"),
    ),
]

LOGIN = {"username": ("alice{bad}", "alice-password"), "password": ("alice", "alice-password{bad}")}

TABLE = [(case, 404) for case in NOT_FOUND] + [(case, 422) for case in INVALID]
"""Every parameter, and the status a bad character in it gets (tried with each of ``BAD``)."""


@pytest.fixture
def resources(api: Api) -> Resources:
    project = api.project()["id"]
    ticket = api.client.post(
        "/tickets", json={"title": "T", "project_id": project}, headers=api.as_("alice")
    )
    assert ticket.status_code == 201, ticket.text
    return Resources(api.post_message()["id"], project, ticket.json()["id"], api.ids["alice"])


def stored(api: Api) -> tuple[int, list[tuple[Any, ...]]]:
    """Everything a request could write: the events, and the credentials kept beside them."""
    with api.services.chat.store.read_session() as session:
        credentials = session.fetchall(
            f"SELECT user_id, username, password_hash FROM {CREDENTIALS} ORDER BY user_id"
        )
    return api.events(), credentials


@pytest.mark.parametrize(("case", "status"), TABLE, ids=[case.name for case, _ in TABLE])
def test_a_bad_character_in_any_parameter_gets_a_problem_and_stores_nothing(
    api: Api, resources: Resources, case: Case, status: int
) -> None:
    for name, bad in BAD.items():
        before = stored(api)
        response = case.send(api, resources, bad, api.as_(case.who))
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        assert_problem(response, status)
        assert stored(api) == before, f"{name} was stored"


@pytest.mark.parametrize("field", LOGIN)
def test_a_bad_character_in_the_login_form_is_answered_like_a_wrong_username(
    api: Api, field: str
) -> None:
    wrong = api.client.post("/auth/token", data={"username": "nobody", "password": "whatever!"})
    for bad in BAD.values():
        username, password = (value.format(bad=bad) for value in LOGIN[field])
        before = stored(api)
        answer = api.client.post("/auth/token", data={"username": username, "password": password})
        body = assert_problem(answer, wrong.status_code)
        assert body["type"] == wrong.json()["type"] and "access_token" not in body
        assert stored(api) == before


def test_a_refused_user_update_leaves_the_user_as_it_was_and_able_to_log_in(api: Api) -> None:
    for bad in BAD.values():
        for body in ({"username": f"al{bad}ice"}, {"email": f"a{bad}@example.com"}):
            refused = api.client.patch(
                f"/users/{api.ids['alice']}", json=body, headers=api.as_("alice")
            )
            assert_problem(refused, 422)
    me = api.client.get("/users/me", headers=api.as_("alice")).json()
    assert (me["username"], me["email"]) == ("alice", "alice@example.com")
    login = api.client.post("/auth/token", data={"username": "alice", "password": "alice-password"})
    assert login.status_code == 200
