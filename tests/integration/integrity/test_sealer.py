"""The sealer follows the log, and the same events hash alike on every backend."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chronicle import EventStore, NewEvent
from chronicle.bootstrap import open_store
from chronicle.integrity import Sealer, Verifier, read_evidence
from chronicle.integrity.chains import LOG_GENESIS, log_step


def caught_up(store: EventStore) -> None:
    deadline = time.monotonic() + 60
    while len(store.read_all(limit=100_000)) < store.get_event_count():
        assert time.monotonic() < deadline, "the log did not become readable"
        time.sleep(0.05)


def fill(store: EventStore, aggregates: int, per_aggregate: int = 1) -> None:
    for index in range(aggregates):
        store.append(
            f"message_{index}",
            [NewEvent("MessageCreated", {"i": index, "k": k}) for k in range(per_aggregate)],
            expected_version=0,
            aggregate_type="Message",
        )
    caught_up(store)


def test_the_sealer_chains_every_event_in_commit_order_and_resumes_from_its_last_seal(
    store: EventStore, tmp_path: Path
) -> None:
    fill(store, 5)
    sealer = Sealer(store, seal_every=2, export_dir=tmp_path / "seals")
    seals = sealer.run_once()
    assert [(s.number, s.event_count) for s in seals] == [(1, 2), (2, 4), (3, 5)]
    assert sealer.run_once() == []
    events = store.read_all()
    head = LOG_GENESIS
    for event in events:
        head = log_step(head, event.position, event.hash)
    assert seals[-1].head == head and seals[-1].position == events[-1].position
    assert read_evidence(tmp_path / "seals" / "seal-00000003.json") == seals[-1]
    assert (tmp_path / "seals").stat().st_mode & 0o777 == 0o700  # the folder is the owner's
    fill_more = store.append(
        "message_x", [NewEvent("A", {})], expected_version=0, aggregate_type="Message"
    )
    caught_up(store)
    [fourth] = sealer.run_once()
    assert (fourth.number, fourth.event_count, fourth.position) == (4, 6, fill_more[0].position)
    assert fourth.signature is None
    assert Verifier(store).verify().intact


def test_seal_granularity_holds_across_batches_and_the_tail_is_sealed_when_caught_up(
    store: EventStore,
) -> None:
    fill(store, 8)
    # Batches of 4 end at events 4 and 8: the pending events carry over from one to the next,
    # and the last two are sealed by the empty read that shows the sealer has caught up.
    seals = Sealer(store, seal_every=3, batch_size=4).run_once()
    assert [(s.number, s.event_count) for s in seals] == [(1, 3), (2, 6), (3, 8)]
    assert seals[-1].position == store.read_all()[-1].position
    assert Verifier(store).verify().intact


def test_a_following_sealer_carries_pending_events_over_its_steps(store: EventStore) -> None:
    stop = threading.Event()
    sealer = Sealer(store, seal_every=5, batch_size=2)
    worker = threading.Thread(target=sealer.follow, args=(stop, 0.01))
    worker.start()
    try:
        fill(store, 12)
        deadline = time.monotonic() + 60
        while (store.latest_seal() or None) is None or store.latest_seal().event_count < 12:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    counts = [seal.event_count for seal in store.get_seals()]
    # No seal covers more than seal_every events, whichever steps the events arrived in.
    assert all(b - a <= 5 for a, b in zip([0, *counts], counts, strict=False))
    assert Verifier(store).verify().intact


def test_the_follow_loop_seals_new_events_until_it_is_stopped(store: EventStore) -> None:
    fill(store, 3)
    stop = threading.Event()
    sealer = Sealer(store)
    worker = threading.Thread(target=sealer.follow, args=(stop, 0.01))
    worker.start()
    deadline = time.monotonic() + 60
    while (store.latest_seal() or None) is None or store.latest_seal().event_count < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stop.set()
    worker.join(timeout=60)
    assert not worker.is_alive()


def test_the_same_events_have_the_same_hashes_on_sqlite_and_postgresql(
    tmp_path: Path, postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instant = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    monkeypatch.setattr("chronicle.store.prepare.now_utc", lambda: instant)
    ids = [str(uuid.UUID(int=n)) for n in range(1, 5)]
    batches = [
        (
            "message_a",
            [
                NewEvent(
                    "MessageCreated",
                    {"content": "héllo 😀", "f": 1.5, "z": None, "a": [1, {"b": True}]},
                    event_id=ids[0],
                )
            ],
        ),
        ("message_b", [NewEvent("MessageCreated", {"x": 10**15}, {"trace": "t"}, event_id=ids[1])]),
        (
            "message_a",
            [
                NewEvent("MessageEdited", {"content": "\u2028"}, event_id=ids[2]),
                NewEvent("MessageDeleted", {}, event_id=ids[3], schema_version=2),
            ],
        ),
    ]
    hashes = {}
    for url in (f"sqlite:///{tmp_path / 'a.db'}", postgres_schema_url):
        store = open_store(url)
        try:
            for aggregate_id, events in batches:
                store.append(
                    aggregate_id,
                    events,
                    expected_version=None,
                    aggregate_type="Message",
                    user_id="user_ü",
                )
            caught_up(store)
            hashes[store.backend] = [(e.event_id, e.hash) for e in store.read_all()]
            assert Verifier(store).verify().intact
        finally:
            store.close()
    assert hashes["sqlite"] == hashes["postgresql"]
    assert len({h for _, h in hashes["sqlite"]}) == 4


def test_an_untouched_log_of_100000_events_verifies(store: EventStore) -> None:
    for batch in range(100):
        store.append(
            f"message_{batch}",
            [NewEvent("MessageCreated", {"content": "x" * 200, "n": n}) for n in range(1000)],
            expected_version=0,
            aggregate_type="Message",
        )
    caught_up(store)
    Sealer(store).run_once()
    report = Verifier(store).verify()
    assert report.intact, report.problems[:3]
    assert report.events_checked == 100_000 and report.seals_checked == 10
