"""Attacks aimed at the bounded verifier (``remembered_chains`` small): each tampered log must be
caught with one chain in memory exactly as it is with every chain in memory.

Each test plays a database superuser. With ``remembered_chains=1`` every aggregate is let go as
soon as another one is met, so meeting it again goes through ``AggregateChains._resume``.
"""

from __future__ import annotations

import pytest
from tests.integration.integrity.test_tampering import (
    KEY,
    _drop_the_version_constraint,
    _swap_order,
    attack,
    caught_up,
    forge,
    history,
    sealed_history,
)

from chronicle import EventStore, NewEvent
from chronicle.integrity import ProblemKind, Sealer, Verifier
from chronicle.integrity.report import VerificationReport
from chronicle.store.integrity import GENESIS

BOUNDED = 1
DEFAULT = None  # the Verifier's own default (every chain of a small log in memory)


def both(store: EventStore, **kwargs: object) -> dict[str, VerificationReport]:
    """The verdict with one chain in memory and with the default."""
    caught_up(store)
    reports = {}
    for name, remembered in (("default", DEFAULT), ("bounded", BOUNDED)):
        options = {} if remembered is None else {"remembered_chains": remembered}
        verifier = Verifier(store, public_key=KEY.public, **options)  # type: ignore[arg-type]
        reports[name] = verifier.verify(**kwargs)  # type: ignore[arg-type]
    return reports


def inserted(report: VerificationReport) -> list[str | None]:
    return [p.event_id for p in report.problems if p.kind is ProblemKind.EVENT_INSERTED]


def append(store: EventStore, name: str, version: int) -> None:
    store.append(
        f"message_{name}",
        [NewEvent("MessageEdited", {"content": f"{name}{version}", "n": version})],
        expected_version=version - 1,
        aggregate_type="Message",
        user_id="user_alice",
    )


def _ids(store: EventStore, aggregate_id: str) -> list[str]:
    return [event.event_id for event in store.get_events_for_aggregate(aggregate_id)]


def hash_of(store: EventStore, aggregate_id: str, version: int) -> bytes:
    [event] = store.get_events_for_aggregate(aggregate_id, version, version)
    return event.hash


def _drop_position_and_version_uniqueness(store: EventStore) -> None:
    """Two rows at one position and two events at one version (and versions below 1)."""
    if store.backend == "postgresql":
        attack(
            store,
            "ALTER TABLE chronicle_events DROP CONSTRAINT chronicle_events_aggregate_version",
            "ALTER TABLE chronicle_events DROP CONSTRAINT chronicle_events_pkey",
            "ALTER TABLE chronicle_events DROP CONSTRAINT IF EXISTS chronicle_events_version_check",
        )
        return
    [(table,)] = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'chronicle_events'"
    )
    rebuilt = (
        table.replace("UNIQUE (aggregate_id, version),", "")
        .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER NOT NULL")
        .replace("CHECK (version >= 1)", "")
        .replace("chronicle_events", "chronicle_events_rebuilt", 1)
    )
    attack(
        store,
        rebuilt,
        "INSERT INTO chronicle_events_rebuilt SELECT * FROM chronicle_events ORDER BY position",
        "DROP TABLE chronicle_events",
        "ALTER TABLE chronicle_events_rebuilt RENAME TO chronicle_events",
        # ties in position come out in the order the rows were written
        "CREATE INDEX attack_by_position ON chronicle_events (position)",
    )


# -- attacks both verdicts catch (regression guards) --------------------------------------------


def test_a_duplicate_of_a_sealed_version_after_many_evictions(store: EventStore) -> None:
    sealed_history(store)
    for name in ("b", "c", "d", "e"):
        append(store, name, 4 if name in "bc" else 1)
    _drop_the_version_constraint(store)
    forged = forge(store, "message_a", 2, hash_of(store, "message_a", 1))
    reports = both(store)
    for name, report in reports.items():
        assert inserted(report) == [forged], (name, report.problems)
        assert report.aggregates == 5, name


def test_a_duplicate_at_the_version_before_the_next_one_met(store: EventStore) -> None:
    """A second event at v-1 (chained as Chronicle would), then the real v after eviction."""
    sealed_history(store)
    append(store, "a", 4)
    _drop_the_version_constraint(store)
    forged = forge(store, "message_a", 4, hash_of(store, "message_a", 3))
    append(store, "b", 4)
    store.append(
        "message_a",
        [NewEvent("MessageEdited", {"n": 5})],
        expected_version=None,
        aggregate_type="Message",
    )
    reports = both(store)
    for name, report in reports.items():
        assert forged in inserted(report), (name, report.problems)
        assert report.aggregates == 3, name


def test_a_deleted_unsealed_middle_event_after_eviction(store: EventStore) -> None:
    sealed_history(store)
    for version in (4, 5, 6):
        append(store, "a", version)
        append(store, "b", version)
    [gone] = store.get_events_for_aggregate("message_a", 5, 5)
    attack(store, f"DELETE FROM chronicle_events WHERE position = {gone.position}")
    for name, report in both(store).items():
        missing = [p for p in report.problems if p.kind is ProblemKind.EVENT_MISSING]
        assert [(p.aggregate_id, p.version) for p in missing] == [("message_a", 5)], name


def test_reordered_unsealed_events_of_one_aggregate_after_eviction(store: EventStore) -> None:
    sealed_history(store)
    for version in (4, 5):
        append(store, "a", version)
        append(store, "b", version)
    [four] = store.get_events_for_aggregate("message_a", 4, 4)
    [five] = store.get_events_for_aggregate("message_a", 5, 5)
    _swap_order(store, four.position, five.position)
    for name, report in both(store).items():
        assert report.first_problem is not None, name
        assert report.first_problem.kind is ProblemKind.ORDER_CHANGED, (name, report.problems)


def test_an_unsealed_event_rehashed_without_its_successor_after_eviction(
    store: EventStore,
) -> None:
    sealed_history(store)
    for version in (4, 5):
        append(store, "a", version)
        append(store, "b", version)
    _drop_the_version_constraint(store)
    [four] = store.get_events_for_aggregate("message_a", 4, 4)
    attack(store, f"DELETE FROM chronicle_events WHERE position = {four.position}")
    forged = forge(store, "message_a", 4, hash_of(store, "message_a", 3), position=four.position)
    if store.backend == "postgresql":  # keep it where it was in commit order
        [(transaction,)] = store.execute_raw(  # type: ignore[attr-defined]
            "SELECT transaction_id::text FROM chronicle_events WHERE position = "
            f"{four.position + 1}"
        )
        attack(
            store,
            f"UPDATE chronicle_events SET transaction_id = '{transaction}'::xid8 "
            f"WHERE event_id = '{forged}'",
        )
    for name, report in both(store).items():
        changed = [p for p in report.problems if p.kind is ProblemKind.CONTENT_CHANGED]
        assert [(p.aggregate_id, p.version) for p in changed] == [("message_a", 5)], name


def test_a_version_zero_event_of_an_aggregate_let_go(store: EventStore) -> None:
    history(store)
    caught_up(store)
    _drop_position_and_version_uniqueness(store)
    forged = forge(store, "message_a", 0, GENESIS, position=1000)
    for remembered in (50_000, BOUNDED):  # meeting it again asks for no version -1
        report = Verifier(store, public_key=KEY.public, remembered_chains=remembered).verify()
        assert inserted(report) == [forged], (remembered, report.problems)


# -- attacks on what _resume reads again from the store ------------------------------------------


def test_a_duplicate_sharing_the_position_of_the_event_it_doubles(store: EventStore) -> None:
    """A second event at version 3 of message_c, stored at message_c v3's own position (the
    database's uniqueness of positions dropped), after the last seal in commit order."""
    sealed_history(store)
    append(store, "x", 1)  # another aggregate met between: message_c is let go
    [taken] = store.get_events_for_aggregate("message_c", 3, 3)
    _drop_position_and_version_uniqueness(store)
    if store.backend == "sqlite":  # commit order is the position: the other one joins it there
        attack(
            store,
            f"UPDATE chronicle_events SET position = {taken.position} "
            "WHERE aggregate_id = 'message_x'",
        )
    forged = forge(store, "message_c", 3, hash_of(store, "message_c", 2), position=taken.position)
    reports = both(store)
    for name, report in reports.items():
        # The forgery is named; on SQLite so is message_x, moved onto a taken position.
        assert forged in inserted(report), (name, report.problems)
        assert set(inserted(report)) <= {forged, *_ids(store, "message_x")}, (name, report.problems)


def test_since_a_seal_a_duplicate_of_a_version_before_it_once_the_aggregate_was_met(
    store: EventStore,
) -> None:
    sealed_history(store)
    append(store, "a", 4)  # message_a met after seal 1: its chain is at version 4
    append(store, "b", 4)  # ... and let go
    caught_up(store)
    assert len(Sealer(store, key=KEY).run_once()) == 1
    _drop_the_version_constraint(store)
    forged = forge(store, "message_a", 2, hash_of(store, "message_a", 1))
    reports = both(store, since_seal=1)
    for name, report in reports.items():
        assert inserted(report) == [forged], (name, report.problems)
        assert report.aggregates == 2, name


def test_since_a_seal_unsealed_events_of_one_aggregate_reordered(store: EventStore) -> None:
    sealed_history(store)
    append(store, "a", 4)
    append(store, "b", 4)
    append(store, "a", 5)
    [four] = store.get_events_for_aggregate("message_a", 4, 4)
    [five] = store.get_events_for_aggregate("message_a", 5, 5)
    _swap_order(store, four.position, five.position)  # commit order: a5, b4, a4
    reports = both(store, since_seal=1)
    for name, report in reports.items():
        assert not report.intact, (name, report.problems)
        assert report.aggregates == 2, name


@pytest.mark.parametrize("remembered", [BOUNDED, 50_000])
def test_a_hidden_row_at_a_walked_position(store: EventStore, remembered: int) -> None:
    """PostgreSQL: a row beyond the horizon (never handed out) at a position the walk met."""
    if store.backend != "postgresql":
        pytest.skip("hiding a row from read_all by its transaction id is PostgreSQL's")
    sealed_history(store)
    [taken] = store.get_events_for_aggregate("message_c", 3, 3)
    _drop_position_and_version_uniqueness(store)
    forged = forge(store, "message_c", 3, hash_of(store, "message_c", 2), position=taken.position)
    attack(
        store,
        "UPDATE chronicle_events SET transaction_id = '9000000000000000000'::xid8 "
        f"WHERE event_id = '{forged}'",
    )
    report = Verifier(store, public_key=KEY.public, remembered_chains=remembered).verify()
    assert not report.intact, report.problems
