"""Personal data: appends and whole-log reads with personal fields sealed, beside them in clear.

Run on demand (never in the test suite):

    PYTHONPATH=src:. .venv/bin/python bench/personal_bench.py [--events 10000] [--batch 100]
        [--users 200] [--repeat 3] [--backends sqlite,postgresql] [--postgres URL] [--output F]

The events are the chat domain's own, with the personal fields the chat policy declares
(``chronicle.chat.wiring.chat_personal_policy()``) and real English text (the compression
benchmark's sentences of the standard library's documentation, the same on every run). Each
repetition brings ``--users`` new users and ``--events`` events of messages by them:

- registrations: one ``UserCreated`` per user and transaction, appended by ``system:import``
  (username and email are personal, the subject is the user: the sealed store makes the user's
  data key here, in its key store);
- messages: a ``MessageCreated`` (content, username, mentions: personal, the subject is the
  author, the append's ``user_id``) and ``MessageUpdated`` edits, ``--batch`` events per
  transaction (100 by default, as case 2 of the benchmarks), each by one of the users.

Three contenders write the same events, each on a place of its own (bench/places.py: a fresh
SQLite file, or a fresh PostgreSQL schema, all dropped at the end), measured ``--repeat`` times
interleaved with the order rotating (bench/harness.py); figures are median (min-max):

- sealed: ``open_store(url, personal=personal_data_for(chat_personal_policy(), url, settings))``
  with ``CHRONICLE_KEY_ENCRYPTION_KEY`` set (a fresh key each run) and the default key cache
  (1 s); its key store is ``<stem>-keys.db`` beside the SQLite file, or a fresh schema
  (``CHRONICLE_KEY_STORE_SCHEMA``) of the PostgreSQL database;
- plain: ``open_store(url)`` with the same settings, without ``personal=``: events as given;
- raw driver: sqlite3 / psycopg ``executemany`` of one ``INSERT`` per event of the same JSON
  (orjson) into a table of Chronicle's layout, one transaction per append (SQLite: ``BEGIN
  IMMEDIATE``, WAL, ``synchronous=FULL``, as Chronicle); reads are keyset ``SELECT``s of every
  row decoded with orjson (bench/reads.py).

Then each reads its whole log in commit order (``read_all`` pages of 10,000 to the end), twice:

- as a relay or an archiver does, the events alone: a sealed event opens only when its ``data``
  (or ``personal``) is first asked for, so this read decodes the stored rows and decrypts
  nothing;
- as a projection does, every event's ``data``: a sealed read then opens every envelope, the key
  looked up by id (cached) and AES-256-GCM decryption (the commitment is checked by ``chronicle
  verify``, not on reads). It is measured through a store whose key cache holds every key
  (``CHRONICLE_KEY_CACHE_SECONDS=3600``, warmed by one unmeasured pass), and again through the
  append store with the default 1 s cache, which goes back to the key store for each key once a
  second.

The raw driver's read decodes every row's JSON with orjson (bench/reads.py) in both. After the
reads, a check compares what the sealed store gives back with the plain store's events and
looks at the stored rows (an envelope in each, no content or email in clear).
No timing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench import machine
from bench.compression_bench import sentences
from bench.harness import Benchmark, Figure, Result, Subject, run_benchmark, speed_of
from bench.places import Place, PostgresSite, Site, SQLiteSite
from bench.reads import scan_log
from chronicle import EventStore, NewEvent
from chronicle.bootstrap import open_store, personal_data_for
from chronicle.chat.domain import chat_events
from chronicle.chat.domain.events import MessageCreated, MessageUpdated, UserCreated
from chronicle.chat.wiring import chat_personal_policy
from chronicle.config import EventConfig, load_settings
from chronicle.personal.envelope import ENVELOPE
from chronicle.personal.kek import new_kek_text
from chronicle.personal.protector import PersonalData

PAGE = 10_000  # events per read_all page (and per raw SELECT), as case 6
WARM_CACHE_SECONDS = 3600.0  # the longest CHRONICLE_KEY_CACHE_SECONDS takes
ACCEPTANCE = 0.8  # sealed/plain asked of appends and reads; reported, never asserted
SUBJECTS = ("sealed", "plain", "raw")
_RAW_COLUMNS = (
    "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, partition, "
    "timestamp, user_id, data, metadata, hash"
)
_RAW_HASH = bytes(32)


# -- the events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Append:
    """One ``store.append``: one aggregate's events in one transaction."""

    aggregate_id: str
    aggregate_type: str
    user_id: str
    events: tuple[NewEvent, ...]


@dataclass(frozen=True)
class Workload:
    """What one repetition appends, the same for every contender."""

    registrations: tuple[Append, ...]
    messages: tuple[Append, ...]


def count(appends: Sequence[Append]) -> int:
    return sum(len(append.events) for append in appends)


def workload(
    repetition: int, *, users: int, events: int, batch: int, text: Sequence[str], seed: int = 11
) -> Workload:
    """``users`` new users and ``events`` events of messages by them, ``batch`` per append."""
    rng = random.Random(seed * 1000 + repetition)
    to_new = chat_events.to_new_event

    def new_id(prefix: str) -> str:
        return f"{prefix}_{uuid.UUID(int=rng.getrandbits(128)).hex}"

    def say(sentences: int = 3) -> str:
        return " ".join(rng.choice(text) for _ in range(rng.randint(1, sentences)))[:1900]

    def metadata() -> dict[str, Any]:
        return {
            "correlation_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "source": "api",
            "client": rng.choice(("web", "ios", "android")),
        }

    ids = [new_id("user") for _ in range(users)]
    names = [
        f"{rng.choice(('ana', 'bo', 'chen', 'dee', 'eli'))}.{repetition}.{n}" for n in range(users)
    ]
    projects = [new_id("project") for _ in range(20)]
    registrations = tuple(
        Append(
            user,
            "User",
            "system:import",
            (
                to_new(
                    UserCreated(name, f"{name}@example.com", rng.choice(("member", "admin"))),
                    metadata=metadata(),
                ),
            ),
        )
        for user, name in zip(ids, names, strict=True)
    )
    messages: list[Append] = []
    written = 0
    while written < events:
        author = rng.randrange(users)
        size = min(batch, events - written)
        mentions = sorted({rng.choice(names) for _ in range(rng.randint(0, 2))})
        content = " ".join([*(f"@{name}" for name in mentions), say()])[:1900]
        items: list[Any] = [
            MessageCreated(content, names[author], "text", rng.choice(projects), mentions)
        ]
        items += [MessageUpdated(f"{content} {say(1)}"[:1900]) for _ in range(size - 1)]
        meta = metadata()
        messages.append(
            Append(
                new_id("message"),
                "Message",
                ids[author],
                tuple(to_new(item, metadata=meta) for item in items),
            )
        )
        written += size
    return Workload(registrations, tuple(messages))


# -- the contenders --------------------------------------------------------------------------


def chronicle_writer(store: EventStore) -> Callable[[Sequence[Append]], None]:
    def write(appends: Sequence[Append]) -> None:
        for append in appends:
            store.append(
                append.aggregate_id,
                list(append.events),
                expected_version=0,
                aggregate_type=append.aggregate_type,
                user_id=append.user_id,
            )

    return write


def raw_writer(conn: Any, backend: str) -> Callable[[Sequence[Append]], None]:
    """One transaction per append, ``executemany`` of one INSERT per event: same JSON (orjson),
    a constant hash, no version check."""
    marker = "%s" if backend == "postgresql" else "?"
    sql = f"INSERT INTO chronicle_events ({_RAW_COLUMNS}) VALUES ({', '.join([marker] * 12)})"
    dumps = orjson.dumps

    def rows(append: Append) -> list[tuple[Any, ...]]:
        now = datetime.now(UTC)
        stamp: Any = now if backend == "postgresql" else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        partition = zlib.crc32(append.aggregate_id.encode()) % 256
        return [
            (
                str(uuid.uuid4()),
                append.aggregate_id,
                append.aggregate_type,
                event.event_type,
                version,
                event.schema_version,
                partition,
                stamp,
                append.user_id,
                dumps(event.data),
                dumps(event.metadata or {}),
                _RAW_HASH,
            )
            for version, event in enumerate(append.events, 1)
        ]

    if backend == "postgresql":

        def write_postgres(appends: Sequence[Append]) -> None:
            for append in appends:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, rows(append))

        return write_postgres

    def write_sqlite(appends: Sequence[Append]) -> None:
        for append in appends:
            params = rows(append)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    return write_sqlite


def appending(
    write: Callable[[Sequence[Append]], None], parts: Sequence[Sequence[Append]]
) -> Callable[[], float]:
    """A measurement: events per second of writing the next of ``parts`` (one per repetition)."""
    remaining: Iterator[Sequence[Append]] = iter(parts)

    def measure() -> float:
        appends = next(remaining)
        started = time.perf_counter()
        write(appends)
        return count(appends) / (time.perf_counter() - started)

    return measure


def chronicle_scan(store: EventStore, page: int = PAGE) -> int:
    """Reads the whole log as a relay or an archiver does: the events, not their personal
    fields (a sealed event opens only when its ``data`` is asked for)."""
    after: int | None = None
    total = 0
    while events := store.read_all(after=after, limit=page):
        total += len(events)
        after = events[-1].position
    return total


def chronicle_use(store: EventStore, page: int = PAGE) -> int:
    """Reads the whole log as a projection does: every event's ``data`` (a sealed event's
    personal fields opened, its key from the cache or the key store)."""
    after: int | None = None
    total = 0
    while events := store.read_all(after=after, limit=page):
        total += len([event.data for event in events])
        after = events[-1].position
    return total


# -- the check -------------------------------------------------------------------------------


def _stored_rows(place: Place) -> list[tuple[Any, ...]]:
    conn = place.raw_connect()
    try:
        rows: list[tuple[Any, ...]] = conn.execute(
            "SELECT aggregate_id, version, data FROM chronicle_events ORDER BY position"
        ).fetchall()
    finally:
        conn.close()
    return rows


def check_sealed(sealed: EventStore, plain: EventStore, sealed_place: Place) -> str:
    """What the sealed store gives back is the plain store's events; its rows hide them."""
    given = {(e.aggregate_id, e.version): e.data for e in _all_events(plain)}
    opened = {(e.aggregate_id, e.version): e.data for e in _all_events(sealed)}
    equal = sum(1 for key, data in opened.items() if given.get(key) == data)
    enveloped = in_clear = 0
    rows = _stored_rows(sealed_place)
    for aggregate_id, version, stored in rows:
        raw = bytes(stored)
        if f'"{ENVELOPE}"'.encode() in raw:
            enveloped += 1
        data = given.get((aggregate_id, version), {})
        for name in ("content", "email"):
            value = data.get(name)
            if isinstance(value, str) and orjson.dumps(value)[1:-1] in raw:
                in_clear += 1
    return (
        f"sealed store: {equal:,} of {len(given):,} events read back equal to the plain store's; "
        f"{enveloped:,} of {len(rows):,} rows hold an envelope, {in_clear} a content or email "
        "in clear"
    )


def _all_events(store: EventStore) -> Iterator[Any]:
    after: int | None = None
    while events := store.read_all(after=after, limit=PAGE):
        yield from events
        after = events[-1].position


# -- one backend -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a benchmark's figures, or the sealed figure of ``sealed_from``."""

    title: str
    result: Result
    sealed_from: str = "sealed"
    notes: str = ""

    @property
    def figures(self) -> dict[str, Figure]:
        found = dict(self.result.figures)
        found["sealed"] = found[self.sealed_from]
        return found


def measure(site: Site, args: argparse.Namespace, text: Sequence[str]) -> list[Row]:
    backend = site.backend
    started = time.perf_counter()
    workloads = [
        workload(rep, users=args.users, events=args.events, batch=args.batch, text=text)
        for rep in range(args.repeat)
    ]
    kek = new_kek_text()
    key_schema = f"bench_keys_{uuid.uuid4().hex[:8]}"
    settings = load_settings(key_encryption_key=kek, key_store_schema=key_schema)
    warm_settings = load_settings(
        key_encryption_key=kek, key_store_schema=key_schema, key_cache_seconds=WARM_CACHE_SECONDS
    )
    policy = chat_personal_policy()
    with contextlib.ExitStack() as cleanup:
        if isinstance(site, PostgresSite):
            cleanup.callback(_drop_schema, site.url, key_schema)  # after every pool is closed
        sealed_place, plain_place, raw_place = (site.place(name) for name in SUBJECTS)
        personal = _personal(policy, sealed_place.chronicle_url, settings, cleanup)
        sealed = open_store(sealed_place.chronicle_url, settings=settings, personal=personal)
        cleanup.callback(sealed.close)
        plain = open_store(plain_place.chronicle_url, settings=settings)
        cleanup.callback(plain.close)
        open_store(raw_place.chronicle_url, settings=settings).close()  # Chronicle's layout
        raw = raw_place.raw_connect()
        cleanup.callback(raw.close)
        personal.keys.keys([])  # opens the key store now, not inside the first measurement

        writers = {
            "sealed": chronicle_writer(sealed),
            "plain": chronicle_writer(plain),
            "raw": raw_writer(raw, backend),
        }
        users_per_run = count(workloads[0].registrations)
        messages_per_run = count(workloads[0].messages)
        rows: list[Row] = []
        register = Benchmark(
            case=0,
            key="personal.register",
            title="register users",
            backend=backend,
            unit="events/s",
            subjects=[
                Subject(name, appending(write, [w.registrations for w in workloads]))
                for name, write in writers.items()
            ],
        )
        rows.append(
            Row(
                f"register users: `UserCreated`, 1 event per transaction, {users_per_run:,} "
                "new users per run (sealed: each makes its data key)",
                run_benchmark(register, args.repeat),
                notes="sealed: one more durable commit per user, in the key store",
            )
        )
        print(f"  {backend}: registrations measured ({time.perf_counter() - started:.0f} s)")
        messages = Benchmark(
            case=0,
            key="personal.messages",
            title="append messages",
            backend=backend,
            unit="events/s",
            subjects=[
                Subject(name, appending(write, [w.messages for w in workloads]))
                for name, write in writers.items()
            ],
        )
        rows.append(
            Row(
                f"append messages: `MessageCreated` + `MessageUpdated`, {args.batch} events per "
                f"transaction, {messages_per_run:,} per run by {args.users} users",
                run_benchmark(messages, args.repeat),
                notes="sealed: key cache 1 s (the default), so an author's key is looked up "
                "again in the key store once a second",
            )
        )
        print(f"  {backend}: message appends measured ({time.perf_counter() - started:.0f} s)")

        total = args.repeat * (users_per_run + messages_per_run)
        reader_personal = _personal(policy, sealed_place.chronicle_url, warm_settings, cleanup)
        reader = open_store(
            sealed_place.chronicle_url, settings=warm_settings, personal=reader_personal
        )
        cleanup.callback(reader.close)
        warmed = chronicle_use(reader)  # every key into the cache, unmeasured
        if warmed != total:
            raise RuntimeError(f"read {warmed:,} events, expected {total:,}")
        reads = Benchmark(
            case=0,
            key="personal.read",
            title="read the whole log",
            backend=backend,
            unit="events/s",
            subjects=[
                Subject("sealed", speed_of(lambda: chronicle_scan(reader), total)),
                Subject("plain", speed_of(lambda: chronicle_scan(plain), total)),
                Subject("raw", speed_of(lambda: scan_log(raw, backend, PAGE), total)),
            ],
            check=lambda: check_sealed(reader, plain, sealed_place),
        )
        read = run_benchmark(reads, args.repeat)
        rows.append(
            Row(
                f"read the whole log ({total:,} events, pages of {PAGE:,}) as a relay or an "
                "archive does: the events, sealed fields left sealed",
                read,
                notes="; ".join(read.notes),
            )
        )
        uses = Benchmark(
            case=0,
            key="personal.use",
            title="read the whole log and every event's data",
            backend=backend,
            unit="events/s",
            subjects=[
                Subject("sealed", speed_of(lambda: chronicle_use(reader), total)),
                Subject("plain", speed_of(lambda: chronicle_use(plain), total)),
                Subject("raw", speed_of(lambda: scan_log(raw, backend, PAGE), total)),
                Subject("sealed_1s", speed_of(lambda: chronicle_use(sealed), total)),
            ],
        )
        use = run_benchmark(uses, args.repeat)
        rows.append(
            Row(
                "read the whole log and every event's data, as a projection does (sealed: "
                "every envelope opened), warm key cache",
                use,
            )
        )
        rows.append(
            Row(
                "read the whole log and every event's data, key cache 1 s (the default)",
                use,
                sealed_from="sealed_1s",
                notes="plain and raw: the runs of the row above, interleaved with these",
            )
        )
        print(f"  {backend}: reads measured ({time.perf_counter() - started:.0f} s)")
        return rows


def _personal(
    policy: Any, url: str, settings: EventConfig, cleanup: contextlib.ExitStack
) -> PersonalData:
    personal = personal_data_for(policy, url, settings)
    cleanup.callback(personal.keys.close)
    return personal


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- the report ------------------------------------------------------------------------------

HEADERS = [
    "what",
    "backend",
    "unit",
    "sealed",
    "plain",
    "raw driver",
    "sealed/plain",
    "sealed/raw",
    "plain/raw",
    "notes",
]


def _figure(figure: Figure) -> str:
    return f"{figure.median:,.0f} ({figure.minimum:,.0f}-{figure.maximum:,.0f})"


def _ratio(a: Figure, b: Figure) -> float:
    return a.median / b.median if b.median else float("nan")


def cells(rows: list[Row]) -> list[list[str]]:
    table = []
    for row in rows:
        f = row.figures
        table.append(
            [
                row.title,
                row.result.backend,
                row.result.unit,
                _figure(f["sealed"]),
                _figure(f["plain"]),
                _figure(f["raw"]),
                f"{_ratio(f['sealed'], f['plain']):.2f}x",
                f"{_ratio(f['sealed'], f['raw']):.2f}x",
                f"{_ratio(f['plain'], f['raw']):.2f}x",
                row.notes,
            ]
        )
    return table


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in cells(rows)]
    return "\n".join(lines)


def below_acceptance(rows: list[Row]) -> list[str]:
    """The rows whose sealed/plain falls below ``ACCEPTANCE`` (reported, not asserted)."""
    return [
        f"{row.result.backend}: {row.title.split(':')[0].split(' (')[0]} "
        f"{_ratio(row.figures['sealed'], row.figures['plain']):.2f}x"
        for row in rows
        if _ratio(row.figures["sealed"], row.figures["plain"]) < ACCEPTANCE
    ]


def document(rows: list[Row], caption: str) -> dict[str, Any]:
    return {
        "caption": caption,
        "ratio_meaning": "the first contender's speed relative to the second; below 1 slower",
        "figures_meaning": "median (min-max) of the interleaved repetitions, events/s",
        "rows": [
            {
                "what": row.title,
                "backend": row.result.backend,
                "unit": row.result.unit,
                "figures": {
                    name: {
                        "median": fig.median,
                        "min": fig.minimum,
                        "max": fig.maximum,
                        "runs": list(fig.runs),
                    }
                    for name, fig in row.figures.items()
                    if name in SUBJECTS
                },
                "sealed_plain": _ratio(row.figures["sealed"], row.figures["plain"]),
                "sealed_raw": _ratio(row.figures["sealed"], row.figures["raw"]),
                "plain_raw": _ratio(row.figures["plain"], row.figures["raw"]),
                "notes": row.notes,
            }
            for row in rows
        ],
    }


# -- the command line ------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=10_000, help="message events per run (default 10,000)"
    )
    parser.add_argument("--batch", type=int, default=100, help="events per message append")
    parser.add_argument("--users", type=int, default=200, help="new users per run")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (default 3)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres",
        default=None,
        help="benchmark database (default: CHRONICLE_BENCH_POSTGRES_URL or "
        "postgresql://postgres@127.0.0.1:5432/chronicle_bench; created if missing)",
    )
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if min(args.events, args.batch, args.users, args.repeat) < 1:
        parser.error("--events, --batch, --users and --repeat must be at least 1")
    unknown = set(args.backends.split(",")) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}: sqlite, postgresql")
    if args.batch > 10_000:
        parser.error("--batch must be at most 10,000 (the store's largest append)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    text = sentences()
    rows: list[Row] = []
    postgres_version = None
    for backend in args.backends.split(","):
        site: Site = SQLiteSite() if backend == "sqlite" else PostgresSite(args.postgres)
        try:
            if isinstance(site, PostgresSite):
                postgres_version = site.server_version()
            rows += measure(site, args, text)
        finally:
            site.close()
    described = machine.describe(postgres_version)
    caption = (
        f"median (min-max) of {args.repeat} interleaved runs, {time.perf_counter() - started:.0f} s"
        f"; {described['cores']} cores ({described['cpu']}), Python {described['python']}, "
        f"PostgreSQL {described['postgresql']}, SQLite {described['sqlite']}, "
        f"psycopg {described['psycopg']}"
    )
    print()
    print(caption)
    print()
    print(markdown(rows))
    print()
    short = below_acceptance(rows)
    listed = "; ".join(short) if short else "none"
    print(f"sealed/plain below {ACCEPTANCE:.2f}x: {listed} (reported, not asserted)")
    if args.output:
        result = document(rows, caption)
        result["machine"] = described
        args.output.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
