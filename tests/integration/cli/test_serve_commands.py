"""``chronicle users create`` and ``chronicle serve --help`` on every backend."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from chronicle.chat.api.app import open_services
from chronicle.cli import app
from chronicle.config import get_settings

runner = CliRunner()


@pytest.fixture
def configured(store_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EVENT_STORE_URL", store_url)
    monkeypatch.setenv(
        "EVENT_STORE_TYPE", "sqlite" if store_url.startswith("sqlite") else "postgresql"
    )
    monkeypatch.setenv("CHRONICLE_SECRET_KEY", "cli-test-secret-key-of-at-least-32-chars")
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


def users_create(*args: str, password: str = "carol-password\n"):
    return runner.invoke(app, ["users", "create", *args, "--password-stdin"], input=password)


def test_a_created_user_can_log_in_and_no_password_is_in_the_events(configured: str) -> None:
    result = users_create("carol", "--role", "auditor", "--email", "carol@example.com")
    assert result.exit_code == 0, result.output
    services = open_services(get_settings())
    try:
        assert services.credentials.authenticate("carol", "carol-password") is not None
        assert services.credentials.authenticate("carol", "wrong-password") is None
        events = services.chat.store.read_all()
        assert [e.event_type for e in events] == ["UserCreated"]
        assert "password" not in str(events[0].to_dict())
    finally:
        services.chat.close()


def test_a_taken_name_exits_1_and_bad_input_exits_2(configured: str) -> None:
    assert users_create("carol", "--role", "member").exit_code == 0
    assert users_create("carol", "--role", "member").exit_code == 1
    assert users_create("dave", "--role", "king").exit_code == 2
    assert users_create("dave", "--role", "member", password="short\n").exit_code == 2


def test_serve_explains_its_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--demo" in result.output and "--port" in result.output
