"""``chronicle replay``, ``chronicle projections`` and the read models in ``chronicle stats``."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from chronicle.chat.domain import Message
from chronicle.chat.wiring import open_chat
from chronicle.cli import app

runner = CliRunner()


def chronicle(store_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--store-url", store_url])
    return result.exit_code, result.stdout, result.stderr


def write_messages(store_url: str, count: int) -> None:
    chat = open_chat(store_url)
    try:
        messages = chat.repository(Message)
        for number in range(count):
            message = Message.create(f"hello {number}", "alice")
            messages.save(message)
            message.edit(f"hello again {number}")
            messages.save(message)
    finally:
        chat.close()


def test_stats_and_projections_show_the_async_read_model_lag_until_it_is_replayed(
    store_url: str,
) -> None:
    write_messages(store_url, 3)

    code, out, _ = chronicle(store_url, "stats", "--json")
    assert code == 0
    read_models = {row["name"]: row for row in orjson.loads(out)["read_models"]}
    assert read_models["activity"]["mode"] == "async"
    assert read_models["activity"]["lag_events"] == 6
    assert read_models["messages"]["lag_events"] == 0  # inline: never behind

    code, out, _ = chronicle(store_url, "replay", "activity")
    assert code == 0, out
    code, out, _ = chronicle(store_url, "projections", "--json")
    assert code == 0
    activity = next(row for row in orjson.loads(out) if row["name"] == "activity")
    assert activity["lag_events"] == 0 and activity["parked"] == 0
    assert activity["checkpoint"] > 0


def test_replay_of_an_unknown_read_model_exits_2_and_names_the_known_ones(store_url: str) -> None:
    code, _, err = chronicle(store_url, "replay", "nonsense")
    assert code == 2
    assert "nonsense" in err and "messages" in err


def test_replay_rebuilds_every_read_model_with_the_same_rows(store_url: str) -> None:
    write_messages(store_url, 4)
    chat = open_chat(store_url)
    try:
        with chat.store.session() as session:
            before = sorted(session.fetchall("SELECT * FROM messages"))
    finally:
        chat.close()
    code, out, _ = chronicle(store_url, "replay")
    assert code == 0, out
    chat = open_chat(store_url)
    try:
        with chat.store.session() as session:
            assert sorted(session.fetchall("SELECT * FROM messages")) == before
    finally:
        chat.close()
