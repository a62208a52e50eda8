"""Who may call which route: one table of every route of the app against every kind of caller.

Each case sends a well-formed request, acting on resources of its own (the message it edits is
new, and posted by its author), and expects the status the access rule gives: 401 for a caller
without a token where a login is needed, 403 where the role (or the ownership) does not allow
it, and the route's own success status otherwise. Every error is an RFC 9457 problem.

A route the app serves but the table does not list fails the suite: no route is added without
its access rule. A second table holds every ``/audit`` route to a clear refusal when
EVENT_SOURCING_ENABLED=false: never an empty trail that looks like a clean one, never a 5xx.

The services are started once per backend and module (starting them hashes four passwords,
about three seconds; the table has some three hundred cases); the cases share nothing else.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest

from chronicle.integrity import Sealer

from ...conftest import BACKENDS
from .conftest import Api, assert_problem, settings_for, start

CALLERS = ("anonymous", "alice", "bob", "auditor", "admin")
"""No token; alice and bob (members: alice authors what a case acts on); an auditor; an admin."""

PUBLIC_PAGES = {
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/docs/assets/swagger-ui-bundle.js",
    "/docs/assets/swagger-ui.css",
    "/docs/assets/redoc.standalone.js",
    "/docs/assets/favicon.png",
    "/openapi.json",
    "/ui",
    "/ui/audit.js",
    "/ui/proof.js",
    "/ui/audit.css",
}
"""Documentation and the audit page's static files: public, and outside the table."""


# -- the services, once per backend -------------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def _services(request: pytest.FixtureRequest, folder: Path, **overrides: object) -> Iterator[Api]:
    """The chat service with the four users on a fresh store of the module's backend."""
    if request.param == "sqlite":
        yield from start(settings_for(f"sqlite:///{folder / 'chronicle.db'}", **overrides))
        return
    base = str(request.getfixturevalue("postgres_url"))
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield from start(settings_for(_with_search_path(base, schema), **overrides))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=BACKENDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from _services(request, tmp_path_factory.mktemp("access"))


@pytest.fixture(scope="module", params=BACKENDS)
def disabled_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from _services(request, tmp_path_factory.mktemp("disabled"), enabled=False)


def headers_of(api: Api, caller: str) -> dict[str, str]:
    return {} if caller == "anonymous" else api.as_(caller)


def served_routes(api: Api) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, included routers flattened."""
    found: set[tuple[str, str]] = set()
    for route in api.client.app.routes:  # type: ignore[attr-defined]
        # FastAPI 0.16x keeps an included router as one route; older versions flatten it.
        contexts = getattr(route, "effective_route_contexts", None)
        for each in contexts() if contexts else [route]:
            found |= {(method, each.path) for method in (each.methods or ()) if method != "HEAD"}
    return found


# -- fresh resources, one set per case ----------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def a_message_by_alice(api: Api) -> str:
    return str(api.post_message("alice", content=unique("a message "))["id"])


def a_project(api: Api) -> str:
    return str(api.project(unique("Project "))["id"])


def a_ticket(api: Api) -> str:
    response = api.client.post(
        "/tickets",
        json={"title": unique("Ticket "), "project_id": a_project(api), "priority": "high"},
        headers=api.as_("alice"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# -- the table ----------------------------------------------------------------------------------

Send = Callable[[Api, dict[str, str]], httpx.Response]
"""Sends the route a well-formed request with these headers, on resources made for it."""


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def logged_in(status: int) -> dict[str, int]:
    return {**everyone(status), "anonymous": 401}


def writers(status: int) -> dict[str, int]:
    """Members and admins; an auditor writes nothing."""
    return {**logged_in(status), "auditor": 403}


def auditors(status: int) -> dict[str, int]:
    return {**logged_in(403), "auditor": status, "admin": status}


def admins(status: int) -> dict[str, int]:
    return {**logged_in(403), "admin": status}


def alice_and_admins(status: int) -> dict[str, int]:
    """The resource is alice's (she authored it, or she is it): alice herself, or an admin."""
    return {**logged_in(403), "alice": status, "admin": status}


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    send: Send
    expected: dict[str, int]
    known: dict[str, str] = field(default_factory=dict)
    """Callers for whom the code breaks the rule, with why: strict xfail cases."""
    on: str = ""
    """Which variant of the request, when a route has more than one row."""


def _get(path: str | Callable[[Api], str], **params: str) -> Send:
    def send(api: Api, headers: dict[str, str]) -> httpx.Response:
        url = path(api) if callable(path) else path
        return api.client.get(url, params=params, headers=headers)

    return send


def _json(method: str, path: str | Callable[[Api], str], body: Callable[[Api], object]) -> Send:
    def send(api: Api, headers: dict[str, str]) -> httpx.Response:
        url = path(api) if callable(path) else path
        return api.client.request(method, url, json=body(api), headers=headers)

    return send


def log_in(api: Api, headers: dict[str, str]) -> httpx.Response:
    form = {"username": "alice", "password": "alice-password"}
    return api.client.post("/auth/token", data=form, headers=headers)


def a_new_user(api: Api) -> dict[str, str]:
    name = unique("user_")
    return {
        "username": name,
        "email": f"{name}@example.com",
        "role": "member",
        "password": f"{name}-password",
    }


def a_new_email(api: Api) -> dict[str, str]:
    return {"email": f"{unique('mail')}@example.com"}


def their_own_email(api: Api, headers: dict[str, str]) -> httpx.Response:
    """Each caller changes their own email (anonymously: alice's)."""
    me = next((name for name, h in api.headers.items() if h == headers), "alice")
    return api.client.patch(f"/users/{api.ids[me]}", json=a_new_email(api), headers=headers)


def delete_alices_message(api: Api, headers: dict[str, str]) -> httpx.Response:
    return api.client.delete(f"/messages/{a_message_by_alice(api)}", headers=headers)


def export_the_trail(api: Api, headers: dict[str, str]) -> httpx.Response:
    a_message_by_alice(api)
    return api.client.get("/audit/export", params={"format": "csv"}, headers=headers)


def a_project_now(api: Api, headers: dict[str, str]) -> httpx.Response:
    project_id = a_project(api)
    at = datetime.now(UTC).isoformat()
    return api.client.get(f"/audit/projects/{project_id}/at", params={"at": at}, headers=headers)


def a_sealed_event(api: Api) -> str:
    """A new event, sealed (without event sourcing there is none: an id that names nothing)."""
    store = api.services.chat.store
    events = store.get_events_for_aggregate(a_message_by_alice(api))
    if not events:
        return str(uuid.uuid4())
    deadline = time.monotonic() + 30
    while store.merkle_leaf(events[0].position) is None:  # PostgreSQL: once visible
        assert time.monotonic() < deadline, "the sealer never sealed the event"
        Sealer(store).run_once()
        time.sleep(0.01)
    return events[0].event_id


def between_two_seals(api: Api, headers: dict[str, str]) -> httpx.Response:
    a_sealed_event(api)
    a_sealed_event(api)
    latest = api.services.chat.store.latest_seal()
    params = {"from": "1", "to": str(latest.number if latest else 1)}
    return api.client.get("/audit/seals/consistency", params=params, headers=headers)


def a_hold_on_alices_message(api: Api) -> dict[str, str]:
    return {"subject_kind": "aggregate", "subject_id": a_message_by_alice(api), "reason": "a case"}


def release_a_hold(api: Api, headers: dict[str, str]) -> httpx.Response:
    placed = api.client.post("/holds", json=a_hold_on_alices_message(api), headers=api.as_("admin"))
    assert placed.status_code == 201, placed.text
    url = f"/holds/{placed.json()['hold_id']}"
    return api.client.delete(url, params={"reason": "settled"}, headers=headers)


def erase_a_new_user(api: Api, headers: dict[str, str]) -> httpx.Response:
    created = api.client.post("/users", json=a_new_user(api), headers=api.as_("admin"))
    assert created.status_code == 201, created.text
    url = f"/users/{created.json()['id']}/erasure"
    return api.client.post(url, json={"reason": "a request"}, headers=headers)


def alice(api: Api) -> str:
    return f"/users/{api.ids['alice']}"


def alices_message(api: Api) -> str:
    return f"/messages/{a_message_by_alice(api)}"


def some_content(api: Api) -> dict[str, str]:
    return {"content": unique("some content ")}


RULES = [
    Rule("POST", "/auth/token", log_in, everyone(200)),
    Rule("POST", "/users", _json("POST", "/users", a_new_user), admins(201)),
    Rule("GET", "/users/me", _get("/users/me"), logged_in(200)),
    Rule("GET", "/users/{user_id}", _get(alice), {**alice_and_admins(200), "auditor": 200}),
    Rule("PATCH", "/users/{user_id}", _json("PATCH", alice, a_new_email), alice_and_admins(200)),
    Rule("PATCH", "/users/{user_id}", their_own_email, logged_in(200), on="their own user"),
    Rule("POST", "/users/{user_id}/erasure", erase_a_new_user, admins(200)),
    Rule("POST", "/messages", _json("POST", "/messages", some_content), writers(201)),
    Rule(
        "POST",
        "/messages/eventsourced",
        _json("POST", "/messages/eventsourced", some_content),
        writers(200),
    ),
    Rule("GET", "/messages", _get("/messages", limit="5"), logged_in(200)),
    Rule("GET", "/messages/{message_id}", _get(alices_message), logged_in(200)),
    Rule(
        "PATCH",
        "/messages/{message_id}",
        _json("PATCH", alices_message, some_content),
        alice_and_admins(200),
    ),
    Rule("DELETE", "/messages/{message_id}", delete_alices_message, alice_and_admins(200)),
    Rule(
        "POST",
        "/projects",
        _json("POST", "/projects", lambda api: {"name": unique("P "), "description": "d"}),
        admins(201),
    ),
    Rule(
        "GET",
        "/projects/{project_id}",
        _get(lambda api: f"/projects/{a_project(api)}"),
        logged_in(200),
    ),
    Rule(
        "POST",
        "/projects/{project_id}/status",
        _json(
            "POST",
            lambda api: f"/projects/{a_project(api)}/status",
            lambda api: {"status": "on_hold"},
        ),
        admins(200),
    ),
    Rule(
        "POST",
        "/tickets",
        _json("POST", "/tickets", lambda api: {"title": "T", "project_id": a_project(api)}),
        writers(201),
    ),
    Rule(
        "GET", "/tickets/{ticket_id}", _get(lambda api: f"/tickets/{a_ticket(api)}"), logged_in(200)
    ),
    Rule(
        "POST",
        "/tickets/{ticket_id}/assign",
        _json(
            "POST",
            lambda api: f"/tickets/{a_ticket(api)}/assign",
            lambda api: {"assigned_to": api.ids["bob"]},
        ),
        writers(200),
    ),
    Rule(
        "POST",
        "/tickets/{ticket_id}/status",
        _json(
            "POST",
            lambda api: f"/tickets/{a_ticket(api)}/status",
            lambda api: {"status": "in_progress"},
        ),
        writers(200),
    ),
    Rule(
        "GET",
        "/audit/{aggregate_id}/history",
        _get(lambda api: f"/audit/{a_message_by_alice(api)}/history"),
        auditors(200),
    ),
    Rule(
        "GET",
        "/audit/{aggregate_id}/state",
        _get(lambda api: f"/audit/{a_message_by_alice(api)}/state", version="1"),
        auditors(200),
    ),
    Rule(
        "GET",
        "/audit/{aggregate_id}/compare",
        _get(lambda api: f"/audit/{a_message_by_alice(api)}/compare", **{"from": "1", "to": "1"}),
        auditors(200),
    ),
    Rule("GET", "/audit/projects/{project_id}/at", a_project_now, auditors(200)),
    Rule(
        "GET",
        "/audit/events",
        _get("/audit/events", aggregate_type="Message", user="alice", limit="10"),
        auditors(200),
    ),
    Rule("GET", "/audit/export", export_the_trail, auditors(200)),
    Rule("GET", "/audit/verify", _get("/audit/verify"), auditors(200)),
    Rule("GET", "/audit/verify/key", _get("/audit/verify/key"), auditors(200)),
    Rule(
        "GET",
        "/audit/events/{event_id}/proof",
        _get(lambda api: f"/audit/events/{a_sealed_event(api)}/proof"),
        auditors(200),
    ),
    Rule("GET", "/audit/seals/consistency", between_two_seals, auditors(200)),
    Rule("GET", "/holds", _get("/holds"), admins(200)),
    Rule("POST", "/holds", _json("POST", "/holds", a_hold_on_alices_message), admins(201)),
    Rule("DELETE", "/holds/{hold_id}", release_a_hold, admins(200)),
    Rule("GET", "/health/events", _get("/health/events"), everyone(200)),
    Rule("GET", "/metrics", _get("/metrics"), everyone(200)),
    Rule(
        "GET",
        "/",
        lambda api, headers: api.client.get("/", headers=headers, follow_redirects=False),
        everyone(307),
        on="the redirect to the audit page",
    ),
]


def name_of(rule: Rule, caller: str, status: int) -> str:
    on = f" on {rule.on}" if rule.on else ""
    return f"{rule.method} {rule.path}{on} by {caller} is {status}"


def cases(rules: list[Rule]) -> list[object]:
    return [
        pytest.param(
            rule,
            caller,
            status,
            id=name_of(rule, caller, status),
            marks=[pytest.mark.xfail(strict=True, reason=rule.known[caller])]
            if caller in rule.known
            else [],
        )
        for rule in rules
        for caller, status in rule.expected.items()
    ]


def answers(response: httpx.Response, status: int) -> None:
    """The response has this status, and is a problem if it is an error."""
    if status >= 400:
        assert_problem(response, status)
    else:
        assert response.status_code == status, response.text


@pytest.mark.parametrize(("rule", "caller", "status"), cases(RULES))
def test_each_caller_gets_the_status_the_access_rule_gives(
    service: Api, rule: Rule, caller: str, status: int
) -> None:
    answers(rule.send(service, headers_of(service, caller)), status)


def test_the_table_lists_every_caller_for_every_route(service: Api) -> None:
    for rule in RULES:
        assert set(rule.expected) == set(CALLERS), rule


def test_every_route_the_app_serves_has_an_access_rule_in_the_table(service: Api) -> None:
    listed = {(rule.method, rule.path) for rule in RULES}
    served = {(method, path) for method, path in served_routes(service)}
    unlisted = {(m, p) for m, p in served - listed if p not in PUBLIC_PAGES}
    assert not unlisted, f"routes without an access rule in the table: {sorted(unlisted)}"
    assert not listed - served, f"the table lists routes the app does not serve: {listed - served}"


def test_the_pages_left_out_of_the_table_are_public(service: Api) -> None:
    for path in sorted(PUBLIC_PAGES):
        assert service.client.get(path).status_code == 200, path


# -- the audit routes without event sourcing ----------------------------------------------------

AUDIT_RULES = [rule for rule in RULES if rule.path.startswith("/audit/")]
DISABLED = "urn:chronicle:problem:event-sourcing-disabled"


@pytest.mark.parametrize(
    ("rule", "caller", "status"),
    cases([Rule(rule.method, rule.path, rule.send, auditors(409)) for rule in AUDIT_RULES]),
)
def test_without_event_sourcing_every_audit_route_refuses_rather_than_shows_an_empty_trail(
    disabled_service: Api, rule: Rule, caller: str, status: int
) -> None:
    response = rule.send(disabled_service, headers_of(disabled_service, caller))
    body = assert_problem(response, status)
    if status == 409:
        assert body["type"] == DISABLED and "disabled" in body["detail"]


def test_the_disabled_table_lists_every_audit_route(disabled_service: Api) -> None:
    served = {route for route in served_routes(disabled_service) if route[1].startswith("/audit")}
    assert served == {(rule.method, rule.path) for rule in AUDIT_RULES}
