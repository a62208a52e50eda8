"""Helpers for the CLI tests that run ``python -m chronicle`` in a subprocess.

The subprocess runs this tree's own source: ``src`` is put first on ``PYTHONPATH`` (what was
there stays after it), so another copy of the tree never tests the installed package instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"


def subprocess_env(**variables: str) -> dict[str, str]:
    """The test's environment plus ``variables``, with this tree's ``src`` first on PYTHONPATH."""
    env = {**os.environ, **variables}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return env


def store_env(store_url: str, **variables: str) -> dict[str, str]:
    """A subprocess environment whose configured store is ``store_url``."""
    backend = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    return subprocess_env(EVENT_STORE_URL=store_url, EVENT_STORE_TYPE=backend, **variables)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_chronicle(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chronicle ARGS`` to completion, its output piped (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "chronicle", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
