"""A whole project at an instant: ``GET /audit/projects/{id}/at`` on a project of many messages.

Run on demand (never in the test suite):

    PYTHONPATH=src:. .venv/bin/python bench/project_view_bench.py [--messages 10000]
        [--tickets 1000] [--users 8] [--repeat 3] [--backends sqlite,postgresql]
        [--postgres URL] [--profile 0] [--output FILE]

The data is written as the service writes it: a chat service opened by the app factory
(``create_app``, its lifespan running ``open_services``: store, inline read models, credentials,
personal fields sealed with a fresh key-encryption key) on a place of its own (bench/places.py: a
fresh SQLite file, or a fresh PostgreSQL schema and a key-store schema beside it, all dropped at
the end). Through its ``Writer``, one command per transaction: an admin, an auditor and
``--users`` members (``create_user``), the measured project and another one, then, in one
seeded order:

- ``--messages`` messages in the project (``Message.create(..., project_id=...)``), by the
  members, with real English text and @mentions (the compression benchmark's sentences); after
  each one, a random earlier message is edited by its author with probability 0.3 (a message is
  edited at most twice) and one deleted with probability 0.03;
- ``--tickets`` tickets in the project, spread evenly among the messages (``Ticket.create``);
  after each message, with probability 0.3, a random ticket moves on: assigned by the admin when
  it is unassigned (``assign``), otherwise a status change its state machine allows
  (``change_status``), by its assignee;
- a tenth as many messages and tickets in the other project, mixed in, edited and deleted
  alike: the view must pick its own through the ``project_id`` of the creating events;
- the project goes on hold at three quarters and back to active at nine tenths.

How long this takes is reported (the build time). Then, for two instants, the timestamp of the
event written when half the project's messages existed ("halfway") and that of the last event
("end": everything exists), two ways, each ``--repeat`` times, all four interleaved with the
order rotating (bench/harness.py); figures are the median (min-max) in milliseconds:

- direct: ``chronicle.chat.project_at.project_at(store, project_id, at)`` on the service's own
  store, as the route calls it;
- http: ``GET /audit/projects/{id}/at?at=ISO-8601`` through the app (FastAPI ``TestClient``, in
  process: routing, the auditor's bearer token check, the ``ProjectAt`` response model and JSON
  encoding; no socket), timed until the whole body is received.

Every call is checked: as many tickets, messages and deleted messages as the build wrote in the
project up to the instant. Before the timed runs, each of the four is called once with
``tracemalloc`` on (unmeasured, also a warm-up) for the peak Python memory of one call (http:
the app's and the client's, in one process). ``--profile N`` also runs one direct call at the
end under cProfile on each backend and prints its N costliest functions (own time, then
cumulative). No timing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import random
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient

from bench import machine
from bench.compression_bench import sentences
from bench.harness import Benchmark, Figure, Subject, run_benchmark
from bench.places import PostgresSite, Site, SQLiteSite
from chronicle.chat.api import create_app
from chronicle.chat.api.dependencies import Services
from chronicle.chat.domain import Message, Project, Ticket
from chronicle.chat.domain.ticket import TRANSITIONS
from chronicle.chat.project_at import project_at
from chronicle.chat.service.accounts import create_user
from chronicle.chat.service.writer import Written
from chronicle.config import EventConfig, load_settings
from chronicle.personal.kek import new_kek_text
from chronicle.store.ports import EventStore

SECRET_KEY = "project-view-bench-secret-key-of-32-characters"
MEMBER_NAMES = ("ana", "bob", "chen", "dee", "eli", "fay", "gus", "hal", "ivy", "joe", "kai", "lou")
EDIT_CHANCE = 0.3  # after each message: edit a random earlier one
DELETE_CHANCE = 0.03  # after each message: delete a random earlier one
TICKET_MOVE_CHANCE = 0.3  # after each message: a random ticket is assigned or changes status
MAX_EDITS = 2
OTHER_SHARE = 0.1  # messages and tickets in the other project, per one in the measured project
INSTANTS = ("end", "halfway")
VIAS = ("direct", "http")
# Where a ticket goes next, and how often: mostly forward, now and then back.
STATUS_WEIGHTS = {"in_progress": 5, "resolved": 4, "closed": 2, "open": 1}


# -- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """What the project holds at an instant: tickets, messages, and deleted messages among them."""

    tickets: int
    messages: int
    deleted: int


@dataclass
class Built:
    """The project written, the two instants measured and what the view must return at each."""

    project_id: str
    instants: dict[str, datetime]
    expected: dict[str, Counts]
    seconds: float
    writes: int
    events: int
    other_messages: int
    other_tickets: int
    edits: int
    deletes: int
    ticket_moves: int


@dataclass
class _Message:
    author: str  # the author's user id
    project_id: str
    edits: int = 0
    deleted: bool = False


@dataclass
class _Ticket:
    project_id: str
    status: str = "open"
    assigned_to: str | None = None


@dataclass
class _Build:
    """The build's running state: who exists, what each aggregate is, what was written when."""

    services: Services
    rng: random.Random
    text: Sequence[str]
    project_id: str = ""
    admin: str = ""
    members: list[tuple[str, str]] = field(default_factory=list)  # (user id, username)
    messages: dict[str, _Message] = field(default_factory=dict)
    editable: list[str] = field(default_factory=list)
    tickets: dict[str, _Ticket] = field(default_factory=dict)
    ticket_ids: list[str] = field(default_factory=list)
    writes: int = 0
    last: datetime | None = None  # the timestamp of the newest event written
    in_project: list[int] = field(default_factory=lambda: [0, 0, 0])  # tickets, messages, deleted
    other_messages: int = 0
    other_tickets: int = 0
    edits: int = 0
    deletes: int = 0
    ticket_moves: int = 0

    def wrote(self, written: Written[Any]) -> Written[Any]:
        self.writes += 1
        if written.events:
            self.last = written.events[-1].timestamp
        return written

    def say(self, sentences: int = 3) -> str:
        rng = self.rng
        return " ".join(rng.choice(self.text) for _ in range(rng.randint(1, sentences)))[:3800]

    def counts(self) -> Counts:
        return Counts(*self.in_project)

    # -- commands --------------------------------------------------------------------------

    def message(self, project_id: str) -> None:
        rng = self.rng
        author, username = rng.choice(self.members)
        mentioned = {rng.choice(self.members)[1] for _ in range(rng.choice((0, 0, 1, 1, 2)))}
        content = " ".join([*(f"@{name}" for name in sorted(mentioned)), self.say()])
        written = self.wrote(
            self.services.writer.create(
                Message.create(content, username, project_id=project_id), user_id=author
            )
        )
        message_id = written.aggregate.id
        self.messages[message_id] = _Message(author, project_id)
        self.editable.append(message_id)
        if project_id == self.project_id:
            self.in_project[1] += 1
        else:
            self.other_messages += 1

    def _pick_editable(self) -> str | None:
        """A random message that is neither deleted nor edited ``MAX_EDITS`` times."""
        while self.editable:
            index = self.rng.randrange(len(self.editable))
            message_id = self.editable[index]
            message = self.messages[message_id]
            if not message.deleted and message.edits < MAX_EDITS:
                return message_id
            self.editable[index] = self.editable[-1]
            self.editable.pop()
        return None

    def edit(self) -> None:
        message_id = self._pick_editable()
        if message_id is None:
            return
        message = self.messages[message_id]
        addition = self.say(1)

        def edit(aggregate: Message) -> None:
            aggregate.edit(f"{aggregate.content} {addition}"[:3900])

        self.wrote(self.services.writer.change(Message, message_id, edit, user_id=message.author))
        message.edits += 1
        self.edits += 1

    def delete(self) -> None:
        message_id = self._pick_editable()
        if message_id is None:
            return
        message = self.messages[message_id]
        self.wrote(
            self.services.writer.change(
                Message, message_id, lambda m: m.delete(), user_id=message.author
            )
        )
        message.deleted = True
        self.deletes += 1
        if message.project_id == self.project_id:
            self.in_project[2] += 1

    def ticket(self, project_id: str) -> None:
        rng = self.rng
        author = rng.choice(self.members)[0]
        ticket = Ticket.create(
            self.say(1)[:200],
            project_id,
            self.say(3),
            rng.choice(("low", "medium", "medium", "high", "critical")),
        )
        written = self.wrote(self.services.writer.create(ticket, user_id=author))
        self.tickets[written.aggregate.id] = _Ticket(project_id)
        self.ticket_ids.append(written.aggregate.id)
        if project_id == self.project_id:
            self.in_project[0] += 1
        else:
            self.other_tickets += 1

    def move_ticket(self) -> None:
        """Assign a random ticket (when unassigned and not closed) or change its status."""
        if not self.ticket_ids:
            return
        rng = self.rng
        ticket_id = rng.choice(self.ticket_ids)
        ticket = self.tickets[ticket_id]
        writer = self.services.writer
        if ticket.assigned_to is None and ticket.status != "closed":
            assignee = rng.choice(self.members)[0]
            admin = self.admin
            written = writer.change(
                Ticket, ticket_id, lambda t: t.assign(assignee, admin), user_id=admin
            )
        else:
            choices = sorted(TRANSITIONS[ticket.status])
            status = rng.choices(choices, [STATUS_WEIGHTS[name] for name in choices])[0]
            actor = ticket.assigned_to or self.admin
            written = writer.change(
                Ticket, ticket_id, lambda t: t.change_status(status), user_id=actor
            )
        self.wrote(written)
        aggregate: Ticket = written.aggregate
        ticket.status, ticket.assigned_to = aggregate.status, aggregate.assigned_to
        self.ticket_moves += 1

    def project_status(self, status: str) -> None:
        self.wrote(
            self.services.writer.change(
                Project, self.project_id, lambda p: p.change_status(status), user_id=self.admin
            )
        )


def password(username: str) -> str:
    return f"{username}-bench-password"


def build(
    services: Services, *, messages: int, tickets: int, users: int, text: Sequence[str], seed: int
) -> Built:
    """Write the users, the two projects and their messages and tickets through the writer."""
    started = time.perf_counter()
    state = _Build(services, random.Random(seed), text)
    accounts = [("admin", "admin"), ("auditor", "auditor")]
    accounts += [(name, "member") for name in MEMBER_NAMES[:users]]
    for username, role in accounts:
        written = state.wrote(
            create_user(
                services.writer,
                services.credentials,
                username=username,
                email=f"{username}@example.com",
                role=role,
                password=password(username),
                created_by="system:bench",
            )
        )
        if role == "member":
            state.members.append((written.aggregate.id, username))
        elif role == "admin":
            state.admin = written.aggregate.id
    create = services.writer.create
    state.project_id = state.wrote(
        create(
            Project.create("Launch", state.admin, "Everything about the launch"),
            user_id=state.admin,
        )
    ).aggregate.id
    other = state.wrote(
        create(Project.create("Elsewhere", state.admin, "Another team's work"), user_id=state.admin)
    ).aggregate.id
    rng = state.rng
    half: tuple[datetime, Counts] | None = None
    for step in range(messages):
        state.message(state.project_id)
        if rng.random() < OTHER_SHARE:
            state.message(other)
        for _ in range((step + 1) * tickets // messages - step * tickets // messages):
            state.ticket(state.project_id)
        if rng.random() < OTHER_SHARE * tickets / messages:
            state.ticket(other)
        if rng.random() < EDIT_CHANCE:
            state.edit()
        if rng.random() < DELETE_CHANCE:
            state.delete()
        if rng.random() < TICKET_MOVE_CHANCE:
            state.move_ticket()
        if step == messages * 3 // 4:
            state.project_status("on_hold")
        if step == messages * 9 // 10:
            state.project_status("active")
        if step + 1 == (messages + 1) // 2:
            assert state.last is not None
            half = (state.last, state.counts())
    assert half is not None and state.last is not None
    seconds = time.perf_counter() - started
    return Built(
        project_id=state.project_id,
        instants={"end": state.last, "halfway": half[0]},
        expected={"end": state.counts(), "halfway": half[1]},
        seconds=seconds,
        writes=state.writes,
        events=services.chat.store.get_event_count(),
        other_messages=state.other_messages,
        other_tickets=state.other_tickets,
        edits=state.edits,
        deletes=state.deletes,
        ticket_moves=state.ticket_moves,
    )


# -- the measurements ------------------------------------------------------------------------


@dataclass
class Seen:
    """What the last call of one subject returned."""

    counts: Counts | None = None
    body_bytes: int | None = None
    peak_bytes: int | None = None


def _counts(view: dict[str, Any]) -> Counts:
    messages = view["messages"]
    return Counts(
        len(view["tickets"]), len(messages), sum(1 for message in messages if message["deleted"])
    )


def _checked(view: dict[str, Any], expected: Counts, what: str) -> Counts:
    found = _counts(view)
    if found != expected:
        raise RuntimeError(f"{what}: returned {found}, the build wrote {expected}")
    return found


def direct_call(
    store: EventStore, project_id: str, instant: datetime, expected: Counts, seen: Seen
) -> Callable[[], float]:
    """One ``project_at`` call: its milliseconds, its result checked."""

    def call() -> float:
        started = time.perf_counter()
        view = project_at(store, project_id, instant)
        elapsed = (time.perf_counter() - started) * 1000
        seen.counts = _checked(view, expected, f"project_at at {instant.isoformat()}")
        return elapsed

    return call


def http_call(
    client: TestClient,
    headers: dict[str, str],
    project_id: str,
    instant: datetime,
    expected: Counts,
    seen: Seen,
) -> Callable[[], float]:
    """One ``GET /audit/projects/{id}/at``: milliseconds until the whole body is in."""
    path = f"/audit/projects/{project_id}/at"
    params = {"at": instant.isoformat()}

    def call() -> float:
        started = time.perf_counter()
        response = client.get(path, params=params, headers=headers)
        body = response.content
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
        seen.body_bytes = len(body)
        seen.counts = _checked(orjson.loads(body), expected, f"GET {path}")
        return elapsed

    return call


def peak_memory(call: Callable[[], float]) -> int:
    """The peak Python memory (tracemalloc) of one call, in bytes, from what was traced before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def profile(store: EventStore, project_id: str, instant: datetime, top: int) -> str:
    """One direct call under cProfile: its ``top`` functions by own time, then cumulative."""
    profiler = cProfile.Profile()
    profiler.enable()
    project_at(store, project_id, instant)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


@dataclass
class Row:
    """One line of the table: an instant, a way of calling, its figure and what it returned."""

    backend: str
    instant: str
    at: str
    via: str
    figure: Figure
    seen: Seen


@dataclass
class Measured:
    backend: str
    built: Built
    rows: list[Row]
    profile: str | None = None


def _settings(site: Site, url: str, key_schema: str | None) -> EventConfig:
    return load_settings(
        store_url=url,
        store_type=site.backend,
        secret_key=SECRET_KEY,
        key_encryption_key=new_kek_text(),
        key_store_schema=key_schema,
    )


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def measure(site: Site, args: argparse.Namespace, text: Sequence[str]) -> Measured:
    backend = site.backend
    with contextlib.ExitStack() as cleanup:
        key_schema = None
        if isinstance(site, PostgresSite):
            key_schema = f"bench_keys_{uuid.uuid4().hex[:8]}"
            cleanup.callback(_drop_schema, site.url, key_schema)  # after the service closed
        place = site.place("project_view")
        app = create_app(_settings(site, place.chronicle_url, key_schema))
        client = cleanup.enter_context(TestClient(app))  # the lifespan opens the services
        services: Services = app.state.services
        print(f"  {backend}: building the data through the service's writer …", flush=True)
        built = build(
            services,
            messages=args.messages,
            tickets=args.tickets,
            users=args.users,
            text=text,
            seed=args.seed,
        )
        print(
            f"  {backend}: built in {built.seconds:.1f} s ({built.writes:,} writes, "
            f"{built.events:,} events)",
            flush=True,
        )
        token = client.post(
            "/auth/token", data={"username": "auditor", "password": password("auditor")}
        )
        if token.status_code != 200:
            raise RuntimeError(f"the auditor cannot sign in: {token.status_code} {token.text}")
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        store = services.chat.store
        seen: dict[str, Seen] = {}
        subjects = []
        for instant in INSTANTS:
            at, expected = built.instants[instant], built.expected[instant]
            for via in VIAS:
                name = f"{via}@{instant}"
                seen[name] = Seen()
                call = (
                    direct_call(store, built.project_id, at, expected, seen[name])
                    if via == "direct"
                    else http_call(client, headers, built.project_id, at, expected, seen[name])
                )
                seen[name].peak_bytes = peak_memory(call)  # unmeasured; a warm-up too
                subjects.append(Subject(name, call))
        print(f"  {backend}: peak memory measured, timing …", flush=True)
        result = run_benchmark(
            Benchmark(
                case=0,
                key="project_view.at",
                title="GET /audit/projects/{id}/at",
                backend=backend,
                unit="ms",
                subjects=subjects,
            ),
            args.repeat,
        )
        rows = [
            Row(
                backend,
                instant,
                built.instants[instant].isoformat(),
                via,
                result.figures[f"{via}@{instant}"],
                seen[f"{via}@{instant}"],
            )
            for instant in INSTANTS
            for via in VIAS
        ]
        profiled = None
        if args.profile:
            profiled = profile(store, built.project_id, built.instants["end"], args.profile)
        return Measured(backend, built, rows, profiled)
    raise AssertionError("unreachable")  # the ExitStack never swallows an exception


# -- the report --------------------------------------------------------------------------------

HEADERS = [
    "backend",
    "instant",
    "via",
    "ms median (min-max)",
    "tickets",
    "messages (deleted)",
    "response",
    "peak memory",
]
BUILD_HEADERS = [
    "backend",
    "build",
    "writes",
    "ms/write",
    "events",
    "in the project",
    "elsewhere",
    "edits, deletes, ticket moves",
]


def _mib(size: int | None) -> str:
    return "-" if size is None else f"{size / 1024 / 1024:,.1f} MiB"


def _figure(figure: Figure) -> str:
    return f"{figure.median:,.0f} ({figure.minimum:,.0f}-{figure.maximum:,.0f})"


def cells(measured: list[Measured]) -> list[list[str]]:
    table = []
    for backend in measured:
        for row in backend.rows:
            counts = row.seen.counts
            table.append(
                [
                    row.backend,
                    f"{row.instant} ({row.at})",
                    row.via,
                    _figure(row.figure),
                    "-" if counts is None else f"{counts.tickets:,}",
                    "-" if counts is None else f"{counts.messages:,} ({counts.deleted:,})",
                    "-" if row.seen.body_bytes is None else _mib(row.seen.body_bytes),
                    _mib(row.seen.peak_bytes),
                ]
            )
    return table


def build_cells(measured: list[Measured]) -> list[list[str]]:
    table = []
    for backend in measured:
        built = backend.built
        end = built.expected["end"]
        table.append(
            [
                backend.backend,
                f"{built.seconds:,.1f} s",
                f"{built.writes:,}",
                f"{built.seconds * 1000 / built.writes:.2f}",
                f"{built.events:,}",
                f"{end.messages:,} messages ({end.deleted:,} deleted), {end.tickets:,} tickets",
                f"{built.other_messages:,} messages, {built.other_tickets:,} tickets",
                f"{built.edits:,}, {built.deletes:,}, {built.ticket_moves:,}",
            ]
        )
    return table


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in rows]
    return "\n".join(lines)


def document(measured: list[Measured], caption: str) -> dict[str, Any]:
    def counts(found: Counts | None) -> dict[str, int] | None:
        return None if found is None else vars(found)

    return {
        "caption": caption,
        "figures_meaning": "median (min-max) of the interleaved repetitions, milliseconds",
        "backends": [
            {
                "backend": backend.backend,
                "build": {
                    "seconds": backend.built.seconds,
                    "writes": backend.built.writes,
                    "events": backend.built.events,
                    "other_messages": backend.built.other_messages,
                    "other_tickets": backend.built.other_tickets,
                    "edits": backend.built.edits,
                    "deletes": backend.built.deletes,
                    "ticket_moves": backend.built.ticket_moves,
                },
                "rows": [
                    {
                        "instant": row.instant,
                        "at": row.at,
                        "via": row.via,
                        "median_ms": row.figure.median,
                        "min_ms": row.figure.minimum,
                        "max_ms": row.figure.maximum,
                        "runs_ms": list(row.figure.runs),
                        "returned": counts(row.seen.counts),
                        "response_bytes": row.seen.body_bytes,
                        "peak_python_bytes": row.seen.peak_bytes,
                    }
                    for row in backend.rows
                ],
                "profile": backend.profile,
            }
            for backend in measured
        ],
    }


# -- the command line --------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=10_000, help="messages in the project (default 10,000)"
    )
    parser.add_argument(
        "--tickets", type=int, default=1_000, help="tickets in the project (default 1,000)"
    )
    parser.add_argument(
        "--users", type=int, default=8, help=f"members writing (1-{len(MEMBER_NAMES)})"
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (default 3)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres",
        default=None,
        help="benchmark database (default: CHRONICLE_BENCH_POSTGRES_URL or "
        "postgresql://postgres@127.0.0.1:5432/chronicle_bench; created if missing)",
    )
    parser.add_argument("--seed", type=int, default=17, help="the build's random seed")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile one direct call at the end and print its N costliest functions",
    )
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if min(args.messages, args.repeat) < 1 or args.tickets < 0:
        parser.error("--messages and --repeat must be at least 1, --tickets at least 0")
    if not 1 <= args.users <= len(MEMBER_NAMES):
        parser.error(f"--users must be 1-{len(MEMBER_NAMES)}")
    unknown = set(args.backends.split(",")) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}: sqlite, postgresql")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    text = sentences()
    measured: list[Measured] = []
    postgres_version = None
    for backend in args.backends.split(","):
        site: Site = SQLiteSite() if backend == "sqlite" else PostgresSite(args.postgres)
        try:
            if isinstance(site, PostgresSite):
                postgres_version = site.server_version()
            measured.append(measure(site, args, text))
        finally:
            site.close()
    described = machine.describe(postgres_version)
    caption = (
        f"median (min-max) of {args.repeat} interleaved runs, {time.perf_counter() - started:.0f} s"
        f"; {args.messages:,} messages and {args.tickets:,} tickets in the project; "
        f"{described['cores']} cores ({described['cpu']}), Python {described['python']}, "
        f"PostgreSQL {described['postgresql']}, SQLite {described['sqlite']}, "
        f"psycopg {described['psycopg']}"
    )
    for backend in measured:
        if backend.profile:
            print()
            print(f"profile of one direct call at the end, {backend.backend}:")
            print(backend.profile)
    print()
    print("building the data (through the service's writer, one command per transaction):")
    print()
    print(markdown(BUILD_HEADERS, build_cells(measured)))
    print()
    print(caption)
    print()
    print(markdown(HEADERS, cells(measured)))
    if args.output:
        result = document(measured, caption)
        result["machine"] = described
        args.output.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
