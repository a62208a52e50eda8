"""The chat system wired from settings: modes, the public key, and the worker's pieces."""

from __future__ import annotations

import threading

import pytest

from chronicle.chat.wiring import open_chat, projection_modes, worker_tasks
from chronicle.config import load_settings
from chronicle.errors import ConfigurationError
from chronicle.integrity.keys import key_entry, key_id
from chronicle.integrity.signing import load_signing_key, new_signing_key_text


def test_the_worker_runs_each_async_read_model_and_the_sealer(store_url: str) -> None:
    chat = open_chat(store_url, settings=load_settings(projection_modes="messages=async"))
    try:
        tasks = worker_tasks(chat, threading.Event(), poll_interval=0.1, seal_interval=0.1)
    finally:
        chat.close()
    assert sorted(tasks) == [
        "compressor",
        "projection activity",
        "projection messages",
        "retention",
        "sealer",
        "snapshot attestor",
    ]


def test_the_worker_runs_retention_only_when_the_policy_removes_anything(store_url: str) -> None:
    chat = open_chat(store_url, settings=load_settings(retention_days=0))
    try:
        tasks = worker_tasks(chat, threading.Event(), poll_interval=0.1, seal_interval=0.1)
    finally:
        chat.close()
    assert "retention" not in tasks


def test_the_worker_compresses_only_when_compression_is_on(store_url: str) -> None:
    chat = open_chat(store_url, settings=load_settings(compression_enabled=False))
    try:
        tasks = worker_tasks(chat, threading.Event(), poll_interval=0.1, seal_interval=0.1)
    finally:
        chat.close()
    assert "compressor" not in tasks


def test_the_worker_compressor_compresses_old_events_and_counts_them(store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from chronicle.chat.wiring import compression_counted
    from chronicle.compression import Compressor
    from tests.support.chat_history import chat_history

    chat = open_chat(store_url, settings=load_settings())
    try:
        chat_history(chat.store)
        later = datetime.now(UTC) + timedelta(days=30)
        compressor = Compressor(chat.store, clock=lambda: later)
        stop = threading.Event()
        runs: list[int] = []
        counted = compression_counted(chat)

        def count_then_stop(report) -> None:  # type: ignore[no-untyped-def]
            counted(report)
            runs.append(report.events)
            stop.set()

        compressor.follow(stop, 0.01, count_then_stop)
        metrics = chat.metrics.registry
        assert runs == [605]
        assert (
            metrics.get_sample_value("chronicle_events_compressed_total", {"codec": "zstd"}) == 605
        )
        stored = metrics.get_sample_value("chronicle_stored_payload_bytes", {"codec": "zstd"})
        assert stored is not None and stored > 0
    finally:
        chat.close()


def test_the_worker_runs_the_relay_only_when_publishing_is_on(store_url: str) -> None:
    settings = load_settings(publish_to_queue=True, queue_url="redis://127.0.0.1:6379/0")
    chat = open_chat(store_url, settings=settings)
    try:
        tasks = worker_tasks(chat, threading.Event(), poll_interval=0.1, seal_interval=0.1)
    finally:
        chat.close()
    assert "relay" in tasks


def test_the_context_trusts_the_configured_keys_or_else_its_own_signing_keys_half(
    store_url: str,
) -> None:
    key = new_signing_key_text()
    public = load_signing_key(key).public
    other = load_signing_key(new_signing_key_text()).public
    contexts = {
        "own": open_chat(store_url, settings=load_settings(signing_key=key)),
        "none": open_chat(store_url, settings=load_settings()),
        "configured": open_chat(
            store_url, settings=load_settings(signing_key=key, trusted_keys=key_entry(other))
        ),
    }
    try:
        assert contexts["own"].trusted_keys == {key_id(public): public}
        assert contexts["none"].trusted_keys == {}
        assert contexts["configured"].trusted_keys == {key_id(other): other}
    finally:
        for chat in contexts.values():
            chat.close()


def test_a_mode_override_for_an_unknown_read_model_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        projection_modes(load_settings(projection_modes="nothing=async"))
    assert caught.value.variable == "CHRONICLE_PROJECTION_MODES"
