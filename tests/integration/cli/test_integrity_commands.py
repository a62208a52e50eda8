"""``chronicle verify``, ``chronicle seal`` and ``chronicle migrate --create-roles``, end to end."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from chronicle import NewEvent
from chronicle.bootstrap import open_store
from chronicle.cli import app
from chronicle.config import get_settings
from chronicle.integrity.signing import load_signing_key, new_signing_key_text, public_key_text

runner = CliRunner()


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = new_signing_key_text()
    monkeypatch.setenv("CHRONICLE_SIGNING_KEY", key)
    get_settings.cache_clear()
    yield key
    get_settings.cache_clear()


def fill(url: str) -> None:
    store = open_store(url)
    try:
        for index in range(3):
            store.append(
                f"message_{index}",
                [NewEvent("MessageCreated", {"i": index})],
                expected_version=0,
                aggregate_type="Message",
            )
        deadline = time.monotonic() + 60
        while len(store.read_all()) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        store.close()


def test_seal_then_verify_reports_intact_with_exit_code_zero(
    store_url: str, signing_key: str, tmp_path: Path
) -> None:
    fill(store_url)
    evidence = tmp_path / "seal.json"
    sealed = runner.invoke(app, ["seal", "--store-url", store_url, "--export", str(evidence)])
    assert sealed.exit_code == 0, sealed.output
    assert "signed" in sealed.output and json.loads(evidence.read_text())["number"] == 1
    checked = runner.invoke(
        app, ["verify", "--store-url", store_url, "--json", "--against", str(evidence)]
    )
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["intact"] is True and report["events_checked"] == 3
    assert report["public_key"] == public_key_text(load_signing_key(signing_key).public)


def test_verify_exits_one_naming_the_first_changed_event(store_url: str, signing_key: str) -> None:
    fill(store_url)
    store = open_store(store_url)
    try:
        [event] = store.get_events_for_aggregate("message_1")
        if store.backend == "sqlite":
            store.execute_raw("DROP TRIGGER chronicle_events_refuse_update")  # type: ignore[attr-defined]
        else:
            store.execute_raw(  # type: ignore[attr-defined]
                "ALTER TABLE chronicle_events DISABLE TRIGGER chronicle_events_refuse_change"
            )
        store.execute_raw(  # type: ignore[attr-defined]
            f"UPDATE chronicle_events SET user_id = 'mallory' WHERE position = {event.position}"
        )
    finally:
        store.close()
    result = runner.invoke(app, ["verify", "--store-url", store_url])
    assert result.exit_code == 1
    assert "content_changed" in result.output and "message_1 v1" in result.output


def test_show_key_prints_the_public_key(signing_key: str) -> None:
    result = runner.invoke(app, ["verify", "--show-key"])
    assert result.exit_code == 0
    assert result.output.strip() == public_key_text(load_signing_key(signing_key).public)


def test_a_malformed_signing_key_stops_with_exit_code_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHRONICLE_SIGNING_KEY", "not-a-key")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["verify", "--show-key"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "CHRONICLE_SIGNING_KEY" in result.output


def test_the_application_role_may_insert_and_select_events_but_not_change_them(
    postgres_schema_url: str,
) -> None:
    role = f"chronicle_app_{uuid.uuid4().hex[:8]}"
    login = f"{role}_login"
    result = runner.invoke(
        app, ["migrate", "--store-url", postgres_schema_url, "--create-roles", "--role", role]
    )
    assert result.exit_code == 0, result.output
    admin = psycopg.connect(postgres_schema_url, autocommit=True)
    try:
        admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE {role}")
        as_app = postgres_schema_url.replace("postgres@", f"{login}@")
        store = open_store(as_app)
        try:
            store.append(
                "message_a",
                [NewEvent("MessageCreated", {})],
                expected_version=0,
                aggregate_type="Message",
            )
            assert store.get_event_count() == 1
            for statement in (
                "UPDATE chronicle_events SET data = data",
                "DELETE FROM chronicle_events",
                "TRUNCATE chronicle_events",
                "ALTER TABLE chronicle_events DISABLE TRIGGER ALL",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    store.execute_raw(statement)  # type: ignore[attr-defined]
            # Nor may it choose a row's transaction id (to hide it behind followers' cursors).
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                store.execute_raw(  # type: ignore[attr-defined]
                    "INSERT INTO chronicle_events (transaction_id, event_id, aggregate_id, "
                    "aggregate_type, event_type, version, partition, timestamp, data, metadata, "
                    "hash) VALUES ('3', gen_random_uuid(), 'message_a', 'Message', 'X', 7, 0, "
                    "now(), '\\x7b7d', '\\x7b7d', '\\x00')"
                )
            assert store.get_event_count() == 1
        finally:
            store.close()
    finally:
        admin.execute(f"DROP ROLE IF EXISTS {login}")
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


def test_create_roles_explains_that_it_does_not_apply_to_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    result = runner.invoke(app, ["migrate", "--store-url", url, "--create-roles"])
    assert result.exit_code == 0 and "does not apply" in result.output
