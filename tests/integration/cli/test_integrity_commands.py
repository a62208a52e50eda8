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
from chronicle.errors import ImmutableEventError
from chronicle.integrity.keys import key_id
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
    assert report["trust"] == "trusted" and report["evidence_seals"] == 1


def test_verify_exits_one_naming_the_first_changed_event(store_url: str, signing_key: str) -> None:
    fill(store_url)
    store = open_store(store_url)
    try:
        [event] = store.get_events_for_aggregate("message_1")
        if store.backend == "sqlite":
            store.execute_raw("DROP TRIGGER chronicle_events_refuse_update")  # type: ignore[attr-defined]
        else:
            store.execute_raw(  # type: ignore[attr-defined]
                "ALTER TABLE chronicle_events DISABLE TRIGGER chronicle_events_guard_update"
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
    public = load_signing_key(signing_key).public
    assert result.output.strip() == f"{key_id(public)}:{public_key_text(public)}"


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


def test_the_application_role_may_insert_select_and_reencode_events_but_not_change_them(
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
            # It may re-encode payloads (the worker compresses), which the guard allows only
            # as a change of codec with nothing else changed: a plain rewrite is refused.
            with pytest.raises(ImmutableEventError):
                store.execute_raw("UPDATE chronicle_events SET data = data")  # type: ignore[attr-defined]
            for statement in (
                "UPDATE chronicle_events SET codec = 1, user_id = 'mallory'",
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


def test_without_a_trusted_key_the_verdict_is_unanchored_and_require_trusted_fails(
    store_url: str,
) -> None:
    fill(store_url)
    assert runner.invoke(app, ["seal", "--store-url", store_url]).exit_code == 0
    checked = runner.invoke(app, ["verify", "--store-url", store_url, "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["trust"] == "unanchored"
    assert json.loads(checked.output)["unsigned_seals"] == 1
    strict = runner.invoke(app, ["verify", "--store-url", store_url, "--require-trusted"])
    assert strict.exit_code == 1 and "unanchored" in strict.output
    assert "1 seals, 1 of them unsigned" in strict.output


def test_with_the_trusted_key_the_verdict_is_trusted(store_url: str, signing_key: str) -> None:
    fill(store_url)
    assert runner.invoke(app, ["seal", "--store-url", store_url]).exit_code == 0
    entry = runner.invoke(app, ["verify", "--show-key"]).output.strip()
    result = runner.invoke(
        app,
        ["verify", "--store-url", store_url, "--public-key", entry, "--require-trusted", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["trust"] == "trusted"


def test_an_unsealed_tail_older_than_allowed_fails_verification(store_url: str) -> None:
    fill(store_url)
    time.sleep(0.3)
    late = runner.invoke(
        app, ["verify", "--store-url", store_url, "--max-unsealed-seconds", "0.1", "--json"]
    )
    assert late.exit_code == 1
    report = json.loads(late.output)
    assert report["intact"] and report["stale"] and report["unsealed_events"] == 3
    assert runner.invoke(app, ["seal", "--store-url", store_url]).exit_code == 0
    fresh = runner.invoke(
        app, ["verify", "--store-url", store_url, "--max-unsealed-seconds", "0.1"]
    )
    assert fresh.exit_code == 0, fresh.output


def test_a_new_key_goes_to_a_private_file_never_to_the_terminal(tmp_path: Path) -> None:
    key_file = tmp_path / "sealer.key"
    result = runner.invoke(app, ["seal", "--new-key", "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    private = key_file.read_text().strip()
    assert private not in result.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    public = load_signing_key(private).public
    assert f"{key_id(public)}:{public_key_text(public)}" in result.output
    again = runner.invoke(app, ["seal", "--new-key", "--key-file", str(key_file)])
    assert again.exit_code == 2 and key_file.read_text().strip() == private


def test_the_seal_command_refuses_when_the_seal_folder_was_outgrown(
    store_url: str, signing_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store_url)
    folder = tmp_path / "seals"
    monkeypatch.setenv("CHRONICLE_SEAL_DIR", str(folder))
    get_settings.cache_clear()
    assert runner.invoke(app, ["seal", "--store-url", store_url]).exit_code == 0
    (folder / "seal-00000001.json").rename(folder / "seal-00000002.json.kept")
    kept = json.loads((folder / "seal-00000002.json.kept").read_text())
    kept["number"] = 2  # evidence of a seal the database does not have
    (folder / "seal-00000002.json").write_text(json.dumps(kept))
    refused = runner.invoke(app, ["seal", "--store-url", store_url])
    assert refused.exit_code == 1 and "refusing to seal" in refused.output
