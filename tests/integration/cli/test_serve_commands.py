"""``chronicle users create`` and ``chronicle serve``: the service with the worker's pieces beside
it, a port in use, ``--no-worker`` and ``--access-log``."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from typer.testing import CliRunner

from chronicle.bootstrap import open_store
from chronicle.chat.api.app import open_services
from chronicle.cli import app
from chronicle.cli.serve_commands import _server
from chronicle.config import get_settings
from tests.integration.cli.subprocesses import free_port, run_chronicle, store_env

runner = CliRunner()


@pytest.fixture
def configured(store_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EVENT_STORE_URL", store_url)
    monkeypatch.setenv(
        "EVENT_STORE_TYPE", "sqlite" if store_url.startswith("sqlite") else "postgresql"
    )
    monkeypatch.setenv("CHRONICLE_SECRET_KEY", "cli-test-secret-key-of-at-least-32-chars")
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


def users_create(*args: str, password: str = "carol-password\n"):
    return runner.invoke(app, ["users", "create", *args, "--password-stdin"], input=password)


def test_a_created_user_can_log_in_and_no_password_is_in_the_events(configured: str) -> None:
    result = users_create("carol", "--role", "auditor", "--email", "carol@example.com")
    assert result.exit_code == 0, result.output
    services = open_services(get_settings())
    try:
        assert services.credentials.authenticate("carol", "carol-password") is not None
        assert services.credentials.authenticate("carol", "wrong-password") is None
        events = services.chat.store.read_all()
        assert [e.event_type for e in events] == ["UserCreated"]
        assert "password" not in str(events[0].to_dict())
    finally:
        services.chat.close()


def test_a_taken_name_exits_1_and_bad_input_exits_2(configured: str) -> None:
    assert users_create("carol", "--role", "member").exit_code == 0
    assert users_create("carol", "--role", "member").exit_code == 1
    assert users_create("dave", "--role", "king").exit_code == 2
    assert users_create("dave", "--role", "member", password="short\n").exit_code == 2


def test_serve_explains_its_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--demo", "--port", "--store-url", "--no-worker", "--access-log"):
        assert option in result.output


def wait_until(condition: Callable[[], object], what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {limit} s waiting for {what}"
        time.sleep(0.1)


def start_serve(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chronicle", "serve", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answering(base: str, server: subprocess.Popen[str]) -> bool:
    assert server.poll() is None, server.communicate()
    try:
        return httpx.get(f"{base}/health/events", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def stop(server: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
    server.send_signal(sig)
    return server.communicate(timeout=30)


def test_a_port_in_use_exits_1_naming_the_port_and_prints_no_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = store_env(f"sqlite:///{tmp_path / 'chronicle.db'}")
        result = run_chronicle("serve", "--demo", "--port", str(port), env=env, cwd=tmp_path)
    assert result.returncode == 1, result
    assert f"port {port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Chronicle chat service on" not in result.stdout and "demo data" not in result.stdout


def test_serve_demo_runs_the_whole_system_on_the_store_url_it_is_given(
    store_url: str, tmp_path: Path
) -> None:
    """What `make run` does: a posted message reaches the async activity read model and a seal
    with nothing else started; EVENT_STORE_URL names another store, which stays untouched."""
    elsewhere = tmp_path / "elsewhere.db"
    env = store_env(f"sqlite:///{elsewhere}")
    env.pop("CHRONICLE_SECRET_KEY", None)  # as for a new user: the key is generated
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_serve(
        "--demo", "--port", str(port), "--store-url", store_url, env=env, cwd=tmp_path
    )
    try:
        wait_until(lambda: answering(base, server), "the service to answer", 60)
        login = httpx.post(
            f"{base}/auth/token", data={"username": "alice", "password": "alice-demo"}
        )
        assert login.status_code == 200, login.text
        assert "server" not in login.headers  # no server version announced
        assert login.headers["x-content-type-options"] == "nosniff"
        token = login.json()["access_token"]
        posted = httpx.post(
            f"{base}/messages",
            json={"content": "sealed within seconds"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 201, posted.text
        store = open_store(store_url)
        try:
            position = store.get_events_for_aggregate(posted.json()["id"])[-1].position

            def activity_checkpoint() -> int:
                shown = run_chronicle("projections", "--json", "--store-url", store_url, env=env)
                assert shown.returncode == 0, shown.stderr
                return next(r for r in orjson.loads(shown.stdout) if r["name"] == "activity")[
                    "checkpoint"
                ]

            wait_until(lambda: activity_checkpoint() >= position, "the activity read model", 10)
            wait_until(
                lambda: (seal := store.latest_seal()) is not None and seal.position >= position,
                "a seal covering the message",
                10,
            )
        finally:
            store.close()
        verified = run_chronicle("verify", "--json", "--store-url", store_url, env=env)
        assert verified.returncode == 0, verified.stdout
        assert orjson.loads(verified.stdout)["intact"] is True
        out, err = stop(server)
        assert server.returncode == 0, (out, err)
        assert "Traceback" not in err, err
        assert "worker running in this process" in out and "stopped" in out
        assert not elsewhere.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_serve_no_worker_runs_the_service_alone_and_access_log_logs_each_request(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite:///{tmp_path / 'chronicle.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_serve(
        "--no-worker", "--access-log", "--port", str(port), env=store_env(store_url), cwd=tmp_path
    )
    try:
        wait_until(lambda: answering(base, server), "the service to answer", 60)
        out, err = stop(server)
        assert server.returncode == 0, (out, err)
        assert "GET /health/events" in out
        assert "worker running" not in out and "Traceback" not in err
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_plain_serve_runs_the_worker_logs_no_requests_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = store_env(f"sqlite:///{tmp_path / 'chronicle.db'}")
    server = start_serve("--port", str(port), env=env, cwd=tmp_path)
    try:
        wait_until(lambda: answering(base, server), "the service to answer", 60)
        out, err = stop(server, signal.SIGTERM)
        assert server.returncode == 0, (out, err)
        assert "GET /health/events" not in out + err and "worker running in this process" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_serve_demo_counts_the_demos_appends_and_its_workers_in_the_metrics_it_serves(
    store_url: str, tmp_path: Path
) -> None:
    """One registry per process: the demo's appends and the in-process worker's progress show
    at /metrics beside the API's own (each used to count into a registry of its own)."""
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_serve("--demo", "--port", str(port), env=store_env(store_url), cwd=tmp_path)

    def counted(name: str, **labels: str) -> float:
        text = httpx.get(f"{base}/metrics", timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    try:
        wait_until(lambda: answering(base, server), "the service to answer", 60)
        stored = httpx.get(f"{base}/health/events", timeout=10).json()["total_events"]
        assert stored > 0 and counted("events_appended_total") == stored
        wait_until(
            lambda: counted("events_processed_total", projection="activity") == stored,
            "the worker's activity read model to count the demo's events",
            30,
        )
    finally:
        stop(server, signal.SIGTERM)


def test_the_service_freezes_its_start_up_heap_once_it_is_up() -> None:
    """Garbage collections after start-up skip what start-up made (see freeze_start_up_heap)."""

    async def empty_app(scope: object, receive: object, send: object) -> None:
        return None

    server = _server(uvicorn.Config(empty_app, lifespan="off", log_level="warning"), None)

    async def frozen_once_up(sock: socket.socket) -> int:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        frozen = gc.get_freeze_count()
        server.should_exit = True
        await serving
        return frozen

    gc.unfreeze()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        try:
            frozen = asyncio.run(frozen_once_up(sock))
        finally:
            gc.unfreeze()  # the test process keeps collecting everything
    assert frozen > 1000
