"""A chat service built by the app factory on a fresh store of each backend, with four users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chronicle.chat.api import create_app
from chronicle.chat.api.dependencies import Services
from chronicle.chat.service.accounts import create_user
from chronicle.config import EventConfig, load_settings

USERS = {"admin": "admin", "auditor": "auditor", "alice": "member", "bob": "member"}


def settings_for(store_url: str, **overrides: Any) -> EventConfig:
    return load_settings(
        store_url=store_url,
        store_type="sqlite" if store_url.startswith("sqlite") else "postgresql",
        secret_key="test-secret-key-of-at-least-32-characters",
        **overrides,
    )


@dataclass
class Api:
    """The client, each user's id and auth header, and the running services."""

    client: TestClient
    services: Services
    ids: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_(self, username: str) -> dict[str, str]:
        return self.headers[username]

    def events(self) -> int:
        return self.services.chat.store.get_event_count()

    def post_message(self, username: str = "alice", content: str = "hello @bob") -> dict[str, Any]:
        response = self.client.post(
            "/messages", json={"content": content}, headers=self.as_(username)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def project(self, name: str = "Launch") -> dict[str, Any]:
        response = self.client.post(
            "/projects", json={"name": name, "description": "d"}, headers=self.as_("admin")
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


def start(settings: EventConfig) -> Iterator[Api]:
    app = create_app(settings)
    with TestClient(app) as client:
        services: Services = app.state.services
        api = Api(client, services)
        for username, role in USERS.items():
            user = create_user(
                services.writer,
                services.credentials,
                username=username,
                email=f"{username}@example.com",
                role=role,
                password=f"{username}-password",
                created_by="system:tests",
            )
            api.ids[username] = user.aggregate.id
            token = client.post(
                "/auth/token", data={"username": username, "password": f"{username}-password"}
            ).json()["access_token"]
            api.headers[username] = {"Authorization": f"Bearer {token}"}
        yield api


@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    yield from start(settings_for(store_url))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body
