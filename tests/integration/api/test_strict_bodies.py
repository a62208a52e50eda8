"""Request bodies are strict JSON: one media type, every key once, numbers as numbers.

Each refused body stores nothing, and the answer is the same on both backends.
"""

from __future__ import annotations

import pytest

from .conftest import Api, assert_problem


def post_message(api: Api, body: bytes, content_type: str | None = "application/json"):
    headers = {**api.as_("alice")}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post("/messages", content=body, headers=headers)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_json_body_sent_as_another_media_type_is_415(api: Api, content_type: str | None) -> None:
    before = api.events()
    response = post_message(api, b'{"content": "hello"}', content_type)
    problem = assert_problem(response, 415)
    assert problem["type"].endswith(":unsupported-media-type")
    assert api.events() == before


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"content": "first", "content": "second"}', "appears twice"),
        (b'{"content": "x", "meta": {"a": 1, "a": 2}}', "appears twice"),
        (b"content=hello", "not JSON"),
        (b'{"content": "x"', "not JSON"),
        (b'{"content": "x", "expected_version": NaN}', "NaN is not JSON"),
        (b'{"content": "\xff"}', "not UTF-8"),
    ],
)
def test_a_body_that_is_not_strict_json_is_400(api: Api, body: bytes, named: str) -> None:
    before = api.events()
    problem = assert_problem(post_message(api, body), 400)
    assert named in problem["detail"] and problem["type"].endswith(":malformed-json")
    assert api.events() == before


def test_a_boolean_is_not_a_version(api: Api) -> None:
    message = api.post_message(content="v1")
    before = api.events()
    response = api.client.patch(
        f"/messages/{message['id']}",
        json={"content": "edited", "expected_version": True},
        headers=api.as_("alice"),
    )
    assert_problem(response, 422)
    assert api.events() == before


def test_json_with_a_charset_and_the_log_in_form_are_accepted(api: Api) -> None:
    response = post_message(api, b'{"content": "hello"}', "application/json; charset=utf-8")
    assert response.status_code == 201, response.text
    login = api.client.post("/auth/token", data={"username": "bob", "password": "bob-password"})
    assert login.status_code == 200
