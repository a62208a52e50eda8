"""The write routes hop to a worker thread once per request, on both backends.

A hop costs more than most of what a write does in Python (issue 15's profile: six of them were
a third of a request's time). With the caller cached, a write makes exactly one: its store work;
the dependencies and the answer's validation run on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest

from .conftest import Api


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of each function run in a worker thread from here on."""
    made: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    yield made


def _one_request_hops(api: Api, hops: list[str], request: Callable[[], Any]) -> list[str]:
    hops.clear()
    response = request()
    assert response.status_code in (200, 201), response.text
    return list(hops)


def test_posting_a_message_hops_once(api: Api, hops: list[str]) -> None:
    api.post_message()  # the caller is now cached

    made = _one_request_hops(
        api,
        hops,
        lambda: api.client.post("/messages", json={"content": "one hop"}, headers=api.as_("alice")),
    )

    assert len(made) == 1, made


def test_editing_and_deleting_a_message_hop_once_each(api: Api, hops: list[str]) -> None:
    message = api.post_message()
    path = f"/messages/{message['id']}"

    edited = _one_request_hops(
        api,
        hops,
        lambda: api.client.patch(path, json={"content": "edited"}, headers=api.as_("alice")),
    )
    deleted = _one_request_hops(
        api, hops, lambda: api.client.delete(path, headers=api.as_("alice"))
    )

    assert len(edited) == 1, edited
    assert len(deleted) == 1, deleted


def test_the_ticket_routes_hop_once_each(api: Api, hops: list[str]) -> None:
    project = api.project()
    alice = api.as_("alice")
    api.client.get("/users/me", headers=alice)  # the caller is now cached

    created: dict[str, Any] = {}

    def create() -> Any:
        response = api.client.post(
            "/tickets", json={"title": "Fix it", "project_id": project["id"]}, headers=alice
        )
        created.update(response.json())
        return response

    made = [_one_request_hops(api, hops, create)]
    ticket = f"/tickets/{created['id']}"
    made.append(
        _one_request_hops(
            api,
            hops,
            lambda: api.client.post(
                f"{ticket}/assign", json={"assigned_to": api.ids["bob"]}, headers=alice
            ),
        )
    )
    made.append(
        _one_request_hops(
            api,
            hops,
            lambda: api.client.post(
                f"{ticket}/status", json={"status": "in_progress"}, headers=alice
            ),
        )
    )

    assert [len(each) for each in made] == [1, 1, 1], made
