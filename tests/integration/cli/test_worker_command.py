"""``chronicle worker`` keeps async read models and seals up to date, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from chronicle.chat.domain import Message
from chronicle.chat.domain.events import chat_events
from chronicle.chat.read_models import ActivityReadModel
from chronicle.chat.wiring import open_chat
from tests.integration.cli.subprocesses import store_env


def wait_until(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_worker_follows_new_events_seals_them_and_stops_cleanly(store_url: str) -> None:
    env = store_env(store_url)  # this tree's source first on PYTHONPATH
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chronicle",
            "worker",
            "--seal-interval",
            "0.2",
            "--poll-interval",
            "0.05",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    chat = open_chat(store_url)
    with chat.store.session() as session:  # the worker creates it too; whoever comes first
        ActivityReadModel(chat_events).create_tables(session)
    try:
        messages = chat.repository(Message)
        saved = [messages.save(Message.create(f"hello {n}", "alice"))[-1] for n in range(5)]

        def activity_rows() -> int:
            with chat.store.session() as session:
                return len(session.fetchall("SELECT id FROM activity"))

        wait_until(lambda: activity_rows() == 5, "the activity read model")
        wait_until(
            lambda: (
                (seal := chat.store.latest_seal()) is not None and seal.event_count >= len(saved)
            ),
            "a seal covering the new events",
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, output
        assert "worker stopped" in output
    finally:
        if worker.poll() is None:
            worker.kill()
        chat.close()
