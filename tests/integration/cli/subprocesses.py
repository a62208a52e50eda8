"""Helpers for the tests that run ``python -m chronicle`` (or another module) in a subprocess.

The subprocess runs this tree's own source: ``src`` is put first on ``PYTHONPATH`` (what was
there stays after it), so another copy of the tree never tests the installed package instead
(the virtual environment's editable install points at whichever tree created it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"


def subprocess_env(**variables: str) -> dict[str, str]:
    """The test's environment plus ``variables``, with this tree's ``src`` first on PYTHONPATH
    (a PYTHONPATH already set, or given in ``variables``, follows it)."""
    env = {**os.environ, **variables}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
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


def start_chronicle(
    *args: str, env: dict[str, str], log: IO[str], cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m chronicle ARGS`` in the background, its output going to ``log`` (a file:
    a pipe nobody reads would block a talkative server)."""
    return subprocess.Popen(
        [sys.executable, "-m", "chronicle", *args],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition: Callable[[], object], what: str, limit: float = 60.0) -> None:
    """Poll ``condition`` every 50 ms until it holds; fail naming ``what`` after ``limit`` s."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {limit} s waiting for {what}"
        time.sleep(0.05)
