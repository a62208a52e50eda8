"""``chronicle compress`` and the payload sizes ``chronicle stats`` shows, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from chronicle.bootstrap import open_store
from chronicle.cli import app
from tests.support.chat_history import chat_history

runner = CliRunner()
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()


@pytest.fixture
def filled(store_url: str) -> str:
    store = open_store(store_url)
    try:
        chat_history(store)
    finally:
        store.close()
    return store_url


def chronicle(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_compress_shrinks_old_events_and_verify_still_passes(filled: str) -> None:
    code, output = chronicle("compress", "--store-url", filled, "--now", LATER, "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["events"] == 605 and report["ratio"] > 2 and report["dictionaries_trained"] == [1]

    code, output = chronicle("stats", "--store-url", filled, "--json")
    assert code == 0, output
    payloads = json.loads(output)["payloads"]
    [zstd] = payloads["by_codec"]
    assert zstd["codec"] == "zstd" and zstd["events"] == 605
    assert zstd["logical_bytes"] == report["bytes_before"]
    assert zstd["stored_bytes"] == report["bytes_after"]
    assert payloads["ratio"] == round(report["bytes_before"] / report["bytes_after"], 3)

    code, output = chronicle("verify", "--store-url", filled)
    assert code == 0, output


def test_a_dry_run_says_what_it_would_do_in_words(filled: str) -> None:
    code, output = chronicle("compress", "--store-url", filled, "--now", LATER, "--dry-run")
    assert code == 0, output
    assert "would compress 605 events with zstd" in output
    code, output = chronicle("stats", "--store-url", filled, "--json")
    assert json.loads(output)["payloads"]["by_codec"][0]["codec"] == "raw"


def test_recent_events_are_left_as_they_are(filled: str) -> None:
    code, output = chronicle("compress", "--store-url", filled)
    assert code == 0, output
    assert "nothing to compress" in output


def test_gzip_is_used_when_chosen(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chronicle.config import get_settings

    monkeypatch.setenv("CHRONICLE_COMPRESSION", "gzip")
    get_settings.cache_clear()
    try:
        code, output = chronicle("compress", "--store-url", filled, "--now", LATER, "--json")
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert json.loads(output)["codec"] == "gzip"


def test_a_now_that_is_not_an_instant_is_a_clear_error_that_changes_nothing(filled: str) -> None:
    code, output = chronicle("compress", "--store-url", filled, "--now", "next tuesday")
    assert code == 2
    assert "ISO-8601" in output
    code, output = chronicle("stats", "--store-url", filled, "--json")
    assert json.loads(output)["payloads"]["by_codec"][0]["codec"] == "raw"
