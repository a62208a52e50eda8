"""Settings: the seed's variables and defaults, and a clear stop on a bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chronicle.config import load_settings
from chronicle.errors import ConfigurationError

SEED_VARIABLES = [
    "EVENT_SOURCING_ENABLED",
    "EVENT_STORE_TYPE",
    "EVENT_STORE_URL",
    "EVENT_STORE_RETENTION_DAYS",
    "EVENT_STORE_SNAPSHOT_INTERVAL",
    "EVENT_STORE_COMPRESSION_ENABLED",
    "EVENT_PUBLISH_TO_QUEUE",
    "EVENT_QUEUE_URL",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in SEED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the working copy


def test_defaults_follow_the_seed_except_the_embedded_store_and_enabled() -> None:
    settings = load_settings()
    assert settings.enabled is True
    assert settings.store_type == "sqlite"
    assert settings.store_url == "sqlite:///./data/chronicle.db"
    assert settings.retention_days == 365
    assert settings.snapshot_interval == 100
    assert settings.compression_enabled is True
    assert settings.publish_to_queue is False
    assert settings.queue_url == "redis://localhost:6379/0"


def test_the_seed_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_SOURCING_ENABLED", "false")
    monkeypatch.setenv("EVENT_STORE_TYPE", "postgresql")
    monkeypatch.setenv("EVENT_STORE_URL", "postgresql://app@db.internal:5432/events")
    monkeypatch.setenv("EVENT_STORE_SNAPSHOT_INTERVAL", "0")
    monkeypatch.setenv("EVENT_PUBLISH_TO_QUEUE", "true")
    monkeypatch.setenv("EVENT_QUEUE_URL", "amqp://guest:guest@127.0.0.1:5672/")
    settings = load_settings()
    assert (settings.enabled, settings.store_type, settings.snapshot_interval) == (
        False,
        "postgresql",
        0,
    )
    assert settings.publish_to_queue is True and settings.queue_url.startswith("amqp://")


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("EVENT_STORE_RETENTION_DAYS=30\n")
    assert load_settings().retention_days == 30


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("EVENT_STORE_SNAPSHOT_INTERVAL", "abc", "whole number"),
        ("EVENT_STORE_SNAPSHOT_INTERVAL", "-1", "greater than or equal to 0"),
        ("EVENT_STORE_TYPE", "oracle", "one of"),
        ("EVENT_SOURCING_ENABLED", "maybe", "true or false"),
        ("EVENT_STORE_URL", "postgresql://db/events", "must start with sqlite:///"),
        ("EVENT_QUEUE_URL", "kafka://broker:9092", "redis://"),
        ("CHRONICLE_PROJECTION_MODES", "messages=sometimes", "name=inline or name=async"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.variable == variable
    assert says in str(caught.value)


def test_a_url_that_does_not_fit_the_store_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_STORE_TYPE", "postgresql")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.variable == "EVENT_STORE_URL"
    assert "postgresql://" in str(caught.value)


@pytest.mark.parametrize("command", [["stats"], ["migrate"], ["verify"], ["--help"]])
def test_every_chronicle_command_stops_with_exit_code_2_on_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("EVENT_STORE_SNAPSHOT_INTERVAL", "abc")
    result = subprocess.run(
        [sys.executable, "-m", "chronicle", *command], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "EVENT_STORE_SNAPSHOT_INTERVAL" in result.stderr
    assert "whole number" in result.stderr


def test_event_config_is_read_on_first_use_not_at_import() -> None:
    code = (
        "import os, chronicle.config as c; os.environ['EVENT_STORE_RETENTION_DAYS'] = '7'; "
        "print(c.event_config.retention_days)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "7"


def test_a_signing_key_that_is_not_an_ed25519_key_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHRONICLE_SIGNING_KEY", "not a key")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.variable == "CHRONICLE_SIGNING_KEY"
