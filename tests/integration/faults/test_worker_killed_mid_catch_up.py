"""``chronicle worker`` killed with SIGKILL while its async read models catch up on a long log:
once restarted and caught up, every read model equals one replayed from scratch.

tests/integration/projections/test_crash.py kills a bare projection runner (exactly-once
application of a counting projection); this kills the real worker process on the chat's own
read models, with the sealer beside them.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from chronicle.chat.domain import Message
from chronicle.chat.wiring import ChatContext, open_chat
from chronicle.config import load_settings
from tests.integration.chat.test_read_models import from_scratch, rows_of
from tests.integration.cli.subprocesses import start_chronicle, store_env, wait_until

MODES = "messages=async,activity=async"  # two read models for the worker to rebuild
MESSAGES, EDITS = 400, 9  # 4,000 events in 400 appends
KILLS = 4


def seeded(store_url: str) -> ChatContext:
    backend = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    settings = load_settings(store_url=store_url, store_type=backend, projection_modes=MODES)
    chat = open_chat(settings=settings)
    messages = chat.repository(Message)
    for number in range(MESSAGES):
        message = Message.create(f"message {number}", f"user_{number % 7}")
        for edit in range(EDITS):
            message.edit(f"message {number}, edit {edit}")
        messages.save(message)
    return chat


def checkpoints(chat: ChatContext) -> dict[str, int]:
    projections = chat.async_projections()
    return {p.name: chat.store.get_checkpoint(p.checkpoint_name) or 0 for p in projections}


@pytest.mark.slow
def test_read_models_equal_a_replay_after_the_worker_is_killed_mid_catch_up(
    store_url: str, tmp_path: Path
) -> None:
    rng = random.Random(14)
    chat = seeded(store_url)
    env = store_env(store_url, CHRONICLE_PROJECTION_MODES=MODES)
    args = ("worker", "--poll-interval", "0.05", "--seal-interval", "0.2")
    try:
        last = chat.store.read_all(limit=100_000)[-1].position
        assert sorted(checkpoints(chat)) == ["activity", "messages"]
        landed = []
        for run in range(KILLS):
            slowest = min(checkpoints(chat).values())
            if slowest >= last:
                break
            target = rng.randrange(slowest + 1, slowest + (last - slowest) // 3 + 2)
            with (tmp_path / f"worker-{run}.log").open("w") as log:
                worker = start_chronicle(*args, env=env, log=log)
                try:
                    wait_until(lambda at=target: min(checkpoints(chat).values()) >= at, "progress")
                    time.sleep(rng.uniform(0, 0.05))  # land anywhere in the batch that follows
                finally:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait(timeout=30)
            landed.append(checkpoints(chat))
        final = tmp_path / "worker-final.log"
        with final.open("w") as log:
            worker = start_chronicle(*args, env=env, log=log)
            try:
                wait_until(lambda: min(checkpoints(chat).values()) >= last, "the catch-up", 60)
                wait_until(lambda: "worker running" in final.read_text(), "the worker's start")
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=30) == 0, final.read_text()
        # At least one kill must land mid-run for the test to mean anything; on a busy machine
        # a later run may catch up before its kill lands, which is fine.
        mid_run = [at for at in landed if any(0 < position < last for position in at.values())]
        assert mid_run, f"a kill should land mid-run, checkpoints were {landed}"
        for live in chat.async_projections():
            scratch = from_scratch(chat, type(live))
            for table in live.tables:
                expected = rows_of(chat, scratch, table.name)
                assert expected, f"{live.name}.{table.name} should not be empty"
                assert rows_of(chat, live, table.name) == expected, (
                    f"{live.name}.{table.name} differs from a replay"
                )
    finally:
        chat.close()
