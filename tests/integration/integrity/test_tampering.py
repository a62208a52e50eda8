"""Tampering made directly in the database is detected and named, on both backends.

Each test plays an attacker with database access: it drops the guard triggers first, then
changes the stored history with plain SQL, and expects ``Verifier`` to name what was done.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from chronicle import EventStore, NewEvent
from chronicle.errors import SealRefusedError
from chronicle.integrity import ProblemKind, Sealer, Verifier, read_evidence, write_evidence
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.store.codec import canonical_object
from chronicle.store.integrity import GENESIS, chain, content_digest, format_timestamp

KEY = load_signing_key(new_signing_key_text())

DROP_GUARDS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS chronicle_events_refuse_update",
        "DROP TRIGGER IF EXISTS chronicle_events_refuse_delete",
        "DROP TRIGGER IF EXISTS chronicle_seals_refuse_update",
        "DROP TRIGGER IF EXISTS chronicle_seals_refuse_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS chronicle_events_guard_update ON chronicle_events",
        "DROP TRIGGER IF EXISTS chronicle_events_refuse_delete ON chronicle_events",
        "DROP TRIGGER IF EXISTS chronicle_seals_refuse_change ON chronicle_seals",
    ],
}


# A thorough attacker also removes the Merkle log the sealer kept (its leaves name every sealed
# event, and the sealer refuses to re-seal while they are there).
WIPE_MERKLE_LOG = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS chronicle_merkle_leaves_refuse_delete",
        "DROP TRIGGER IF EXISTS chronicle_merkle_nodes_refuse_delete",
        "DELETE FROM chronicle_merkle_leaves",
        "DELETE FROM chronicle_merkle_nodes",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS chronicle_merkle_leaves_refuse_change ON chronicle_merkle_leaves",
        "DROP TRIGGER IF EXISTS chronicle_merkle_nodes_refuse_change ON chronicle_merkle_nodes",
        "DELETE FROM chronicle_merkle_leaves",
        "DELETE FROM chronicle_merkle_nodes",
    ],
}


def attack(store: EventStore, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Drop the guard triggers, then run ``statements`` as an attacker would."""
    for statement in DROP_GUARDS[store.backend]:
        store.execute_raw(statement)  # type: ignore[attr-defined]
    for statement in statements:
        store.execute_raw(statement, params)  # type: ignore[attr-defined]


def history(store: EventStore) -> dict[tuple[str, int], int]:
    """Three aggregates of three events each, interleaved; (aggregate, version) -> position."""
    positions = {}
    for version in (1, 2, 3):
        for name in ("a", "b", "c"):
            [event] = store.append(
                f"message_{name}",
                [NewEvent("MessageEdited", {"content": f"{name}{version}", "n": version})],
                expected_version=version - 1,
                aggregate_type="Message",
                user_id="user_alice",
            )
            positions[(f"message_{name}", version)] = event.position
    return positions


def caught_up(store: EventStore) -> None:
    """Wait until every committed event is readable in commit order.

    On PostgreSQL ``read_all`` holds back events above the oldest transaction still running on
    the server, which may be another client's; the sealer and the verifier see them once it ends.
    """
    deadline = time.monotonic() + 60
    while len(store.read_all(limit=100_000)) < store.get_event_count():
        assert time.monotonic() < deadline, "the log did not become readable"
        time.sleep(0.05)


def sealed_history(store: EventStore) -> dict[tuple[str, int], int]:
    positions = history(store)
    caught_up(store)
    assert len(Sealer(store, key=KEY).run_once()) == 1
    return positions


REMEMBERED = {"every_chain": 50_000, "one_chain": 1}
_remembered = [REMEMBERED["every_chain"]]


@pytest.fixture(autouse=True, params=sorted(REMEMBERED))
def chains_in_memory(request: pytest.FixtureRequest) -> None:
    """Every attack is verified twice: with every aggregate's chain in memory, and with only
    the last one met (the others let go and read again from the store when met again)."""
    _remembered[0] = REMEMBERED[request.param]


def verify(store: EventStore, **kwargs: object):
    caught_up(store)
    verifier = Verifier(store, public_key=KEY.public, remembered_chains=_remembered[0])
    return verifier.verify(**kwargs)  # type: ignore[arg-type]


def test_an_untouched_sealed_log_verifies_intact(store: EventStore) -> None:
    sealed_history(store)
    history_more = store.append(
        "message_d", [NewEvent("MessageCreated", {})], expected_version=0, aggregate_type="Message"
    )
    report = verify(store)
    assert report.intact, report.problems
    assert report.events_checked == 10 and report.aggregates == 4
    assert report.seals_checked == 1 and report.unsealed_events == 1
    assert history_more[0].position > 0


def test_changed_content_is_named_at_the_changed_event(store: EventStore) -> None:
    positions = sealed_history(store)
    attack(
        store,
        "UPDATE chronicle_events SET data = ? WHERE position = ?".replace(
            "?", "%s" if store.backend == "postgresql" else "?"
        ),
        params=(b'{"content":"forged","n":2}', positions[("message_b", 2)]),
    )
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.CONTENT_CHANGED
    assert (first.aggregate_id, first.version) == ("message_b", 2)
    assert first.position == positions[("message_b", 2)]


def test_an_event_deleted_from_an_aggregate_is_named_as_missing(store: EventStore) -> None:
    positions = sealed_history(store)
    attack(store, f"DELETE FROM chronicle_events WHERE position = {positions[('message_a', 2)]}")
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.EVENT_MISSING
    assert (first.aggregate_id, first.version) == ("message_a", 2)
    assert first.position == positions[("message_a", 2)]  # named by the leaf the sealer stored


def test_a_whole_deleted_aggregate_is_caught_by_the_seal(store: EventStore) -> None:
    sealed_history(store)
    attack(store, "DELETE FROM chronicle_events WHERE aggregate_id = 'message_b'")
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.EVENT_MISSING
    assert first.seal == 1
    # The sealer's Merkle leaves name the first event of the aggregate that is gone.
    assert (first.aggregate_id, first.version) == ("message_b", 1)


def _forged_row(store: EventStore, template: dict[str, object]) -> tuple[object, ...]:
    """A forged first event of a new aggregate, with a hash computed as Chronicle would."""
    event_id = str(uuid.uuid4())
    data = canonical_object({"content": "forged"}, "data")
    metadata = canonical_object({"correlation_id": event_id, "causation_id": None}, "metadata")
    stamp = format_timestamp(template["timestamp"])  # type: ignore[arg-type]
    digest = content_digest(
        event_id=event_id,
        aggregate_id="message_forged",
        aggregate_type="Message",
        event_type="MessageEdited",
        schema_version=1,
        timestamp=stamp,
        user_id="user_mallory",
        data=data,
        metadata=metadata,
    )
    return (event_id, stamp, data, metadata, chain(GENESIS, 1, digest))


def test_a_forged_event_slipped_into_the_sealed_log_is_caught_as_inserted(
    store: EventStore,
) -> None:
    positions = sealed_history(store)
    before = positions[("message_a", 2)]
    [template] = store.get_events_for_aggregate("message_a", 2, 2)
    event_id, stamp, data, metadata, digest = _forged_row(store, {"timestamp": template.timestamp})
    columns = (
        "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, "
        "partition, timestamp, user_id, data, metadata, hash"
    )
    if store.backend == "sqlite":
        # No free position inside the sealed log: shift the later events up by one.
        attack(
            store,
            f"UPDATE chronicle_events SET position = position + 1000000 WHERE position > {before}",
            "UPDATE chronicle_events SET position = position - 999999 WHERE position > 1000000",
            f"INSERT INTO chronicle_events (position, {columns}) VALUES ({before + 1}, "
            f"'{event_id}', 'message_forged', 'Message', 'MessageEdited', 1, 1, 0, '{stamp}', "
            f"'user_mallory', X'{data.hex()}', X'{metadata.hex()}', X'{digest.hex()}')",
        )
    else:
        # Log order is (transaction id, position): borrow the transaction id of an old event.
        attack(
            store,
            f"INSERT INTO chronicle_events (transaction_id, position, {columns}) "
            f"OVERRIDING SYSTEM VALUE SELECT transaction_id, 1000000, '{event_id}', "
            f"'message_forged', 'Message', 'MessageEdited', 1, 1, 0, '{stamp}', "
            f"'user_mallory', '\\x{data.hex()}', '\\x{metadata.hex()}', '\\x{digest.hex()}' "
            f"FROM chronicle_events WHERE position = {before}",
        )
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.EVENT_INSERTED, report.problems
    assert first.seal == 1
    assert (first.aggregate_id, first.event_id) == ("message_forged", event_id)


def _drop_the_version_constraint(store: EventStore) -> None:
    """What the database would refuse otherwise: two events of one aggregate at one version.
    (SQLite cannot drop a table's constraint: the attacker rebuilds the table without it.)"""
    if store.backend == "postgresql":
        attack(
            store,
            "ALTER TABLE chronicle_events DROP CONSTRAINT chronicle_events_aggregate_version",
        )
        return
    [(table,)] = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'chronicle_events'"
    )
    rebuilt = table.replace("UNIQUE (aggregate_id, version),", "").replace(
        "chronicle_events", "chronicle_events_rebuilt", 1
    )
    assert rebuilt != table
    attack(
        store,
        rebuilt,
        "INSERT INTO chronicle_events_rebuilt SELECT * FROM chronicle_events",
        "DROP TABLE chronicle_events",
        "ALTER TABLE chronicle_events_rebuilt RENAME TO chronicle_events",
    )


@pytest.mark.parametrize("version", [1, 2])
def test_a_second_event_at_a_version_already_checked_is_named_as_inserted(
    store: EventStore, version: int
) -> None:
    sealed_history(store)
    _drop_the_version_constraint(store)
    before = store.get_events_for_aggregate("message_a", version - 1, version - 1)
    forged = forge(store, "message_a", version, before[0].hash if before else GENESIS)
    report = verify(store)
    # After the seal: only the aggregate's chain shows that the version was already taken.
    assert [(p.kind, p.event_id) for p in report.problems] == [(ProblemKind.EVENT_INSERTED, forged)]
    assert report.aggregates == 3


def forge(
    store: EventStore,
    aggregate_id: str,
    version: int,
    previous: bytes,
    *,
    position: int | None = None,
) -> str:
    """Insert an event of ``aggregate_id`` at ``version`` chained onto ``previous`` as Chronicle
    would chain it (at ``position`` when given); returns its event id."""
    [template] = store.get_events_for_aggregate("message_a", 1, 1)
    event_id = str(uuid.uuid4())
    data = canonical_object({"content": "forged", "n": version}, "data")
    metadata = canonical_object({"correlation_id": event_id, "causation_id": None}, "metadata")
    stamp = format_timestamp(template.timestamp)
    digest = content_digest(
        event_id=event_id,
        aggregate_id=aggregate_id,
        aggregate_type="Message",
        event_type="MessageEdited",
        schema_version=1,
        timestamp=stamp,
        user_id="user_alice",
        data=data,
        metadata=metadata,
    )
    blob = "X'{}'" if store.backend == "sqlite" else "'\\x{}'"
    values = ", ".join(
        [
            f"'{event_id}', '{aggregate_id}', 'Message', 'MessageEdited', {version}, 1, 0",
            f"'{stamp}', 'user_alice'",
            blob.format(data.hex()),
            blob.format(metadata.hex()),
            blob.format(chain(previous, version, digest).hex()),
        ]
    )
    columns = (
        "event_id, aggregate_id, aggregate_type, event_type, version, schema_version, "
        "partition, timestamp, user_id, data, metadata, hash"
    )
    if position is None:
        statement = f"INSERT INTO chronicle_events ({columns}) VALUES ({values})"
    elif store.backend == "sqlite":
        statement = (
            f"INSERT INTO chronicle_events (position, {columns}) VALUES ({position}, {values})"
        )
    else:
        statement = (
            f"INSERT INTO chronicle_events (position, {columns}) OVERRIDING SYSTEM VALUE "
            f"VALUES ({position}, {values})"
        )
    attack(store, statement)
    return event_id


def _swap_order(store: EventStore, first: int, second: int) -> None:
    if store.backend == "sqlite":
        attack(
            store,
            f"UPDATE chronicle_events SET position = -1 WHERE position = {first}",
            f"UPDATE chronicle_events SET position = {first} WHERE position = {second}",
            f"UPDATE chronicle_events SET position = {second} WHERE position = -1",
        )
    else:
        attack(
            store,
            "UPDATE chronicle_events e SET transaction_id = o.transaction_id "
            "FROM chronicle_events o "
            f"WHERE (e.position, o.position) IN (({first}, {second}), ({second}, {first}))",
        )


def test_reordered_events_of_one_aggregate_are_named(store: EventStore) -> None:
    positions = sealed_history(store)
    _swap_order(store, positions[("message_a", 2)], positions[("message_a", 3)])
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.ORDER_CHANGED, report.problems
    assert (first.aggregate_id, first.version) == ("message_a", 3)
    assert not any(p.kind is ProblemKind.CONTENT_CHANGED for p in report.problems)


def test_reordered_events_of_different_aggregates_are_caught_by_the_seal(
    store: EventStore,
) -> None:
    positions = sealed_history(store)
    _swap_order(store, positions[("message_a", 2)], positions[("message_b", 2)])
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.ORDER_CHANGED, report.problems
    assert first.seal == 1
    assert first.aggregate_id in ("message_a", "message_b") and first.version == 2


def test_an_altered_seal_fails_its_signature(store: EventStore) -> None:
    sealed_history(store)
    placeholder = "%s" if store.backend == "postgresql" else "?"
    attack(
        store,
        f"UPDATE chronicle_seals SET event_count = event_count + 1 WHERE number = {placeholder}",
        params=(1,),
    )
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.SIGNATURE_INVALID
    assert first.seal == 1


def test_a_seal_signed_with_another_key_is_refused(store: EventStore) -> None:
    history(store)
    mallory = load_signing_key(new_signing_key_text())
    caught_up(store)
    Sealer(store, key=mallory).run_once()
    report = verify(store)
    first = report.first_problem
    assert first is not None and first.kind is ProblemKind.SIGNATURE_INVALID
    assert first.seal == 1


def test_the_sealer_refuses_to_reseal_a_log_whose_seals_were_deleted(store: EventStore) -> None:
    sealed_history(store)
    attack(store, "DELETE FROM chronicle_seals")
    caught_up(store)
    with pytest.raises(SealRefusedError, match="seals were deleted"):
        Sealer(store, key=KEY).run_once()
    assert store.latest_seal() is None


def test_seals_rewritten_without_the_key_leave_the_verdict_unsigned(store: EventStore) -> None:
    sealed_history(store)
    attack(store, "DELETE FROM chronicle_seals", *WIPE_MERKLE_LOG[store.backend])
    caught_up(store)
    Sealer(store, key=None).run_once()  # the attacker re-seals, but has no key
    report = verify(store)
    assert report.trust == "unsigned"
    assert report.unsigned_seals == report.seals_checked > 0
    assert any("unsigned" in warning for warning in report.warnings)


def test_a_restored_backup_is_reported_as_a_rollback_against_exported_evidence(
    store: EventStore, tmp_path: Path
) -> None:
    sealed_history(store)
    evidence = tmp_path / "seal.json"
    write_evidence(store.latest_seal(), evidence)  # type: ignore[arg-type]
    # The "backup" is the log as it was before the last two appends, seals included.
    attack(
        store,
        "DELETE FROM chronicle_events WHERE aggregate_id IN ('message_b', 'message_c') "
        "AND version = 3",
        "DELETE FROM chronicle_seals",
    )
    report = verify(store, against=read_evidence(evidence))
    kinds = [problem.kind for problem in report.problems]
    assert kinds == [ProblemKind.SEAL_MISSING, ProblemKind.ROLLBACK]
    assert [problem.seal for problem in report.problems] == [1, 1]


def test_a_rewritten_history_is_reported_as_a_fork_against_exported_evidence(
    store: EventStore, tmp_path: Path
) -> None:
    sealed_history(store)
    evidence = tmp_path / "seal.json"
    write_evidence(store.latest_seal(), evidence)  # type: ignore[arg-type]
    # Rewrite: drop the last event and the seals, then append a different one and re-seal.
    [last] = store.get_events_for_aggregate("message_c", 3, 3)
    attack(
        store,
        f"DELETE FROM chronicle_events WHERE position = {last.position}",
        "DELETE FROM chronicle_seals",
        *WIPE_MERKLE_LOG[store.backend],
    )
    store.append(
        "message_c",
        [NewEvent("MessageEdited", {"content": "other"})],
        expected_version=2,
        aggregate_type="Message",
    )
    caught_up(store)
    Sealer(store, key=KEY).run_once()
    report = verify(store, against=read_evidence(evidence))
    kinds = [problem.kind for problem in report.problems]
    assert kinds == [ProblemKind.SEAL_ALTERED, ProblemKind.FORK], report.problems
    assert report.problems[1].seal == 1


def test_verifying_since_a_seal_checks_only_what_follows_it(store: EventStore) -> None:
    positions = sealed_history(store)
    store.append(
        "message_a",
        [NewEvent("MessageEdited", {"n": 4})],
        expected_version=3,
        aggregate_type="Message",
    )
    caught_up(store)
    Sealer(store, key=KEY).run_once()
    assert verify(store, since_seal=1).intact
    later = store.get_events_for_aggregate("message_a", 4, 4)[0].position
    placeholder = "%s" if store.backend == "postgresql" else "?"
    attack(
        store,
        f"UPDATE chronicle_events SET data = {placeholder} WHERE position = {placeholder}",
        params=(b'{"n":5}', later),
    )
    report = verify(store, since_seal=1)
    assert report.events_checked == 1
    assert report.first_problem is not None
    assert report.first_problem.kind is ProblemKind.CONTENT_CHANGED
    assert report.first_problem.position == later != positions[("message_a", 3)]
