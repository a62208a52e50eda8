"""Case 12 (``--cases scale``, run only when named): what grows as the log grows, and what must not.

One store is filled with the chat mix (:mod:`bench.chat_mix`: users, projects, tickets and
messages, about six events an aggregate, personal fields sealed as the service seals them) to
each size of ``--scale-sizes`` in turn (1,000,000 then 5,000,000 events by default), sealed and
its statistics refreshed (as ``chronicle import`` does after bulk work); then, at each size:

- one event appended to a new aggregate, 1,000 times: p50 and p99 (the store the service opens);
- ``GET /health/events`` and ``GET /metrics`` of ``chronicle serve --no-worker`` on the store;
- two filtered audit pages (``GET /audit/events``, 50 events, as an auditor): the rare user's
  (three messages at the very start of the log), and ``event_type=TicketCreated`` since a day
  before the newest loaded event;
- ``chronicle replay`` (every read model, one pass) and ``chronicle verify``: events/s, and
  verify's peak resident memory (``ru_maxrss`` of its process).

Rows at a later size note their growth over the first size. The load goes through Chronicle's
append path (``import_events``: hash chains, sealed personal fields; two writer threads on
PostgreSQL) on a store opened to commit without waiting for the disk (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``);
everything measured runs on the default settings. Chronicle alone: the raw driver has no health,
audit page, replay or verify of its own to compare with.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import chat_mix
from bench.cases import Case, Scale
from bench.cases.http_messages import CHRONICLE, SECRET, Server, _start
from bench.harness import Benchmark, Subject
from bench.places import Place, PostgresSite, Site
from chronicle import EventStore, NewEvent, open_store
from chronicle.bootstrap import personal_data_for
from chronicle.chat.wiring import chat_personal_policy
from chronicle.config import load_settings
from chronicle.errors import SealConflictError
from chronicle.integrity import Sealer
from chronicle.personal.kek import new_kek_text

AUDITOR, PASSWORD = "scale-auditor", "scale-auditor-password"
PAGE = 50
console = Console(stderr=True)


def _env(site: Site, place: Place) -> dict[str, str]:
    """The service's settings for the place (personal data's keys as the service keeps them)."""
    env = os.environ | {
        "CHRONICLE_SECRET_KEY": SECRET,
        "EVENT_STORE_TYPE": site.backend,
        "EVENT_STORE_URL": place.chronicle_url,
    }
    if isinstance(site, PostgresSite):
        env["CHRONICLE_KEY_STORE_SCHEMA"] = site.spare_schema("scale_keys")
        env["CHRONICLE_KEY_ENCRYPTION_KEY"] = new_kek_text()
    return env


def _without_waiting_for_disk(url: str, backend: str) -> str:
    """The loader's URL: PostgreSQL commits without waiting for the write-ahead log's flush."""
    if backend != "postgresql":
        return url
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    query["options"] = [" ".join([*query.get("options", []), "-csynchronous_commit=off"])]
    encoded = urllib.parse.urlencode(query, doseq=True, quote_via=urllib.parse.quote)
    return parts._replace(query=encoded).geturl()


def _open(url: str, env: dict[str, str], **overrides: Any) -> EventStore:
    settings = load_settings(
        store_url=url,
        store_type=env["EVENT_STORE_TYPE"],
        key_store_schema=env.get("CHRONICLE_KEY_STORE_SCHEMA"),
        key_encryption_key=env.get("CHRONICLE_KEY_ENCRYPTION_KEY"),
        **overrides,
    )
    personal = personal_data_for(chat_personal_policy(), url, settings)
    return open_store(url, settings=settings, personal=personal)


def _seal_everything(store: EventStore) -> None:
    sealer = Sealer(store)
    while True:
        try:
            if not sealer.run_once():
                return
        except SealConflictError:  # another sealer recorded that seal first: go on after it
            continue


def _append_latencies(store: EventStore, appends: int) -> list[float]:
    latencies = []
    for _ in range(appends):
        event = NewEvent("ProjectCreated", {"name": "n", "description": "d", "owner_id": "u"})
        aggregate = f"project_{os.urandom(16).hex()}"
        start = time.perf_counter()
        store.append(aggregate, [event], expected_version=0, aggregate_type="Project")
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Service:
    """``chronicle serve`` on the store, an auditor logged in; requests timed one at a time."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        subprocess.run(
            [CHRONICLE, "users", "create", AUDITOR, "--role", "auditor", "--password-stdin"],
            input=f"{PASSWORD}\n", env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        # The service alone: the bench seals, and its replay rebuilds the read models.
        self.server: Server = _start("scale", [CHRONICLE, "serve", "--no-worker"], env, folder)
        try:
            self.server.wait_until_up("/health/events")
            form = urllib.parse.urlencode({"username": AUDITOR, "password": PASSWORD}).encode()
            with urllib.request.urlopen(f"{self.server.base}/auth/token", data=form) as answer:
                self.token = str(json.load(answer)["access_token"])
        except BaseException:
            self.server.stop()
            raise

    def latency_ms(self, path: str, *, calls: int, check: Callable[[bytes], None]) -> float:
        """The median of ``calls`` requests of ``path``, each one after the other."""
        request = urllib.request.Request(
            f"{self.server.base}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as answer:
                body = answer.read()
            times.append((time.perf_counter() - start) * 1000)
            check(body)
        return statistics.median(times)

    def stop(self) -> None:
        self.server.stop()


def _full_page(body: bytes) -> None:
    if len(json.loads(body)["events"]) < 3:
        raise RuntimeError(f"the audit page came back nearly empty: {body[:200]!r}")


def _rare_page(body: bytes) -> None:
    events = json.loads(body)["events"]
    if len(events) != 3 or {event["user_id"] for event in events} != {chat_mix.RARE_USER}:
        raise RuntimeError(f"the rare user's page is not their three messages: {body[:200]!r}")


def _anything(body: bytes) -> None:
    if not body:
        raise RuntimeError("an empty answer")


def _run_command(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a CLI command to its end: (seconds, peak resident memory in MB)."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: it never fills and blocks
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(argv[1:3])} exited with {process.returncode}: {text}")
    return elapsed, usage.ru_maxrss / 1024  # kilobytes on Linux


class Growth:
    """Every figure's runs by size, to note how far a figure grew since the first size."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, int], list[float]] = {}
        self._first: dict[str, tuple[int, float]] = {}

    def subject(self, key: str, size: int, measure: Callable[[], float]) -> Callable[[], float]:
        runs = self._runs.setdefault((key, size), [])

        def recorded() -> float:
            runs.append(measure())
            return runs[-1]

        return recorded

    def note(self, key: str, size: int) -> Callable[[], str]:
        def growth() -> str:
            median = statistics.median(self._runs[(key, size)])
            if key not in self._first:
                self._first[key] = (size, median)
                return f"at {size:,} events"
            first_size, first_median = self._first[key]
            factor = median / first_median if first_median else float("nan")
            return f"at {size:,} events: {factor:.2f}x the figure at {first_size:,}"

        return growth


@dataclass
class Measured:
    """What the figures at every size share: the store, the service, the settings."""

    site: Site
    store: EventStore
    service: Service
    env: dict[str, str]
    growth: Growth
    appends: int  # single appends per p50/p99 measurement
    calls: int  # requests per latency measurement


def _benchmarks(on: Measured, size: int, newest: datetime) -> list[Benchmark]:
    """Every figure at ``size`` events, the newest of them loaded at ``newest``."""
    since = urllib.parse.quote((newest - timedelta(days=1)).isoformat())
    runs: list[list[float]] = []  # each repetition's latencies, for both rows
    replayed = iter(runs)
    memory: list[float] = []

    def p50() -> float:
        runs.append(_append_latencies(on.store, on.appends))
        return _percentile(runs[-1], 0.5)

    def get(path: str, check: Callable[[bytes], None]) -> Callable[[], float]:
        return lambda: on.service.latency_ms(path, calls=on.calls, check=check)

    def replay() -> float:
        seconds, _ = _run_command([CHRONICLE, "replay"], on.env)
        return on.store.get_event_count() / seconds

    def verify() -> float:
        seconds, peak = _run_command([CHRONICLE, "verify"], on.env)
        memory.append(peak)
        return on.store.get_event_count() / seconds

    figures: list[tuple[str, str, str, Callable[[], float], int | None]] = [
        ("append_p50", "append one event, p50", "ms", p50, None),
        (
            "append_p99",
            "append one event, p99 (the same appends)",
            "ms",
            lambda: _percentile(next(replayed), 0.99),
            None,
        ),
        ("health", "GET /health/events", "ms", get("/health/events", _anything), None),
        ("metrics", "GET /metrics", "ms", get("/metrics", _anything), None),
        (
            "rare_user",
            "audit page: the rare user",
            "ms",
            get(f"/audit/events?user_id={chat_mix.RARE_USER}&limit={PAGE}", _rare_page),
            None,
        ),
        (
            "type_since",
            "audit page: TicketCreated since a day ago",
            "ms",
            get(f"/audit/events?event_type=TicketCreated&since={since}&limit={PAGE}", _full_page),
            None,
        ),
        ("replay", "chronicle replay (every read model)", "events/s", replay, 1),
        ("verify", "chronicle verify", "events/s", verify, 1),
        ("verify_memory", "chronicle verify: peak memory", "MB", lambda: memory[-1], 1),
    ]
    return [
        Benchmark(
            case=12,
            key=f"scale_{key}",
            title=f"{title}, {size:,} events",
            backend=on.site.backend,
            unit=unit,
            subjects=[Subject("chronicle", on.growth.subject(key, size, measure))],
            check=on.growth.note(key, size),
            repeat=repeat,
        )
        for key, title, unit, measure, repeat in figures
    ]


def build(site: Site, scale: Scale) -> Iterator[Benchmark]:
    place = site.place("scale_chronicle")
    env = _env(site, place)
    loader = _open(
        _without_waiting_for_disk(place.chronicle_url, site.backend),
        env,
        sqlite_synchronous="NORMAL",
    )
    store = _open(place.chronicle_url, env)
    service = Service(env, Path(tempfile.mkdtemp(prefix="chronicle-scale-")))
    on = Measured(
        site,
        store,
        service,
        env,
        Growth(),
        appends=200 if scale.quick else 1000,
        calls=10 if scale.quick else 30,
    )
    mix = chat_mix.ChatMix()
    writers = 2 if site.backend == "postgresql" else 1  # SQLite writes one at a time
    try:
        for size in scale.scale_sizes:
            start = time.perf_counter()
            chat_mix.load(loader, mix, size, writers=writers)
            loaded = time.perf_counter() - start
            start = time.perf_counter()
            _seal_everything(loader)
            loader.refresh_statistics()
            console.log(
                f"{site.backend}: scale: {mix.loaded:,} events loaded ({loaded:.0f}s), "
                f"sealed ({time.perf_counter() - start:.0f}s)"
            )
            yield from _benchmarks(on, size, chat_mix.START + chat_mix.STEP * mix.loaded)
    finally:
        service.stop()
        store.close()
        loader.close()


CASE = Case(12, "scale", "costs as the log grows (1M and 5M events)", build, only_when_named=True)
