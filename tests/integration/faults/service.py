"""The fault suite's running service: ``chronicle serve`` in a subprocess of this tree's source,
killed and restarted on the same port, and members created beside it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import httpx

from chronicle.chat.api.app import open_services
from chronicle.chat.service.accounts import create_user
from chronicle.config import load_settings
from tests.integration.cli.subprocesses import free_port, start_chronicle, store_env, wait_until
from tests.support.tcp_proxy import TcpProxy

SECRET = "fault-suite-secret-key-of-at-least-32-chars"
"""The services' token key: the same in every process, so a token outlives a restart."""


def create_member(store_url: str, username: str) -> str:
    """Create a member (password ``<username>-password``) in the store; return their id."""
    backend = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    settings = load_settings(store_url=store_url, store_type=backend, secret_key=SECRET)
    services = open_services(settings)
    try:
        created = create_user(
            services.writer, services.credentials, username=username,
            email=f"{username}@example.com", role="member", password=f"{username}-password",
            created_by="system:fault-suite",
        )  # fmt: skip
        return created.aggregate.id
    finally:
        services.chat.close()


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0] + "@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


class Service:
    """``chronicle serve --no-worker`` on ``store_url``; its output goes to ``log_path``."""

    def __init__(self, store_url: str, log_path: Path, **variables: str) -> None:
        self.env = store_env(store_url, CHRONICLE_SECRET_KEY=SECRET, **variables)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log: IO[str] = log_path.open("a")
        self.process: subprocess.Popen[str] | None = None

    def start(self, limit: float = 60.0) -> None:
        self.process = start_chronicle(
            "serve", "--no-worker", "--port", str(self.port), env=self.env, log=self._log,
            cwd=self.log_path.parent,
        )  # fmt: skip
        wait_until(self.answering, "the service to answer", limit)

    def answering(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.output()
        try:
            return httpx.get(f"{self.base}/health/events", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, whatever was in flight is cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def token(self, username: str) -> dict[str, str]:
        """The Authorization header of ``username``, logged in with their password."""
        response = httpx.post(
            f"{self.base}/auth/token",
            data={"username": username, "password": f"{username}-password"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}
