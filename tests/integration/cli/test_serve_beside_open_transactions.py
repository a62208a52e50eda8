"""The whole system on a shared PostgreSQL server: another database's open transaction does not
hold back the audit feed nor the async read models (issue 14's acceptance, as a user meets it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from chronicle.bootstrap import open_store
from tests.integration.cli.subprocesses import free_port, store_env
from tests.integration.cli.test_serve_commands import answering, start_serve, stop

pytestmark = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


def within(limit: float, condition: Callable[[], bool]) -> float:
    """Seconds until ``condition`` held; fails after ``limit``."""
    started = time.monotonic()
    while not condition():
        waited = time.monotonic() - started
        assert waited < limit, f"still not true after {limit} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_an_open_transaction_next_door_holds_back_neither_the_audit_feed_nor_the_read_models(
    store_url: str, postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_serve(
        "--demo",
        "--port",
        str(port),
        "--store-url",
        store_url,
        env=store_env(store_url),
        cwd=tmp_path,
    )
    neighbour_url = urlunsplit(urlsplit(postgres_url)._replace(path="/postgres", query=""))
    try:
        within(60, lambda: answering(base, server))

        def token(username: str) -> dict[str, str]:
            reply = httpx.post(
                f"{base}/auth/token", data={"username": username, "password": f"{username}-demo"}
            )
            assert reply.status_code == 200, reply.text
            return {"Authorization": f"Bearer {reply.json()['access_token']}"}

        alice, auditor = token("alice"), token("auditor")
        store = open_store(store_url)
        with psycopg.connect(neighbour_url) as neighbour:
            neighbour.execute("SELECT pg_current_xact_id()")  # open, holding an id, until the end
            posted = httpx.post(f"{base}/messages", json={"content": "seen at once"}, headers=alice)
            assert posted.status_code == 201, posted.text
            message_id = posted.json()["id"]
            position = store.get_events_for_aggregate(message_id)[-1].position

            def in_the_audit_feed() -> bool:
                page = httpx.get(
                    f"{base}/audit/events",
                    params={"aggregate_type": "Message", "limit": 1000},
                    headers=auditor,
                )
                assert page.status_code == 200, page.text
                return any(event["aggregate_id"] == message_id for event in page.json()["events"])

            def in_the_activity_read_model() -> bool:
                return (store.get_checkpoint("projection.activity") or 0) >= position

            within(1.0, in_the_audit_feed)
            within(1.0, in_the_activity_read_model)
            neighbour.rollback()
        store.close()
        _out, err = stop(server)
        assert "Traceback" not in err, err
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
