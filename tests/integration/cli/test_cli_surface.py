"""``chronicle --version``, ``users list``, ``--store-url`` on ``users create``, ``--json`` on every
command that reports, and output that is not wrapped when piped."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chronicle import __version__
from chronicle.bootstrap import open_store
from chronicle.chat.domain import Message
from chronicle.chat.wiring import open_chat
from chronicle.cli import app
from chronicle.config import get_settings
from tests.integration.cli.subprocesses import run_chronicle, store_env

runner = CliRunner()
SECRET = "cli-test-secret-key-of-at-least-32-chars"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """EVENT_STORE_URL points at a store the tests must not touch: only --store-url is used."""
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'not-this-one.db'}"
    monkeypatch.setenv("EVENT_STORE_URL", url)
    monkeypatch.setenv("EVENT_STORE_TYPE", "sqlite")
    monkeypatch.setenv("CHRONICLE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def users_create(store_url: str, name: str, role: str, *extra: str):
    return runner.invoke(
        app,
        [
            "users",
            "create",
            name,
            "--role",
            role,
            "--password-stdin",
            "--store-url",
            store_url,
            *extra,
        ],
        input=f"{name}-password\n",
    )


def test_version_prints_the_package_version_and_exits_0() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"chronicle {__version__}\n"


def test_users_create_writes_to_the_store_named_by_store_url(
    elsewhere: str, store_url: str
) -> None:
    result = users_create(store_url, "carol", "auditor", "--json")
    assert result.exit_code == 0, result.output
    created = orjson.loads(result.stdout)
    assert created["username"] == "carol" and created["role"] == "auditor"
    store = open_store(store_url)
    try:
        [event] = store.get_events_for_aggregate(created["id"])
        assert event.event_type == "UserCreated"
        assert event.user_id == "system:cli"  # the operator's command, not the new user itself
    finally:
        store.close()
    assert not Path(elsewhere.removeprefix("sqlite:///")).exists()


def test_users_list_shows_id_username_and_role_as_a_table_and_as_json(
    elsewhere: str, store_url: str
) -> None:
    for name, role in (("dave", "member"), ("carol", "admin")):
        assert users_create(store_url, name, role).exit_code == 0
    result = runner.invoke(app, ["users", "list", "--store-url", store_url, "--json"])
    assert result.exit_code == 0, result.output
    users = orjson.loads(result.stdout)
    assert [(u["username"], u["role"]) for u in users] == [("carol", "admin"), ("dave", "member")]
    assert all(u["id"].startswith("user_") for u in users)

    table = runner.invoke(app, ["users", "list", "--store-url", store_url])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    for user in users:
        assert any(
            user["id"] in line and user["username"] in line and user["role"] in line
            for line in lines
        ), table.stdout


def test_every_command_that_reports_answers_json(elsewhere: str, store_url: str) -> None:
    assert users_create(store_url, "carol", "admin").exit_code == 0
    user_id = orjson.loads(
        runner.invoke(app, ["users", "list", "--json", "--store-url", store_url]).stdout
    )[0]["id"]
    for command in (
        ["migrate"],
        ["stats"],
        ["projections"],
        ["seal"],
        ["verify"],
        ["history", user_id],
        ["state", user_id],
        ["users", "list"],
        ["replay"],
        ["replay", "--retry-parked"],
    ):
        result = runner.invoke(app, [*command, "--json", "--store-url", store_url])
        assert result.exit_code == 0, (command, result.output)
        assert isinstance(orjson.loads(result.stdout), dict | list), command


def test_piped_output_keeps_a_long_value_on_one_line(tmp_path) -> None:
    store_url = f"sqlite:///{tmp_path / 'chronicle.db'}"
    content = " ".join(f"word{n}" for n in range(30))  # 200 characters, far wider than 80
    chat = open_chat(store_url)
    try:
        message = Message.create(content, "alice")
        chat.repository(Message).save(message)
    finally:
        chat.close()
    env = store_env(store_url, COLUMNS="60")  # even a narrow terminal width is not imposed
    for args in (["state", message.id], ["history", message.id]):
        result = run_chronicle(*args, env=env)
        assert result.returncode == 0, result.stderr
        shown = content if args[0] == "state" else content[:59]
        assert any(shown in line for line in result.stdout.splitlines()), result.stdout
