"""Attacks by a database superuser against seals kept out of reach, on both backends.

Each test plays the attacker of the threat model: it drops the guard triggers, rewrites what the
database holds with plain SQL (recomputing every hash that needs no secret), and expects the
sealer to refuse and ``Verifier`` to name what was done, from the seals kept in the seal folder.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import psycopg
import pytest
from tests.integration.integrity.test_tampering import attack, caught_up, history

from chronicle import EventStore, NewEvent
from chronicle.errors import SealRefusedError
from chronicle.integrity import ProblemKind, Sealer, Verifier
from chronicle.integrity.chains import expected_hash
from chronicle.integrity.keys import key_id
from chronicle.integrity.seals import read_seal_folder
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.store.codec import canonical_object
from chronicle.store.postgres.horizon import WRITER_LOCK

KEY = load_signing_key(new_signing_key_text())
TRUSTED = {key_id(KEY.public): KEY.public}


def placeholders(store: EventStore, sql: str) -> str:
    return sql.replace("?", "%s") if store.backend == "postgresql" else sql


def sealed_in_folder(store: EventStore, folder: Path) -> Sealer:
    """The history of test_tampering, sealed every 3 events by a sealer keeping a seal folder."""
    history(store)
    caught_up(store)
    sealer = Sealer(store, key=KEY, seal_every=3, export_dir=folder)
    assert [seal.number for seal in sealer.run_once()] == [1, 2, 3]
    return sealer


def rewrite(store: EventStore, aggregate_id: str, version: int, data: dict[str, object]) -> None:
    """Rewrite one event's data and recompute its hash and every later hash of its aggregate."""
    events = store.get_events_for_aggregate(aggregate_id)
    previous = events[version - 2].hash if version > 1 else bytes(32)
    statements, params = [], []
    for event in events[version - 1 :]:
        if event.version == version:
            event = dataclasses.replace(event, data=data)
        new_hash = expected_hash(event, previous)
        statements.append(
            placeholders(store, "UPDATE chronicle_events SET data = ?, hash = ? WHERE position = ?")
        )
        params.append((canonical_object(event.data, "data"), new_hash, event.position))
        previous = new_hash
    attack(store)
    for statement, values in zip(statements, params, strict=True):
        store.execute_raw(statement, values)  # type: ignore[attr-defined]


def verify(store: EventStore, folder: Path, **kwargs: object):
    caught_up(store)
    verifier = Verifier(store, trusted_keys=TRUSTED, evidence=read_seal_folder(folder), **kwargs)  # type: ignore[arg-type]
    return verifier.verify()


def test_a_rewrite_resealed_by_the_running_worker_is_refused_and_caught(
    store: EventStore, tmp_path: Path
) -> None:
    folder = tmp_path / "seals"
    sealed_in_folder(store, folder)
    rewrite(store, "message_b", 2, {"content": "what alice never wrote", "n": 2})
    attack(store, "DELETE FROM chronicle_seals")

    # The worker's sealer keeps running: it must refuse to sign the rewritten history.
    refusals: list[bool] = []
    worker = Sealer(store, key=KEY, export_dir=folder, on_refusal=refusals.append)
    stop = threading.Event()
    thread = threading.Thread(target=worker.follow, args=(stop, 0.1))
    thread.start()
    try:
        store.append(
            "message_d", [NewEvent("MessageCreated", {})], expected_version=0, aggregate_type="M"
        )
        deadline = threading.Event()
        for _ in range(100):
            if worker.refusal is not None:
                break
            deadline.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert worker.refusal is not None and "seals were deleted" in worker.refusal
    assert refusals and refusals[-1] is True
    assert store.latest_seal() is None  # nothing was signed

    report = verify(store, folder)
    assert not report.intact
    kinds = {problem.kind for problem in report.problems}
    assert ProblemKind.SEAL_MISSING in kinds and ProblemKind.FORK in kinds
    [fork, *_] = [problem for problem in report.problems if problem.kind is ProblemKind.FORK]
    assert (fork.aggregate_id, fork.version) == ("message_b", 2)


def test_a_seal_replaced_in_the_database_is_refused_by_the_sealer(
    store: EventStore, tmp_path: Path
) -> None:
    folder = tmp_path / "seals"
    sealed_in_folder(store, folder)
    rewrite(store, "message_c", 3, {"content": "changed", "n": 3})
    attack(
        store,
        "DELETE FROM chronicle_seals WHERE number = 3",
    )
    # The attacker re-signs seal 3 with the genuine key over the rewritten log (had they the key).
    mallory_sealer = Sealer(store, key=KEY, seal_every=3)  # no seal folder: it does not know
    attack(store, *_WIPE_FROM_LEAF[store.backend])
    mallory_sealer.run_once()
    with pytest.raises(SealRefusedError, match="differs from the one in the seal folder"):
        Sealer(store, key=KEY, export_dir=folder).run_once()
    report = verify(store, folder)
    kinds = [problem.kind for problem in report.problems]
    assert ProblemKind.SEAL_ALTERED in kinds and ProblemKind.FORK in kinds


_WIPE_FROM_LEAF = {
    # Remove the Merkle rows above leaf 5 so that a sealer without the seal folder re-seals.
    "sqlite": [
        "DROP TRIGGER IF EXISTS chronicle_merkle_leaves_refuse_delete",
        "DROP TRIGGER IF EXISTS chronicle_merkle_nodes_refuse_delete",
        "DELETE FROM chronicle_merkle_leaves WHERE leaf_index >= 6",
        "DELETE FROM chronicle_merkle_nodes WHERE (node_index + 1) * (1 << level) > 6",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS chronicle_merkle_leaves_refuse_change ON chronicle_merkle_leaves",
        "DROP TRIGGER IF EXISTS chronicle_merkle_nodes_refuse_change ON chronicle_merkle_nodes",
        "DELETE FROM chronicle_merkle_leaves WHERE leaf_index >= 6",
        "DELETE FROM chronicle_merkle_nodes WHERE (node_index + 1) * (1 << level) > 6",
    ],
}


def test_deleting_the_last_event_of_a_sealed_aggregate_names_it(
    store: EventStore, tmp_path: Path
) -> None:
    positions = history(store)
    caught_up(store)
    Sealer(store, key=KEY).run_once()  # one seal over all nine events
    attack(store, f"DELETE FROM chronicle_events WHERE position = {positions[('message_a', 3)]}")
    report = verify(store, tmp_path / "none")
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.EVENT_MISSING, report.problems
    assert (first.aggregate_id, first.version) == ("message_a", 3)
    assert first.position == positions[("message_a", 3)]


def test_deleting_the_event_that_closes_a_seal_names_it(store: EventStore, tmp_path: Path) -> None:
    positions = history(store)
    caught_up(store)
    Sealer(store, key=KEY).run_once()
    attack(store, f"DELETE FROM chronicle_events WHERE position = {positions[('message_c', 3)]}")
    report = verify(store, tmp_path / "none")
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.EVENT_MISSING, report.problems
    assert (first.aggregate_id, first.version) == ("message_c", 3)


def test_a_row_the_log_does_not_hand_out_is_reported_hidden(
    store: EventStore, tmp_path: Path
) -> None:
    history(store)
    caught_up(store)
    Sealer(store, key=KEY).run_once()
    [template] = store.get_events_for_aggregate("message_a", 1, 1)
    columns = (
        "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, partition, "
        "timestamp, user_id, data, metadata, hash"
    )
    values = (
        "'00000000-0000-4000-8000-000000000001', 'message_hidden', 'Message', 'MessageEdited', 1,"
        " 1, 0, {stamp}, NULL, {blob}, {blob}, {hash}"
    )
    if store.backend == "sqlite":
        attack(
            store,
            f"INSERT INTO chronicle_events (position, {columns}) VALUES (-5, "
            + values.format(
                stamp="'2026-01-01T00:00:00.000000Z'", blob="X'7B7D'", hash=f"X'{'00' * 32}'"
            )
            + ")",
        )
    else:
        # A transaction id far in the future: behind the visibility horizon for ages.
        attack(
            store,
            f"INSERT INTO chronicle_events (transaction_id, {columns}) VALUES "
            "('4000000000'::xid8, "
            + values.format(stamp="now()", blob="'\\x7b7d'", hash=f"'\\x{'00' * 32}'")
            + ")",
        )
    report = Verifier(store, trusted_keys=TRUSTED, wait=0.2).verify()
    hidden = [problem for problem in report.problems if problem.kind is ProblemKind.HIDDEN_ROW]
    assert [problem.aggregate_id for problem in hidden] == ["message_hidden"]
    assert report.unchecked_events == 1 and not report.intact
    assert template.aggregate_id == "message_a"


def test_verify_fails_while_an_append_still_running_holds_events_back(
    store: EventStore, postgres_url: str
) -> None:
    if store.backend != "postgresql":
        pytest.skip("only PostgreSQL holds events back behind running appends")
    history(store)
    caught_up(store)
    # Another session takes the writer lock and a transaction id, as an append does, and
    # stays open.
    with psycopg.connect(postgres_url, autocommit=False) as blocker:
        blocker.execute(f"SELECT {WRITER_LOCK}")
        blocker.execute("SELECT pg_current_xact_id()")
        store.append(
            "message_late", [NewEvent("MessageCreated", {})], expected_version=0, aggregate_type="M"
        )
        report = Verifier(store, trusted_keys=TRUSTED, wait=0.3).verify()
        assert not report.intact and report.unchecked_events == 1
        assert {problem.kind for problem in report.problems} == {ProblemKind.HIDDEN_ROW}
        blocker.rollback()
    assert Verifier(store, trusted_keys=TRUSTED, wait=5).verify().intact


def test_a_seal_file_is_never_overwritten(store: EventStore, tmp_path: Path) -> None:
    folder = tmp_path / "seals"
    sealed_in_folder(store, folder)
    before = (folder / "seal-00000003.json").read_bytes()
    store.append("message_d", [NewEvent("A", {})], expected_version=0, aggregate_type="M")
    caught_up(store)
    other = Sealer(store, key=load_signing_key(new_signing_key_text()), export_dir=folder)
    other.run_once()
    assert (folder / "seal-00000003.json").read_bytes() == before
    assert (folder / "seal-00000004.json").exists()


def test_rotating_keys_keeps_older_seals_valid_and_unsigned_seals_are_a_warning(
    store: EventStore,
) -> None:
    history(store)
    caught_up(store)
    Sealer(store).run_once()  # before any key was configured
    later = load_signing_key(new_signing_key_text())
    for key, name in ((KEY, "message_x"), (later, "message_y")):
        store.append(name, [NewEvent("A", {})], expected_version=0, aggregate_type="M")
        caught_up(store)
        Sealer(store, key=key).run_once()
    both = {**TRUSTED, key_id(later.public): later.public}
    report = Verifier(store, trusted_keys=both).verify()
    assert report.intact, report.problems
    assert report.trust == "trusted"
    assert report.warnings and "seal 1 is unsigned" in report.warnings[0]
    assert (report.seals_checked, report.unsigned_seals) == (3, 1)
    assert report.to_dict()["unsigned_seals"] == 1

    only_new = Verifier(store, trusted_keys={key_id(later.public): later.public}).verify()
    [problem] = only_new.problems
    assert problem.kind is ProblemKind.SIGNATURE_INVALID and problem.seal == 2
    assert "not a trusted key" in problem.message

    unanchored = Verifier(store).verify()
    assert unanchored.intact and unanchored.trust == "unanchored"


def test_events_committed_while_verify_runs_are_not_reported_hidden(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(store)
    caught_up(store)
    Sealer(store, key=KEY).run_once()
    real_read_all = store.read_all

    def read_all_while_writing(*args: object, **kwargs: object) -> list:
        page = real_read_all(*args, **kwargs)  # type: ignore[arg-type]
        store.append("message_live", [NewEvent("A", {})], expected_version=None, aggregate_type="M")
        return page

    monkeypatch.setattr(store, "read_all", read_all_while_writing)
    report = Verifier(store, trusted_keys=TRUSTED, wait=0).verify()
    assert report.intact, report.problems
    assert report.unchecked_events == 0
