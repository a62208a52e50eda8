"""``chronicle relay`` and the publishing lag in ``chronicle stats``, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from broker_fixtures import Broker

from chronicle.bootstrap import open_store
from chronicle.events import NewEvent


def chronicle(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "EVENT_STORE_TYPE": "sqlite",
        "EVENT_STORE_URL": f"sqlite:///{tmp_path / 'chronicle.db'}",
        "EVENT_PUBLISH_TO_QUEUE": "true",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "from chronicle.cli import main; main()", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_relay_exits_2_and_explains_how_to_turn_publishing_on(tmp_path: Path) -> None:
    result = chronicle(tmp_path, "relay", EVENT_PUBLISH_TO_QUEUE="false")
    assert result.returncode == 2
    assert "EVENT_PUBLISH_TO_QUEUE=true" in result.stderr and "EVENT_QUEUE_URL" in result.stderr


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "redis://127.0.0.1:notaport/0", "amqp://u:p@127.0.0.1:x/"]
)
def test_a_malformed_queue_url_exits_2_naming_event_queue_url(tmp_path: Path, url: str) -> None:
    result = chronicle(tmp_path, "relay", "--once", EVENT_QUEUE_URL=url)
    assert result.returncode == 2
    assert "EVENT_QUEUE_URL" in result.stderr
    assert ":p@" not in result.stderr


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "amqp://guest:secret@127.0.0.1:1/"])
def test_an_unreachable_queue_url_exits_1_naming_it(tmp_path: Path, url: str) -> None:
    result = chronicle(tmp_path, "relay", "--once", EVENT_QUEUE_URL=url)
    assert result.returncode == 1
    assert "EVENT_QUEUE_URL" in result.stderr and "unavailable" in result.stderr
    assert "secret" not in result.stderr


def test_relay_once_publishes_the_backlog_and_stats_shows_the_lag_fall_to_zero(
    tmp_path: Path, broker: Broker
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'chronicle.db'}")
    for number in range(3):
        store.append(
            f"message_{number}",
            [NewEvent("MessageCreated", {"content": "hi"})],
            expected_version=0,
            aggregate_type="Message",
        )
    store.close()
    env = {"EVENT_QUEUE_URL": broker.url, "CHRONICLE_QUEUE_NAME": broker.name}
    collector = broker.collector()
    try:
        before = chronicle(tmp_path, "stats", "--json", **env)
        assert orjson.loads(before.stdout)["publishing_lag"]["events"] == 3
        result = chronicle(tmp_path, "relay", "--once", **env)
        assert result.returncode == 0, result.stderr
        assert "published 3 events" in result.stdout
        collector.wait_for(3)
        after = chronicle(tmp_path, "stats", **env)
        assert "publishing lag: 0 events" in after.stdout
    finally:
        collector.close()
    assert sorted(event.aggregate_id for event in collector.events) == [
        "message_0",
        "message_1",
        "message_2",
    ]
