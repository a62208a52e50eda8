"""``chronicle import``: an export, or the seed's ``event_store`` table, moved into a store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from typer.testing import CliRunner

from chronicle import EventStore, NewEvent, RecordedEvent
from chronicle.bootstrap import open_store
from chronicle.chat.domain import Ticket, new_id
from chronicle.cli import app
from chronicle.repository import Repository
from tests.integration.cli.subprocesses import run_chronicle, store_env
from tests.support.stores import chat_store

runner = CliRunner()


def chronicle(store_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--store-url", store_url])
    return result.exit_code, result.stdout, result.stderr


def write_ndjson(path: Path, documents: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in documents))
    return path


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[list[RecordedEvent]]:
    """Events recorded by another store: a ticket's life, batches, several users."""
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        repository = Repository(source, Ticket)
        ticket = Ticket.create("Bug", new_id("Project"), priority="high")
        repository.save(ticket, user_id="user_ops")
        ticket.assign(new_id("User"), new_id("User"))
        ticket.change_status("in_progress")
        repository.save(ticket, user_id="user_lead")
        for n in range(3):
            source.append(
                f"note_{n}",
                [NewEvent("NoteWritten", {"n": n}), NewEvent("NoteSigned", {"by": "bob"})],
                expected_version=0,
                aggregate_type="Note",
                user_id=None if n == 1 else f"user_{n}",
            )
        ticket.change_status("resolved")
        repository.save(ticket, user_id="user_ops")
        yield source.read_all()
    finally:
        source.close()


@pytest.fixture
def export(tmp_path: Path, recorded: list[RecordedEvent]) -> Path:
    """What ``GET /audit/export?format=ndjson`` writes for those events."""
    return write_ndjson(tmp_path / "export.ndjson", [event.to_dict() for event in recorded])


def envelope(event: RecordedEvent) -> tuple[object, ...]:
    return (
        event.event_id, event.aggregate_id, event.aggregate_type, event.event_type, event.version,
        event.timestamp, event.user_id, event.data, event.metadata, event.schema_version,
        event.hash,
    )  # fmt: skip


def test_an_export_imported_into_a_fresh_store_has_the_same_events_timestamps_and_hashes(
    store_url: str, store: EventStore, export: Path, recorded: list[RecordedEvent]
) -> None:
    code, out, err = chronicle(store_url, "import", str(export), "--json")
    assert code == 0, err
    report = orjson.loads(out)
    assert report["events"] == report["imported"] == len(recorded) == 10
    assert report["already_stored"] == 0 and report["aggregates"] == 4
    assert report["batches"] == 6  # as they were appended: 1 + 1 + 3 + 1
    assert [envelope(event) for event in store.read_all()] == [envelope(e) for e in recorded]
    assert chronicle(store_url, "verify")[0] == 0


def test_running_the_import_again_imports_nothing_new(
    store_url: str, store: EventStore, export: Path
) -> None:
    assert chronicle(store_url, "import", str(export))[0] == 0
    before = store.read_all()
    code, out, _ = chronicle(store_url, "import", str(export), "--json")
    assert code == 0
    assert orjson.loads(out) | {"source": None} == {
        "source": None, "events": 10, "imported": 0, "already_stored": 10, "batches": 0,
        "aggregates": 4,
    }  # fmt: skip
    assert store.read_all() == before


def test_an_import_that_stopped_part_way_continues_with_what_is_missing(
    store_url: str, store: EventStore, tmp_path: Path, export: Path
) -> None:
    lines = export.read_bytes().splitlines(keepends=True)
    first_part = tmp_path / "first.ndjson"
    first_part.write_bytes(b"".join(lines[:4]))  # stops inside the note batches
    assert chronicle(store_url, "import", str(first_part))[0] == 0
    code, out, _ = chronicle(store_url, "import", str(export), "--json")
    assert code == 0
    report = orjson.loads(out)
    assert (report["already_stored"], report["imported"]) == (4, 6)
    assert store.get_event_count() == 10
    assert chronicle(store_url, "verify")[0] == 0


def test_another_event_at_a_stored_version_is_refused_naming_the_line_and_aggregate(
    store_url: str, store: EventStore, export: Path
) -> None:
    store.append("note_0", [NewEvent("NoteWritten", {"n": 0})], expected_version=0,
                 aggregate_type="Note")  # fmt: skip
    code, _, err = chronicle(store_url, "import", str(export))
    assert code == 1
    line = next(
        number
        for number, text in enumerate(export.read_text().splitlines(), start=1)
        if '"note_0"' in text
    )
    assert f"line {line}:" in err and "'note_0'" in err and "another event at version 1" in err
    assert store.get_events_for_aggregate("note_0")[0].event_type == "NoteWritten"
    assert store.get_event_count("note_0") == 1


def test_an_event_changed_after_the_export_is_refused_by_its_hash(
    store_url: str, store: EventStore, tmp_path: Path, recorded: list[RecordedEvent]
) -> None:
    documents = [event.to_dict() for event in recorded]
    changed = next(i for i, doc in enumerate(documents) if doc["aggregate_id"] == "note_2")
    documents[changed]["data"] = {"n": 99}
    code, _, err = chronicle(
        store_url, "import", str(write_ndjson(tmp_path / "x.ndjson", documents))
    )
    assert code == 1
    assert f"line {changed + 1}:" in err and "changed after it was recorded" in err
    assert store.get_event_count("note_2") == 0
    assert store.get_event_count() == changed  # what came before it stays


def test_a_gap_in_an_aggregates_versions_is_refused(
    store_url: str, store: EventStore, tmp_path: Path, recorded: list[RecordedEvent]
) -> None:
    later = [event.to_dict() for event in recorded if event.version > 1]
    code, _, err = chronicle(store_url, "import", str(write_ndjson(tmp_path / "x.ndjson", later)))
    assert code == 1
    assert "line 1:" in err and "is at version 0 in the store" in err
    assert store.get_event_count() == 0


def _without(document: dict, name: str) -> dict:
    return {key: value for key, value in document.items() if key != name}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (lambda doc: b"{not json", "not JSON"),
        (lambda doc: orjson.dumps([doc]), "a line is a JSON object"),
        (lambda doc: orjson.dumps(_without(doc, "aggregate_id")), "missing aggregate_id"),
        (lambda doc: orjson.dumps(doc | {"timestamp": "2025-03-01T10:00:00"}), "no timezone"),
        (lambda doc: orjson.dumps(doc | {"timestamp": "yesterday"}), "is not ISO-8601"),
        (lambda doc: orjson.dumps(doc | {"timestamp": "2999-01-01T00:00:00Z"}), "between 1970"),
        (lambda doc: orjson.dumps(doc | {"event_id": "e-1"}), "event_id must be a UUID"),
        (lambda doc: orjson.dumps(doc | {"version": 0}), "version must be"),
        (lambda doc: orjson.dumps(doc | {"hash": "abc"}), "hash must be 64"),
    ],
)
def test_a_bad_line_is_a_clear_error_with_its_line_number_and_nothing_is_imported(
    store_url: str,
    store: EventStore,
    tmp_path: Path,
    recorded: list[RecordedEvent],
    bad_line,
    message: str,
) -> None:
    lines = [orjson.dumps(event.to_dict()) for event in recorded]
    lines[6] = bad_line(recorded[6].to_dict())
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, _, err = chronicle(store_url, "import", str(path))
    assert code == 2
    assert "line 7:" in err and message in err
    assert store.get_event_count() == 0  # the whole file is checked before anything is written


def test_a_year_of_old_events_can_be_made_and_reads_as_old(
    store_url: str, store: EventStore, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    documents = [
        {
            "event_id": f"00000000-0000-4000-8000-{day:012d}",
            "aggregate_id": f"message_{day % 7}",
            "aggregate_type": "Message",
            "event_type": "MessageCreated" if day < 7 else "MessageEdited",
            "version": day // 7 + 1,
            "timestamp": (now - timedelta(days=365 - day)).isoformat(),
            "user_id": "user_archive",
            "data": {"content": f"day {day}"},
        }
        for day in range(365)
    ]
    code, out, err = chronicle(
        store_url, "import", str(write_ndjson(tmp_path / "year.ndjson", documents)), "--json"
    )
    assert code == 0, err
    assert orjson.loads(out)["imported"] == 365
    half_a_year_ago = now - timedelta(days=182, hours=12)
    old = store.get_all_events(until=half_a_year_ago)
    assert len(old) == 183 and all(event.timestamp <= half_a_year_ago for event in old)
    assert store.stats().oldest_event == now - timedelta(days=365)
    assert chronicle(store_url, "verify")[0] == 0


# -- the seed's event_store table ---------------------------------------------------------------

SEED_TABLE = """CREATE TABLE event_store (
    id {serial} PRIMARY KEY,
    event_id VARCHAR(36) NOT NULL UNIQUE,
    aggregate_id VARCHAR(100) NOT NULL,
    aggregate_type VARCHAR(50) NOT NULL,
    event_type VARCHAR(100) NOT NULL,
    version INTEGER NOT NULL,
    timestamp {timestamp},
    user_id VARCHAR(100),
    event_data TEXT NOT NULL,
    metadata TEXT,
    UNIQUE (aggregate_id, version)
)"""
SEED_IDS = [f"5eed0000-0000-4000-8000-{n:012d}" for n in range(4)]
SEED_TIMES = [datetime(2025, 6, 1, 12, 0, n, 250000) for n in range(4)]  # naive: utcnow()


def seed_rows() -> list[tuple[object, ...]]:
    """Rows as the seed's ``EventStore.append_event`` writes them (event_data = to_json())."""
    events = [
        ("msg_1", "Message", "MessageCreated", 1, "7", {"content": "hi", "username": "ann",
                                                        "message_type": "text"}, None),
        ("user_7", "User", "UserCreated", 1, None, {"username": "ann", "email": "a@x.io",
                                                    "role": "member"}, {"ip": "10.0.0.1"}),
        ("msg_1", "Message", "MessageUpdated", 2, "7", {"content": "hi!"}, None),
        ("msg_1", "Message", "MessageDeleted", 3, "8", {}, None),
    ]  # fmt: skip
    rows = []
    for n, (aggregate, kind, event_type, version, user, fields, metadata) in enumerate(events):
        event_data = {
            "event_id": SEED_IDS[n], "aggregate_id": aggregate, "aggregate_type": kind,
            "event_type": event_type, "timestamp": SEED_TIMES[n].isoformat(), "version": version,
            "user_id": user, "metadata": metadata, **fields,
        }  # fmt: skip
        rows.append((
            SEED_IDS[n], aggregate, kind, event_type, version, SEED_TIMES[n], user,
            orjson.dumps(event_data).decode(), orjson.dumps(metadata).decode() if metadata else None,
        ))  # fmt: skip
    return rows


_INSERT = (
    "INSERT INTO event_store (event_id, aggregate_id, aggregate_type, event_type, version, "
    "timestamp, user_id, event_data, metadata) VALUES "
)


def check_seed_import(store_url: str, store: EventStore, seed_url: str) -> None:
    code, out, err = chronicle(store_url, "import", "--from-seed-table", seed_url, "--json")
    assert code == 0, err
    assert orjson.loads(out)["imported"] == 4
    # The seed's rows carry no hash: their personal fields are sealed as they are imported.
    assert "content" not in store.get_events_for_aggregate("msg_1")[0].data
    sealed = chat_store(store_url)
    message = sealed.get_events_for_aggregate("msg_1")
    assert [event.event_id for event in message] == [SEED_IDS[0], SEED_IDS[2], SEED_IDS[3]]
    assert [event.timestamp for event in message] == [
        SEED_TIMES[n].replace(tzinfo=UTC) for n in (0, 2, 3)
    ]
    assert [event.user_id for event in message] == ["7", "7", "8"]
    assert message[0].data == {"content": "hi", "username": "ann", "message_type": "text"}
    assert message[2].data == {}
    user = sealed.get_events_for_aggregate("user_7")[0]
    sealed.close()
    assert user.user_id is None and user.metadata["ip"] == "10.0.0.1"
    assert (user.event_type, user.aggregate_type) == ("UserCreated", "User")
    assert chronicle(store_url, "verify")[0] == 0
    code, out, _ = chronicle(store_url, "import", "--from-seed-table", seed_url, "--json")
    assert code == 0 and orjson.loads(out)["already_stored"] == 4


def test_the_seed_table_of_a_sqlite_database_is_imported(
    store_url: str, store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "seed.db"
    with sqlite3.connect(path) as connection:
        connection.execute(SEED_TABLE.format(serial="INTEGER", timestamp="DATETIME"))
        # SQLAlchemy keeps a SQLite DateTime as text: 2025-06-01 12:00:00.250000
        rows = [(*row[:5], str(row[5]), *row[6:]) for row in seed_rows()]
        connection.executemany(_INSERT + "(?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    check_seed_import(store_url, store, f"sqlite:///{path}")


def test_the_seed_table_of_a_postgresql_database_is_imported(
    store_url: str, store: EventStore, postgres_schema_url: str
) -> None:
    with psycopg.connect(postgres_schema_url, autocommit=True) as connection:
        connection.execute(SEED_TABLE.format(serial="SERIAL", timestamp="TIMESTAMP"))
        with connection.cursor() as cursor:
            cursor.executemany(_INSERT + "(%s, %s, %s, %s, %s, %s, %s, %s, %s)", seed_rows())
    seed_url = postgres_schema_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    check_seed_import(store_url, store, seed_url)


def test_a_bad_seed_row_is_named_by_its_id_and_nothing_is_imported(
    store_url: str, store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "seed.db"
    with sqlite3.connect(path) as connection:
        connection.execute(SEED_TABLE.format(serial="INTEGER", timestamp="DATETIME"))
        rows = [(*row[:5], str(row[5]), *row[6:]) for row in seed_rows()]
        rows[2] = (*rows[2][:7], "{not json", None)
        connection.executemany(_INSERT + "(?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    code, _, err = chronicle(store_url, "import", "--from-seed-table", f"sqlite:///{path}")
    assert code == 2
    assert "event_store row id 3: event_data is not JSON" in err
    assert store.get_event_count() == 0


def test_a_database_without_the_seed_table_is_a_clear_error(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    code, _, err = chronicle(store_url, "import", "--from-seed-table", f"sqlite:///{path}")
    assert code == 2 and "no readable seed table event_store" in err


def test_the_import_takes_exactly_one_source(store_url: str, export: Path) -> None:
    assert chronicle(store_url, "import")[0] == 2
    code, _, err = chronicle(store_url, "import", str(export), "--from-seed-table", "sqlite:///x")
    assert code == 2 and "one source" in err


def test_the_import_command_runs_as_a_subprocess(
    store_url: str, store: EventStore, export: Path
) -> None:
    result = run_chronicle("import", str(export), env=store_env(store_url))
    assert result.returncode == 0, result.stderr
    assert "imported 10 events in 6 batches (0 already stored)" in result.stdout
    assert store.get_event_count() == 10
