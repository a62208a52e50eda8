"""Case 11: ``POST /messages`` and ``PATCH /messages/{id}`` through the chat service beside two
minimal FastAPI apps, with wrk.

The servers run in processes of their own under the same settings (uvicorn, one worker, uvloop
+ httptools) on a place of their own, and wrk (16 connections, 2 threads) drives ``POST
/messages`` with a 200-character message and a bearer token, set by a Lua script; then ``PATCH``
of messages the server made at start-up to a content new each time (an edit to the same
content records nothing), each wrk thread walking the list from its own offset so two requests
rarely edit one message at once.

- Chronicle: ``chronicle serve --no-worker`` on the place beside ``chronicle worker`` in a
  process of its own (the deployment the README describes for more than one service process:
  the async read model, the sealer and the snapshot attestor follow the log on the same
  machine, off the service's interpreter lock), a member created with ``chronicle users
  create`` and logged in through ``/auth/token``: JWT check, the caller looked up, the
  ``Message`` aggregate decided, one append (hash chain, version check) with the inline read
  models.
- minimal (the "raw driver" column): ``bench/minimal_app.py``: JWT check, one event ``INSERT``
  into a table of Chronicle's layout and one ``messages`` upsert, in one transaction (PATCH: the
  row locked and read, the event inserted at the next version, the row updated). Twice: the
  sync shape (``def`` endpoints, a psycopg pool) and the async one (``async def``, psycopg's
  async pool; SQLite on the loop). The "beside the async minimal app" rows replay the same
  runs with the async app as the reference.

Each repetition runs wrk once per server (interleaved); one run gives both requests/s and p99,
so the p99 row replays the figures of the runs the requests/s row measured. Any non-2xx answer
fails the case: an error page is fast and would flatter the figure. Needs ``wrk`` on the PATH.
"""

from __future__ import annotations

import itertools
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
PATCH_LUA = """
local ids = {{{ids}}}
local threads = 0
function setup(thread)
  thread:set("offset", threads * {stride})
  threads = threads + 1
end
local opening = '{opening}'
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
counter = 0
request = function()
  counter = counter + 1
  local id = ids[((offset or 0) + counter) % #ids + 1]
  -- new content every time: an edit to the same content records nothing
  local body = opening .. " " .. (offset or 0) .. "-" .. counter .. '"}}'
  return wrk.format("PATCH", "/messages/" .. id, headers, body)
end
"""
EDITED = 200
"""Messages each server makes at start-up for the PATCH runs."""
VERBS = {"post": "POST /messages", "patch": "PATCH /messages/{id}"}


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
    """One server process, its URL, the Lua scripts wrk sends with and the runs it recorded."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    folder: Path
    runs: dict[str, list[WrkRun]] = field(default_factory=lambda: {"post": [], "patch": []})
    companions: list[subprocess.Popen[bytes]] = field(default_factory=list)
    """Processes that run beside the server (Chronicle's worker) and stop with it."""

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

    def script(self, kind: str) -> Path:
        return self.folder / f"{self.name}-{kind}.lua"

    def use_token(self, token: str) -> None:
        """Write both scripts: POST as it is, PATCH over ``EDITED`` messages made now."""
        body = json.dumps({"content": payload.CONTENT})
        self.script("post").write_text(LUA.format(body=body, token=token))
        ids = [self._post(body, token) for _ in range(EDITED)]
        edit = json.dumps({"content": payload.CONTENT[::-1]})
        listed = ", ".join(f'"{message_id}"' for message_id in ids)
        self.script("patch").write_text(
            PATCH_LUA.format(
                ids=listed, stride=EDITED // 2, opening=edit.removesuffix('"}'), token=token
            )
        )

    def _post(self, body: str, token: str) -> str:
        request = urllib.request.Request(
            f"{self.base}/messages", data=body.encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(json.load(answer)["id"])

    def wrk(self, seconds: float, kind: str = "post") -> WrkRun:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", str(self.script(kind)), f"{self.base}/messages"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        run = parse_wrk(output)
        if run.non_2xx:
            raise RuntimeError(f"{self.name}: {run.non_2xx} non-2xx answers to {VERBS[kind]}")
        return run

    def measure(self, seconds: float, kind: str) -> Callable[[], float]:
        def requests_per_s() -> float:
            run = self.wrk(seconds, kind)
            self.runs[kind].append(run)
            return run.requests_per_s

        return requests_per_s

    def replay(self, kind: str, figure: Callable[[WrkRun], float]) -> Callable[[], float]:
        """The figure of the next run measured before, in the order they were measured."""
        seen = itertools.count()
        return lambda: figure(self.runs[kind][next(seen)])

    def stop(self) -> None:
        for process in [self.process, *self.companions]:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _start(name: str, argv: list[str], env: dict[str, str], folder: Path) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [*argv, "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )  # fmt: skip
    return Server(name, process, f"http://127.0.0.1:{port}", folder)


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
    server = _start("chronicle", [CHRONICLE, "serve", "--no-worker"], env, folder)
    server.companions.append(
        subprocess.Popen([CHRONICLE, "worker"], env=env, stdout=subprocess.DEVNULL)
    )
    try:
        server.wait_until_up("/health/events")
        if (worker := server.companions[0]).poll() is not None:
            raise RuntimeError(f"chronicle worker exited with {worker.returncode}")
        form = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD}).encode()
        with urllib.request.urlopen(f"{server.base}/auth/token", data=form, timeout=10) as answer:
            server.use_token(str(json.load(answer)["access_token"]))
    except BaseException:
        server.stop()
        raise
    return server


def start_minimal(site: Site, folder: Path, *, asynchronous: bool = False) -> Server:
    name = "minimal_async" if asynchronous else "minimal"
    place = site.place(f"http_{name}")
    open_store(place.chronicle_url).close()  # chronicle_events in Chronicle's layout, no more
    argv = [sys.executable, "-m", "bench.minimal_app", "--backend", site.backend]
    argv += ["--async"] if asynchronous else []
    env = os.environ | {"CHRONICLE_SECRET_KEY": SECRET}
    server = _start(name, [*argv, "--target", place.raw_target], env, folder)
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
        servers.append(start_minimal(site, folder, asynchronous=True))
        for server in servers:
            for kind in VERBS:  # warm-up: pools, caches, the JIT-less path
                server.wrk(min(scale.http_seconds, 3.0), kind)
    except BaseException:
        stop_all()
        raise
    chronicle, minimal, minimal_async = servers
    seconds = scale.http_seconds
    repeat = 1 if scale.quick else None
    note = (
        f"wrk, {CONNECTIONS} connections, {seconds:g} s per run"
        + (", 1 run per server (quick)" if scale.quick else "")
        + "; servers: uvicorn, 1 worker, uvloop + httptools (Chronicle's `chronicle worker` in "
        "a process of its own beside it); raw driver column: minimal FastAPI "
        "app (JWT check, event INSERT + messages upsert in one transaction), sync shape; "
        "the async minimal app measured in the same rotation"
    )
    benchmarks: list[Benchmark] = []
    for kind, verb in VERBS.items():
        rate = Benchmark(
            case=11,
            key=f"http_{kind}_rate",
            title=f"{verb}, requests/s",
            backend=site.backend,
            unit="requests/s",
            subjects=[
                Subject("chronicle", chronicle.measure(seconds, kind)),
                Subject("raw", minimal.measure(seconds, kind)),
                Subject("raw_async", minimal_async.measure(seconds, kind)),
            ],
            notes=[note],
            repeat=repeat,
        )
        # The rows below replay the runs the row above recorded.
        beside_async = Benchmark(
            case=11,
            key=f"http_{kind}_rate_async",
            title=f"{verb}, requests/s, beside the async minimal app",
            backend=site.backend,
            unit="requests/s",
            subjects=[
                Subject("chronicle", chronicle.replay(kind, lambda run: run.requests_per_s)),
                Subject("raw", minimal_async.replay(kind, lambda run: run.requests_per_s)),
            ],
            notes=["the same wrk runs as the row above; raw driver column: async minimal app"],
            repeat=repeat,
        )
        p99 = Benchmark(
            case=11,
            key=f"http_{kind}_p99",
            title=f"{verb}, p99 latency",
            backend=site.backend,
            unit="ms",
            subjects=[
                Subject("chronicle", chronicle.replay(kind, lambda run: run.p99_ms)),
                Subject("raw", minimal.replay(kind, lambda run: run.p99_ms)),
            ],
            notes=["the same wrk runs as the requests/s row"],
            repeat=repeat,
        )
        benchmarks += [rate, beside_async, p99]
    benchmarks[-1].subjects[-1].close = stop_all  # the last row to run stops the servers
    return benchmarks


CASE = Case(11, "http-post", "POST /messages through the chat service, with wrk", build)
