"""Issue 12's acceptance, end to end: a superuser rewrites sealed history while `chronicle worker`
runs with the signing key and a seal folder; `chronicle verify`, holding only the public key,
catches it and names the event. Every process runs this tree's source."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from chronicle.bootstrap import open_store
from chronicle.chat.domain import Message
from chronicle.chat.wiring import open_chat
from chronicle.integrity.keys import key_entry
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from tests.integration.cli.subprocesses import run_chronicle, store_env
from tests.integration.cli.test_worker_command import wait_until
from tests.integration.integrity.test_evidence_out_of_reach import rewrite
from tests.integration.integrity.test_tampering import attack


def test_a_rewrite_resealed_behind_the_workers_back_is_caught_by_verify(
    store_url: str, tmp_path: Path
) -> None:
    key = new_signing_key_text()
    folder = tmp_path / "seals"
    sealer_env = store_env(store_url, CHRONICLE_SIGNING_KEY=key, CHRONICLE_SEAL_DIR=str(folder))
    auditor_env = store_env(
        store_url,
        CHRONICLE_TRUSTED_KEYS=key_entry(load_signing_key(key).public),
        CHRONICLE_SEAL_DIR=str(folder),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "chronicle", "worker", "--poll-interval", "0.05"],
        env=sealer_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    chat = open_chat(store_url)
    try:
        messages = chat.repository(Message)
        sent = [Message.create(f"hello {n}", "alice") for n in range(4)]
        for message in sent:
            messages.save(message)
        sent[1].edit("I will pay on Friday")
        messages.save(sent[1])
        wait_until(
            lambda: (seal := chat.store.latest_seal()) is not None and seal.event_count == 5,
            "the worker's seal (within CHRONICLE_SEAL_INTERVAL, 1 s)",
        )
        wait_until(lambda: any(folder.glob("seal-*.json")), "the seal folder")
        intact = run_chronicle("verify", "--require-trusted", "--json", env=auditor_env)
        assert intact.returncode == 0, intact.stdout + intact.stderr
        assert json.loads(intact.stdout)["trust"] == "trusted"

        # The superuser: rewrite the edit (every per-aggregate hash recomputed), delete all seals.
        store = open_store(store_url)
        try:
            rewrite(store, sent[1].id, 2, {"content": "I never promised anything"})
            attack(store, "DELETE FROM chronicle_seals")
        finally:
            store.close()
        messages.save(Message.create("a new message for the worker to seal", "bob"))
        time.sleep(2.5)  # more than two seal intervals: the worker would have re-sealed by now
        assert chat.store.latest_seal() is None, "the worker signed the rewritten history"

        caught = run_chronicle("verify", "--json", env=auditor_env)
        assert caught.returncode == 1, caught.stdout + caught.stderr
        report = json.loads(caught.stdout)
        kinds = {problem["kind"] for problem in report["problems"]}
        assert "seal_missing" in kinds and "fork" in kinds
        [fork, *_] = [problem for problem in report["problems"] if problem["kind"] == "fork"]
        assert (fork["aggregate_id"], fork["version"]) == (sent[1].id, 2)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        chat.close()
    assert "refuses to sign" in output  # said once, as critical; the worker kept running
    assert worker.returncode == 0, output
