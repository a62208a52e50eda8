"""Requests/s and latency of ``POST /messages`` with 16 concurrent connections, via wrk.

Run on demand (never in the test suite); needs ``wrk`` on the PATH:

    .venv/bin/python bench/http_load.py [--connections 16] [--duration 20] [--backends sqlite postgresql]

For each backend the script creates a member through ``chronicle users create``, starts
``chronicle serve`` in its own process (uvicorn, one worker, uvloop + httptools), logs in, and
drives ``POST /messages`` (a 200-character message) with wrk and a Lua script carrying the bearer
token. PostgreSQL works in a throw-away schema of CHRONICLE_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

POSTGRES_URL = os.environ.get(
    "CHRONICLE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CHRONICLE = str(Path(sys.executable).parent / "chronicle")
CONTENT = ("The launch plan is ready for review, @bob. " * 5)[:200]
LUA = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


@contextmanager
def store_env(backend: str, folder: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "CHRONICLE_SECRET_KEY": "bench-secret-key-of-at-least-32-characters"}
    if backend == "sqlite":
        yield env | {"EVENT_STORE_TYPE": "sqlite", "EVENT_STORE_URL": f"sqlite:///{folder}/b.db"}
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options={urllib.parse.quote(f'-csearch_path={schema}')}"
    try:
        yield env | {"EVENT_STORE_TYPE": "postgresql", "EVENT_STORE_URL": url}
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health/events", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the service did not start")


def token(base: str) -> str:
    form = urllib.parse.urlencode({"username": "bench", "password": "bench-password"}).encode()
    with urllib.request.urlopen(f"{base}/auth/token", data=form, timeout=10) as response:
        return str(json.load(response)["access_token"])


def run_wrk(base: str, script: Path, connections: int, duration: int) -> dict[str, float]:
    threads = min(2, connections)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
         "-s", str(script), f"{base}/messages"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latencies = {
        pct: _ms(value) for pct, value in re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": rate,
        "p50_ms": latencies["50"],
        "p99_ms": latencies["99"],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def bench(backend: str, connections: int, duration: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, store_env(backend, Path(tmp)) as env:
        subprocess.run(
            [CHRONICLE, "users", "create", "bench", "--role", "member", "--password-stdin"],
            input="bench-password\n", env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [CHRONICLE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        try:
            wait_until_up(base, server)
            script = Path(tmp) / "post.lua"
            body = json.dumps({"content": CONTENT})
            script.write_text(LUA.format(body=body, token=token(base)))
            run_wrk(base, script, connections, 3)  # warm-up
            return run_wrk(base, script, connections, duration)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"POST /messages, {args.connections} connections, {args.duration} s, wrk")
    for backend in args.backends:
        result = bench(backend, args.connections, args.duration)
        print(
            f"{backend:>10}: {result['requests_per_s']:8.0f} req/s   p50 {result['p50_ms']:6.1f} ms"
            f"   p99 {result['p99_ms']:6.1f} ms   non-2xx {result['non_2xx']:.0f}"
        )


if __name__ == "__main__":
    main()
