"""Compression of old events, on both SQL backends: smaller payloads, the same events, the same
hashes, and a database that lets the maintenance path change nothing but the encoding."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import Message
from chronicle.compression import MIN_TRAINING_EVENTS, Compressor
from chronicle.errors import ImmutableEventError, UpcastError
from chronicle.integrity import ProblemKind, Sealer, Verifier
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.repository import load_aggregate
from chronicle.store.payloads import GZIP, RAW, ZSTD, Encoder
from tests.support.chat_history import chat_history, message_id

KEY = load_signing_key(new_signing_key_text())
LATER = datetime.now(UTC) + timedelta(days=30)
"""A "now" at which every event appended by a test is older than the default seven days."""


def everything(store: EventStore) -> list[dict[str, object]]:
    return [event.to_dict() for event in store.read_all(limit=100_000)]


def codecs(store: EventStore) -> dict[int, int]:
    return {codec: count for codec, (count, _) in store.payload_bytes().items()}  # type: ignore[attr-defined]


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_compressed_events_read_back_exactly_with_the_same_hashes(
    store: EventStore, codec: str
) -> None:
    chat_history(store)
    before = everything(store)
    aggregate = store.get_events_for_aggregate(f"message_{5:032x}")
    typed = store.get_events_by_type("TicketAssigned")

    report = Compressor(store, codec=codec).run(LATER)

    assert report.events == len(before) and report.bytes_after < report.bytes_before
    assert codecs(store) == {ZSTD if codec == "zstd" else GZIP: len(before)}
    assert everything(store) == before  # every field, the hash included
    assert store.get_events_for_aggregate(f"message_{5:032x}") == aggregate
    assert store.get_events_by_type("TicketAssigned") == typed
    assert store.search_events(user_id="system:tests")[0].data["email"] == "alice@example.com"
    assert store.get_all_events(limit=5) == store.read_all(limit=5)


def test_a_trained_dictionary_makes_chat_events_at_least_twice_smaller(store: EventStore) -> None:
    chat_history(store, events=1500)
    report = Compressor(store).run(LATER)
    assert report.dictionaries_trained == [1]
    assert report.ratio is not None and report.ratio > 2.0
    [dictionary] = store.dictionaries()  # type: ignore[attr-defined]
    assert dictionary.number == 1 and dictionary.ratio > 2.0


def test_verification_passes_before_and_after_compression(store: EventStore) -> None:
    chat_history(store)
    Sealer(store, key=KEY).run_once()
    assert Verifier(store, public_key=KEY.public).verify().intact

    Compressor(store).run(LATER)

    report = Verifier(store, public_key=KEY.public).verify()
    assert report.intact, report.problems
    assert report.events_checked == store.get_event_count()


def test_only_events_older_than_the_cutoff_are_compressed(store: EventStore) -> None:
    chat_history(store)
    now = datetime.now(UTC)
    assert Compressor(store, after_days=7).run(now).events == 0  # nothing is a week old yet
    assert Compressor(store, after_days=7).run(now + timedelta(days=8)).events > 0
    assert codecs(store).get(RAW, 0) == 0


def test_a_dry_run_reports_what_it_would_do_and_changes_nothing(store: EventStore) -> None:
    chat_history(store)
    report = Compressor(store).run(LATER, dry_run=True)
    assert report.events == store.get_event_count() and report.ratio and report.ratio > 1.5
    assert codecs(store) == {RAW: store.get_event_count()}
    assert store.dictionaries() == []  # type: ignore[attr-defined]


def test_too_few_old_events_wait_for_a_dictionary(store: EventStore) -> None:
    chat_history(store, events=MIN_TRAINING_EVENTS // 2)
    report = Compressor(store).run(LATER)
    assert report.events == 0 and report.waiting is not None and "dictionary" in report.waiting
    assert codecs(store) == {RAW: store.get_event_count()}


def test_a_second_run_and_a_racing_compressor_leave_compressed_rows_alone(
    store: EventStore,
) -> None:
    chat_history(store)
    first = Compressor(store)
    rows = store.uncompressed_payloads(LATER, 0, 10)  # type: ignore[attr-defined]
    first.run(LATER)
    # A compressor that read the rows before the first one rewrote them changes nothing.
    assert store.rewrite_payloads(rows) == 0  # type: ignore[attr-defined]
    assert first.run(LATER).events == 0
    assert Verifier(store).verify().intact


def test_content_that_drifts_away_from_the_dictionary_gets_a_new_one(store: EventStore) -> None:
    rng = random.Random(2)
    chat_history(store, events=800)
    Compressor(store).run(LATER)
    # Then the users start writing about something else entirely, in another language.
    other = [
        "temperatura",
        "humedad",
        "presion",
        "viento",
        "lluvia",
        "nublado",
        "soleado",
        "tormenta",
        "niebla",
    ]
    for index in range(2000):
        words = " ".join(rng.choice(other) for _ in range(rng.randint(3, 6)))
        store.append(f"message_{index % 50 + 1000:032x}",
                     [NewEvent("SensorReading", {"lectura": words, "estacion": "norte"},
                               {"origen": "estacion-meteorologica"})],
                     expected_version=None, aggregate_type="Message")  # fmt: skip
    before = everything(store)

    report = Compressor(store, batch_size=250).run(LATER)

    assert 2 in report.dictionaries_trained
    assert [d.number for d in store.dictionaries()] == [1, 2]  # type: ignore[attr-defined]
    assert everything(store) == before


# -- what the database refuses -----------------------------------------------------------------


def placeholders(store: EventStore, sql: str) -> str:
    return sql.replace("?", "%s") if store.backend == "postgresql" else sql


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE chronicle_events SET data = data",  # a payload change that is no re-encoding
        "UPDATE chronicle_events SET codec = 1, user_id = 'mallory'",
        "UPDATE chronicle_events SET codec = 1, version = version + 100",
        "UPDATE chronicle_events SET codec = 7",  # no such codec
    ],
)
def test_the_database_lets_the_maintenance_path_change_only_the_encoding(
    store: EventStore, statement: str
) -> None:
    chat_history(store, events=5)
    before = everything(store)
    with pytest.raises(ImmutableEventError):
        store.execute_raw(statement)  # type: ignore[attr-defined]
    assert everything(store) == before


def test_dictionaries_cannot_be_changed_or_removed(store: EventStore) -> None:
    chat_history(store)
    Compressor(store).run(LATER)
    for statement in (
        "UPDATE chronicle_dictionaries SET ratio = 9",
        "DELETE FROM chronicle_dictionaries",
    ):
        with pytest.raises(ImmutableEventError):
            store.execute_raw(statement)  # type: ignore[attr-defined]
    assert len(store.dictionaries()) == 1  # type: ignore[attr-defined]


def test_verify_catches_a_maintenance_write_that_changed_content(store: EventStore) -> None:
    chat_history(store)
    Sealer(store, key=KEY).run_once()
    target = store.get_events_for_aggregate(f"message_{7:032x}")[0]
    [stored] = store.uncompressed_payloads(LATER, target.position - 1, 1)  # type: ignore[attr-defined]
    gzip = Encoder(GZIP).encode

    # Allowed by the guard (only payload and codec change), caught by the content hash.
    store.execute_raw(  # type: ignore[attr-defined]
        placeholders(
            store,
            "UPDATE chronicle_events SET codec = 1, data = ?, metadata = ? WHERE position = ?",
        ),
        (gzip(b'{"content":"forged"}'), gzip(stored.metadata), target.position),
    )
    assert store.get_events_for_aggregate(f"message_{7:032x}")[0].data == {"content": "forged"}

    report = Verifier(store, public_key=KEY.public).verify()
    assert not report.intact
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.CONTENT_CHANGED
    assert first.position == target.position


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE chronicle_events SET codec = 1 WHERE position = {position}",  # not gzip at all
        "UPDATE chronicle_events SET codec = 2 WHERE position = {position}",  # no zstd frame
    ],
)
def test_a_payload_that_no_longer_decodes_is_read_and_named_by_verify(
    store: EventStore, statement: str
) -> None:
    chat_history(store, events=20)
    target = store.get_events_for_aggregate(f"message_{3:032x}")[0]
    store.execute_raw(statement.format(position=target.position))  # type: ignore[attr-defined]

    [read] = store.get_events_for_aggregate(f"message_{3:032x}")[:1]
    assert list(read.data) == ["chronicle:unreadable"]
    report = Verifier(store).verify()
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.CONTENT_CHANGED
    assert first.position == target.position


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_compressed_aggregates_load_to_the_state_they_had_before(
    store: EventStore, codec: str
) -> None:
    chat_history(store)
    ids = [message_id(index) for index in range(12)]
    before = {aggregate_id: load_aggregate(store, Message, aggregate_id) for aggregate_id in ids}
    replays = {aggregate_id: list(store.get_replay(aggregate_id).changes) for aggregate_id in ids}

    Compressor(store, codec=codec, after_days=0).run(datetime.now(UTC) + timedelta(seconds=1))

    assert RAW not in codecs(store)
    for aggregate_id in ids:
        loaded = load_aggregate(store, Message, aggregate_id, use_snapshots=False)
        assert loaded.state() == before[aggregate_id].state()
        assert loaded.version == before[aggregate_id].version
        assert list(store.get_replay(aggregate_id).changes) == replays[aggregate_id]


def test_an_aggregate_whose_payload_no_longer_decodes_does_not_load(store: EventStore) -> None:
    chat_history(store, events=20)
    target = store.get_events_for_aggregate(message_id(3))[0]
    store.execute_raw(  # type: ignore[attr-defined]
        f"UPDATE chronicle_events SET codec = 1 WHERE position = {target.position}"
    )
    [(_, _, data), *_] = store.get_replay(message_id(3)).changes
    assert list(data) == ["chronicle:unreadable"]
    with pytest.raises(UpcastError, match=f"{message_id(3)}@1"):
        load_aggregate(store, Message, message_id(3))
