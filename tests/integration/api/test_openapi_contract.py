"""The OpenAPI document is a contract a client generator can use, and the service keeps it.

Every operation documents its success body (JSON with a schema, or the export's NDJSON and CSV
as such); every error it documents is a problem (``application/problem+json``, the ``Problem``
schema), a 422 included, and a real 422 is valid against that schema. A resource answers the
same fields on every route (``POST``, ``PATCH``, ``GET``), each valid against the schema the
route documents. ``/docs`` and ``/redoc`` load nothing but the service's own files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from chronicle.chat.api.responses import Problem

from .conftest import Api, assert_problem, settings_for, start

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
NON_JSON_SUCCESS = {
    ("get", "/audit/export"): {"application/x-ndjson", "text/csv"},
    ("get", "/metrics"): {"text/plain", "application/openmetrics-text"},
}
"""The operations whose success is not JSON, and the media types they document."""
OWN_SHAPE_ERRORS = {("get", "/health/events", "503")}
"""Errors documented with a body of their own: the health report says what is unreachable."""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("openapi")
    yield from start(settings_for(f"sqlite:///{folder / 'chronicle.db'}"))


@pytest.fixture(scope="module")
def document(service: Api) -> dict[str, Any]:
    response = service.client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A validator of ``schema``, its ``$ref``s resolved in the document's components."""
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def documented_schema(
    document: dict[str, Any], method: str, template: str, status: int
) -> dict[str, Any]:
    response = document["paths"][template][method]["responses"][str(status)]
    media = PROBLEM if status >= 400 else "application/json"
    return dict(response["content"][media]["schema"])


def assert_documented(
    document: dict[str, Any], method: str, template: str, response: Any
) -> dict[str, Any]:
    """The response's body is valid against the schema documented for its status."""
    schema = documented_schema(document, method, template, response.status_code)
    body = response.json()
    validator(document, schema).validate(body)
    return dict(body)


# -- the document ---------------------------------------------------------------------------------


def test_every_operation_documents_its_success_body(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path} documents no success"
        for status, response in successes.items():
            content = response.get("content", {})
            if (method, path) in NON_JSON_SUCCESS:
                media = {name.split(";")[0] for name in content}
                assert media == NON_JSON_SUCCESS[(method, path)], (method, path, media)
                assert "application/json" not in content
                continue
            schema = content.get("application/json", {}).get("schema")
            assert schema and schema != {}, f"{method} {path} {status} has no body schema"


def test_the_exports_are_documented_as_ndjson_and_csv(document: dict[str, Any]) -> None:
    content = document["paths"]["/audit/export"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/x-ndjson", "text/csv"}


def test_every_documented_error_is_a_problem(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert errors, f"{method} {path} documents no error"
        for status, response in errors.items():
            if (method, path, status) in OWN_SHAPE_ERRORS:
                continue
            assert response.get("content") == {PROBLEM: {"schema": PROBLEM_REF}}, (
                method,
                path,
                status,
            )


def test_the_422_is_documented_as_the_problem_the_service_sends(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "errors" in schemas["Problem"]["properties"]
    with_422 = [op for _, _, op in operations(document) if "422" in op["responses"]]
    assert len(with_422) > 10
    for operation in with_422:
        assert operation["responses"]["422"]["content"] == {PROBLEM: {"schema": PROBLEM_REF}}


def test_routes_that_take_input_document_the_errors_of_bad_input(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        if "requestBody" in operation and path != "/auth/token":
            assert {"400", "413", "415", "422"} <= set(operation["responses"]), (method, path)
        if operation.get("security") or path.startswith("/audit") or path.startswith("/users"):
            assert "401" in operation["responses"] or path == "/auth/token", (method, path)


# -- the service keeps it -------------------------------------------------------------------------


def test_a_real_422_is_valid_against_the_documented_schema(
    service: Api, document: dict[str, Any]
) -> None:
    response = service.client.post("/messages", json={"content": 42}, headers=service.as_("alice"))
    body = assert_problem(response, 422)
    assert_documented(document, "post", "/messages", response)
    problem = Problem.model_validate(body)
    assert problem.errors and problem.errors[0].loc[:2] == ["body", "content"]


def test_a_real_404_and_401_are_valid_against_the_documented_schema(
    service: Api, document: dict[str, Any]
) -> None:
    missing = service.client.get(f"/messages/message_{'0' * 32}", headers=service.as_("alice"))
    assert_problem(missing, 404)
    assert_documented(document, "get", "/messages/{message_id}", missing)
    anonymous = service.client.get("/users/me")
    assert_problem(anonymous, 401)
    assert_documented(document, "get", "/users/me", anonymous)


def test_a_conflict_is_valid_against_the_documented_schema(
    service: Api, document: dict[str, Any]
) -> None:
    message = service.post_message(content="first")
    stale = service.client.patch(
        f"/messages/{message['id']}",
        json={"content": "second", "expected_version": 7},
        headers=service.as_("alice"),
    )
    body = assert_problem(stale, 409)
    assert_documented(document, "patch", "/messages/{message_id}", stale)
    assert body["expected_version"] == 7 and body["actual_version"] == 1


def test_list_and_audit_answers_are_valid_against_their_schemas(
    service: Api, document: dict[str, Any]
) -> None:
    message = service.post_message(content="listed")
    auditor = service.as_("auditor")
    calls = [
        ("/messages", "/messages", service.as_("alice")),
        (f"/audit/{message['id']}/history", "/audit/{aggregate_id}/history", auditor),
        (f"/audit/{message['id']}/state", "/audit/{aggregate_id}/state", auditor),
        ("/audit/events", "/audit/events", auditor),
        ("/audit/verify", "/audit/verify", auditor),
        ("/audit/verify/key", "/audit/verify/key", auditor),
        ("/users/me", "/users/me", auditor),
        ("/health/events", "/health/events", {}),
    ]
    for url, template, headers in calls:
        response = service.client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        assert_documented(document, "get", template, response)
    token = service.client.post("/auth/token", data={"username": "bob", "password": "bob-password"})
    assert_documented(document, "post", "/auth/token", token)


def test_the_exports_answer_the_documented_content_types(service: Api) -> None:
    service.post_message(content="exported")
    auditor = service.as_("auditor")
    ndjson = service.client.get("/audit/export", headers=auditor)
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    csv = service.client.get("/audit/export?format=csv", headers=auditor)
    assert csv.headers["content-type"].startswith("text/csv")


# -- one shape per resource -----------------------------------------------------------------------


def test_a_resource_answers_the_same_fields_on_every_route(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    alice, admin = api.as_("alice"), api.as_("admin")

    def call(method: str, template: str, url: str, headers: Any, **kwargs: Any) -> dict[str, Any]:
        response = api.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code in (200, 201), (method, url, response.text)
        return assert_documented(document, method, template, response)

    message = [call("post", "/messages", "/messages", alice, json={"content": "hi"})]
    url = f"/messages/{message[0]['id']}"
    message.append(call("patch", "/messages/{message_id}", url, alice, json={"content": "ho"}))
    message.append(call("get", "/messages/{message_id}", url, alice))
    message.append(call("get", "/messages", "/messages", alice)["items"][-1])
    message.append(call("delete", "/messages/{message_id}", url, alice))
    assert [m["edit_count"] for m in message] == [0, 1, 1, 1, 1]
    assert message[-1]["is_deleted"] is True and message[-1]["version"] == 3
    assert message[1]["author_id"] == api.ids["alice"]

    user = [call("post", "/users", "/users", admin, json=_new_user())]
    url = f"/users/{user[0]['id']}"
    user.append(call("patch", "/users/{user_id}", url, admin, json={"role": "auditor"}))
    user.append(call("get", "/users/{user_id}", url, admin))

    project = [call("post", "/projects", "/projects", admin, json={"name": "Launch"})]
    url = f"/projects/{project[0]['id']}"
    project.append(
        call("post", "/projects/{project_id}/status", f"{url}/status", admin,
             json={"status": "on_hold"})
    )  # fmt: skip
    project.append(call("get", "/projects/{project_id}", url, admin))

    ticket = [
        call("post", "/tickets", "/tickets", alice,
             json={"title": "Fix it", "project_id": project[0]["id"]})
    ]  # fmt: skip
    url = f"/tickets/{ticket[0]['id']}"
    ticket.append(
        call("post", "/tickets/{ticket_id}/assign", f"{url}/assign", alice,
             json={"assigned_to": api.ids["bob"]})
    )  # fmt: skip
    ticket.append(
        call("post", "/tickets/{ticket_id}/status", f"{url}/status", alice,
             json={"status": "in_progress"})
    )  # fmt: skip
    ticket.append(call("get", "/tickets/{ticket_id}", url, alice))

    for name, answers in (
        ("message", message),
        ("user", user),
        ("project", project),
        ("ticket", ticket),
    ):
        shapes = [sorted(answer) for answer in answers]
        assert all(shape == shapes[0] for shape in shapes), (name, shapes)
        assert {"id", "version", "created_at", "updated_at"} <= set(shapes[0]), name
        created = answers[0]["created_at"]
        assert all(answer["created_at"] == created for answer in answers), name
        assert answers[-1]["updated_at"] >= answers[0]["updated_at"], name


@pytest.mark.parametrize(
    "overrides",
    [{"projection_modes": "messages=async"}, {"enabled": False}],
    ids=["messages-read-model-async", "event-sourcing-disabled"],
)
def test_a_write_answers_the_full_shape_in_every_mode(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    """With the messages read model async, the row is not there yet when the write answers: the
    answer is made up from the write's own events, in the same shape; with event sourcing off
    the row is all there is (and ``edit_count`` comes from it too)."""
    for api in start(settings_for(f"sqlite:///{tmp_path / 'chronicle.db'}", **overrides)):
        document = api.client.get("/openapi.json").json()
        posted = api.client.post("/messages", json={"content": "hi"}, headers=api.as_("alice"))
        assert posted.status_code == 201, posted.text
        body = assert_documented(document, "post", "/messages", posted)
        assert body["author_id"] == api.ids["alice"] and body["edit_count"] == 0
        assert body["created_at"] == body["updated_at"] and body["version"] == 1
        if overrides.get("enabled") is False:
            url = f"/messages/{body['id']}"
            edited = api.client.patch(url, json={"content": "ho"}, headers=api.as_("alice"))
            assert edited.status_code == 200, edited.text
            again = assert_documented(document, "patch", "/messages/{message_id}", edited)
            assert again["edit_count"] == 1 and again["version"] == 2
            assert sorted(again) == sorted(body)


def _new_user() -> dict[str, str]:
    return {"username": "carol", "email": "carol@example.com", "password": "carol-password"}


# -- the documentation pages ----------------------------------------------------------------------

_ASSET = re.compile(
    r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']|spec-url=["']([^"']+)["']"""
)


@pytest.mark.parametrize(
    ("page", "types"),
    [
        ("/docs", {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}),
        ("/redoc", {".js": "text/javascript", ".png": "image/png"}),
    ],
)
def test_the_documentation_pages_load_only_the_services_own_files(
    service: Api, page: str, types: dict[str, str]
) -> None:
    response = service.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    urls = {next(group for group in match if group) for match in _ASSET.findall(html)}
    assert "/openapi.json" in urls
    assert not re.search(r"https?://", html.replace("http://www.w3.org", "")), html
    assets = urls - {"/openapi.json"}
    suffixes = {Path(url).suffix for url in assets}
    assert suffixes == set(types), assets
    for url in assets:
        assert url.startswith("/"), url
        served = service.client.get(url)
        assert served.status_code == 200, url
        assert served.headers["content-type"].startswith(types[Path(url).suffix]), url
        assert len(served.content) > 1000, url


def test_a_creation_answers_exactly_what_reading_it_back_answers(api: Api) -> None:
    """A creating write answers from the new aggregate and its event, without reading the row
    back: the answer must still be the row a GET then reads, field for field."""
    alice, admin = api.as_("alice"), api.as_("admin")
    project = api.client.post(
        "/projects", json={"name": "Launch", "description": "the d-day"}, headers=admin
    )
    created = {
        "messages": api.client.post(
            "/messages",
            json={"content": "hi @bob, see @carol", "project_id": project.json()["id"]},
            headers=alice,
        ),
        "projects": project,
        "tickets": api.client.post(
            "/tickets",
            json={
                "title": "Fix it",
                "description": "now",
                "project_id": project.json()["id"],
                "priority": "high",
            },
            headers=alice,
        ),
        "users": api.client.post("/users", json=_new_user(), headers=admin),
    }
    for collection, posted in created.items():
        assert posted.status_code == 201, posted.text
        read = api.client.get(f"/{collection}/{posted.json()['id']}", headers=admin)
        assert read.status_code == 200, read.text
        assert posted.json() == read.json(), collection
