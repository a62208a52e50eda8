"""Case 11: ``POST /messages`` through the chat service beside a minimal FastAPI app, with wrk.

Both servers run in processes of their own under the same settings (uvicorn, one worker, uvloop
+ httptools) on a place of their own, and wrk (16 connections, 2 threads) drives ``POST
/messages`` with a 200-character message and a bearer token, set by a Lua script.

- Chronicle: ``chronicle serve`` on the place, a member created with ``chronicle users create``
  and logged in through ``/auth/token``: JWT check, the caller looked up, the ``Message``
  aggregate decided, one append (hash chain, version check) with the inline read models.
- minimal (the "raw driver" column): ``bench/minimal_app.py``: JWT check, one event ``INSERT``
  into a table of Chronicle's layout and one ``messages`` upsert, in one transaction.

Each repetition runs wrk once per server (interleaved); one run gives both requests/s and p99,
so the p99 row replays the figures of the runs the requests/s row measured. Any non-2xx answer
fails the case: an error page is fast and would flatter the figure. Needs ``wrk`` on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from bench import payload
from bench.cases import Case, Scale
from bench.harness import Benchmark, Subject
from bench.places import PostgresSite, Site
from chronicle import open_store
from chronicle.personal.kek import new_kek_text

CONNECTIONS = 16
SECRET = "bench-secret-key-of-at-least-32-characters"
USERNAME = "bench"
PASSWORD = "bench-password"
CHRONICLE = str(Path(sys.executable).parent / "chronicle")
LUA = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


@dataclass(frozen=True)
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def parse_wrk(output: str) -> WrkRun:
    """The figures of wrk's ``--latency`` report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    if rate is None or set(latencies) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkRun(
        requests_per_s=float(rate.group(1)),
        p50_ms=_ms(latencies["50"]),
        p99_ms=_ms(latencies["99"]),
        non_2xx=int(errors.group(1)) if errors else 0,
    )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"unexpected wrk latency {text!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server process, its URL and the Lua script wrk posts with."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    script: Path
    p99s: list[float] = field(default_factory=list)

    def wait_until_up(self, health: str) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}{health}", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name}: the server did not start")

    def use_token(self, token: str) -> None:
        body = json.dumps({"content": payload.CONTENT})
        self.script.write_text(LUA.format(body=body, token=token))

    def wrk(self, seconds: float) -> WrkRun:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", str(self.script), f"{self.base}/messages"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        run = parse_wrk(output)
        if run.non_2xx:
            raise RuntimeError(f"{self.name}: {run.non_2xx} non-2xx answers to POST /messages")
        return run

    def measure(self, seconds: float) -> Callable[[], float]:
        def requests_per_s() -> float:
            run = self.wrk(seconds)
            self.p99s.append(run.p99_ms)
            return run.requests_per_s

        return requests_per_s

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(name: str, argv: list[str], env: dict[str, str], folder: Path) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [*argv, "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )  # fmt: skip
    return Server(name, process, f"http://127.0.0.1:{port}", folder / f"{name}.lua")


def start_chronicle(site: Site, folder: Path) -> Server:
    place = site.place("http_chronicle")
    env = os.environ | {
        "CHRONICLE_SECRET_KEY": SECRET,
        "EVENT_STORE_TYPE": site.backend,
        "EVENT_STORE_URL": place.chronicle_url,
    }
    if isinstance(site, PostgresSite):  # personal data's keys: a schema of their own, wrapped
        env["CHRONICLE_KEY_STORE_SCHEMA"] = site.spare_schema("http_keys")
        env["CHRONICLE_KEY_ENCRYPTION_KEY"] = new_kek_text()
    subprocess.run(
        [CHRONICLE, "users", "create", USERNAME, "--role", "member", "--password-stdin"],
        input=f"{PASSWORD}\n", env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    server = _start("chronicle", [CHRONICLE, "serve"], env, folder)
    try:
        server.wait_until_up("/health/events")
        form = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD}).encode()
        with urllib.request.urlopen(f"{server.base}/auth/token", data=form, timeout=10) as answer:
            server.use_token(str(json.load(answer)["access_token"]))
    except BaseException:
        server.stop()
        raise
    return server


def start_minimal(site: Site, folder: Path) -> Server:
    place = site.place("http_minimal")
    open_store(place.chronicle_url).close()  # chronicle_events in Chronicle's layout, no more
    argv = [sys.executable, "-m", "bench.minimal_app", "--backend", site.backend]
    env = os.environ | {"CHRONICLE_SECRET_KEY": SECRET}
    server = _start("minimal", [*argv, "--target", place.raw_target], env, folder)
    try:
        server.wait_until_up("/health")
        now = datetime.now(UTC)
        claims = {"sub": "user_bench", "iat": now, "exp": now + timedelta(hours=2)}
        server.use_token(jwt.encode(claims, SECRET, algorithm="HS256"))
    except BaseException:
        server.stop()
        raise
    return server


def build(site: Site, scale: Scale) -> list[Benchmark]:
    if shutil.which("wrk") is None:
        raise RuntimeError("case 11 needs wrk on the PATH")
    folder = Path(tempfile.mkdtemp(prefix="chronicle-http-"))
    servers: list[Server] = []

    def stop_all() -> None:
        for server in servers:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    try:
        servers.append(start_chronicle(site, folder))
        servers.append(start_minimal(site, folder))
        for server in servers:
            server.wrk(min(scale.http_seconds, 3.0))  # warm-up: pools, caches, the JIT-less path
    except BaseException:
        stop_all()
        raise
    chronicle, minimal = servers
    seconds = scale.http_seconds
    repeat = 1 if scale.quick else None
    note = (
        f"wrk, {CONNECTIONS} connections, {seconds:g} s per run"
        + (", 1 run per server (quick)" if scale.quick else "")
        + "; servers: uvicorn, 1 worker, "
        "uvloop + httptools; raw driver column: minimal FastAPI app (JWT check, event INSERT + "
        "messages upsert in one transaction)"
    )
    rate = Benchmark(
        case=11,
        key="http_post_rate",
        title="POST /messages, requests/s",
        backend=site.backend,
        unit="requests/s",
        subjects=[
            Subject("chronicle", chronicle.measure(seconds)),
            Subject("raw", minimal.measure(seconds), stop_all),
        ],
        notes=[note],
        repeat=repeat,
    )
    # The p99 row replays the latencies the runs above recorded (the servers are stopped by then).
    p99 = Benchmark(
        case=11,
        key="http_post_p99",
        title="POST /messages, p99 latency",
        backend=site.backend,
        unit="ms",
        subjects=[
            Subject("chronicle", lambda: chronicle.p99s.pop(0)),
            Subject("raw", lambda: minimal.p99s.pop(0)),
        ],
        notes=["the same wrk runs as the requests/s row"],
        repeat=repeat,
    )
    return [rate, p99]


CASE = Case(11, "http-post", "POST /messages through the chat service, with wrk", build)
