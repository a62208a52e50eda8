"""Retention on both SQL backends: old events leave the hot store for the archive, every
aggregate still loads as it did, verification passes, and every attack on what retention leaves
behind (receipts, cuts, kept heads, rows it did not archive) is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.chat.wiring import snapshot_check
from chronicle.compression import Compressor
from chronicle.errors import ImmutableEventError, InvalidEventError
from chronicle.integrity import ProblemKind, Verifier
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.repository import load_aggregate
from chronicle.retention import archive
from chronicle.retention.receipts import RECEIPT_AGGREGATE
from chronicle.retention.run import InstantAheadError, Retention
from tests.support.old_history import USERS, a_year_of_chat, message_id, sealed_whole

pytestmark = pytest.mark.needs("retention")

NOW = datetime.now(UTC)
A_YEAR_AGO = NOW - timedelta(days=400)  # the first weeks of the year are past the limit
TWO_YEARS_LATER = NOW + timedelta(days=2 * 365)
KEY = load_signing_key(new_signing_key_text())


def states(store: EventStore) -> dict[str, dict[str, object]]:
    """Every chat aggregate's state, loaded as the service loads it."""
    kinds = {}
    for event in store.read_all(limit=100_000):
        kinds.setdefault(event.aggregate_id, event.aggregate_type)
    return {
        aggregate_id: load_aggregate(store, CHAT_AGGREGATES[kind], aggregate_id).state()
        for aggregate_id, kind in kinds.items()
        if kind in CHAT_AGGREGATES
    }


def retention(store: EventStore, tmp_path: Path, **options: object) -> Retention:
    return Retention(
        store,
        retention_days=365,
        archive_dir=tmp_path / "archive",
        aggregates=CHAT_AGGREGATES,
        default_folder=True,
        **options,  # type: ignore[arg-type]
    )


def verified(store: EventStore, **options: object) -> object:
    return Verifier(store, snapshot_check=snapshot_check(store), **options).verify()  # type: ignore[arg-type]


def raw_delete(store: EventStore, table: str, where: str, value: object) -> None:
    mark = "?" if store.backend == "sqlite" else "%s"
    store.execute_raw(f"DELETE FROM {table} WHERE {where} = {mark}", (value,))  # type: ignore[attr-defined]


def without_guards(store: EventStore, *tables: str) -> None:
    """What a database superuser does first: switch the guard triggers off."""
    for table in tables:
        if store.backend == "sqlite":
            rows = store.execute_raw(  # type: ignore[attr-defined]
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
            )
            for (name,) in rows:
                store.execute_raw(f"DROP TRIGGER {name}")  # type: ignore[attr-defined]
        else:
            store.execute_raw(f"ALTER TABLE {table} DISABLE TRIGGER ALL")  # type: ignore[attr-defined]


@pytest.fixture
def year(store: EventStore) -> EventStore:
    """A store holding a year of chat history, imported with its instants, and sealed."""
    a_year_of_chat(store, A_YEAR_AGO)
    sealed_whole(store)
    return store


def test_two_years_later_only_the_receipt_is_left_every_aggregate_loads_the_same_and_verify_passes(
    year: EventStore, tmp_path: Path
) -> None:
    before = states(year)
    total = year.summary().total_events

    report = retention(year, tmp_path, signing_key=KEY).run(TWO_YEARS_LATER, force=True)

    assert report.archived == total and report.removed == total and report.held == 0
    assert report.snapshots == len(before) and report.receipt == 1
    left = year.read_all(limit=100_000)
    assert [event.aggregate_id for event in left] == [RECEIPT_AGGREGATE]
    assert year.summary().total_events == 1 == year.stats().total_events
    assert states_of(year, before) == before
    outcome = verified(year, public_key=KEY.public)
    assert outcome.intact, outcome.problems  # type: ignore[attr-defined]
    assert outcome.archived_events == total  # type: ignore[attr-defined]


def states_of(store: EventStore, like: dict[str, dict[str, object]]) -> dict[str, object]:
    kinds = {aggregate_id: _kind(aggregate_id) for aggregate_id in like}
    return {
        aggregate_id: load_aggregate(store, CHAT_AGGREGATES[kind], aggregate_id).state()
        for aggregate_id, kind in kinds.items()
    }


def _kind(aggregate_id: str) -> str:
    return {"user": "User", "project": "Project", "ticket": "Ticket", "message": "Message"}[
        aggregate_id.split("_", 1)[0]
    ]


def test_events_younger_than_the_limit_stay_and_the_segments_hold_exactly_the_rest(
    year: EventStore, tmp_path: Path
) -> None:
    before = states(year)
    everything = {event.event_id: event for event in year.read_all(limit=100_000)}

    report = retention(year, tmp_path).run()

    cutoff = report.cutoff
    assert cutoff is not None and 0 < report.removed < len(everything)
    hot = {event.event_id for event in year.read_all(limit=100_000)}
    folder = archive.receipt_folder(tmp_path / "archive", 1)
    archived = {
        item.event.event_id: item.event
        for info in archive.segments_of(archive.read_manifest(folder))
        for item in archive.read_segment(folder, info)
    }
    assert all(event.timestamp < cutoff for event in archived.values())
    assert all(everything[event_id].timestamp >= cutoff for event_id in hot - {_receipt(year)})
    assert set(everything) == (hot - {_receipt(year)}) | set(archived)
    assert archived == {event_id: everything[event_id] for event_id in archived}
    assert states_of(year, before) == before
    outcome = verified(year)
    assert outcome.intact, outcome.problems  # type: ignore[attr-defined]


def _receipt(store: EventStore) -> str:
    return store.get_events_for_aggregate(RECEIPT_AGGREGATE)[-1].event_id


def test_an_aggregate_whose_events_were_archived_takes_its_next_version_and_still_verifies(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    message = message_id(3)
    version = year.get_aggregate_version(message)
    assert version >= 1 and year.get_events_for_aggregate(message) == []

    year.append(message, [NewEvent("MessageUpdated", {"content": "written after retention"})],
                expected_version=version, aggregate_type="Message", user_id=USERS[3])  # fmt: skip
    sealed_whole(year)

    loaded = load_aggregate(year, CHAT_AGGREGATES["Message"], message)
    assert loaded.version == version + 1 and loaded.state()["content"] == "written after retention"
    outcome = verified(year)
    assert outcome.intact, outcome.problems  # type: ignore[attr-defined]


def test_a_second_run_archives_what_became_old_since_and_both_receipts_verify(
    year: EventStore, tmp_path: Path
) -> None:
    run = retention(year, tmp_path)
    first = run.run()
    later = NOW + timedelta(days=200)
    second = run.run(later, force=True)
    assert first.receipt == 1 and second.receipt == 2 and second.removed > 0
    outcome = verified(year)
    assert outcome.intact and outcome.retention_receipts == 2, outcome.problems  # type: ignore[attr-defined]


def test_verify_passes_after_compression_and_then_retention(
    year: EventStore, tmp_path: Path
) -> None:
    before = states(year)
    Compressor(year, codec="zstd", after_days=7).run(NOW)
    retention(year, tmp_path).run()
    assert states_of(year, before) == before
    outcome = verified(year)
    assert outcome.intact, outcome.problems  # type: ignore[attr-defined]


def test_a_dry_run_says_what_it_would_archive_and_changes_nothing(
    year: EventStore, tmp_path: Path
) -> None:
    before = [event.to_dict() for event in year.read_all(limit=100_000)]
    report = retention(year, tmp_path).run(TWO_YEARS_LATER, dry_run=True, force=True)
    assert report.dry_run and report.archived == len(before) == report.removed
    assert [event.to_dict() for event in year.read_all(limit=100_000)] == before
    assert not (tmp_path / "archive").exists()


def test_a_now_more_than_a_day_ahead_is_refused_without_force_and_nothing_moves(
    year: EventStore, tmp_path: Path
) -> None:
    count = year.summary().total_events
    with pytest.raises(InstantAheadError, match="--force"):
        retention(year, tmp_path).run(NOW + timedelta(days=2))
    with pytest.raises(InvalidEventError, match="timezone"):
        retention(year, tmp_path).run(datetime(2030, 1, 1))
    assert year.summary().total_events == count


def test_a_retention_of_zero_days_keeps_everything(year: EventStore, tmp_path: Path) -> None:
    count = year.summary().total_events
    run = Retention(year, retention_days=0, archive_dir=tmp_path / "a", aggregates=CHAT_AGGREGATES)
    report = run.run(TWO_YEARS_LATER, force=True)
    assert report.archived == 0 and "keeps everything" in (report.waiting or "")
    assert year.summary().total_events == count


def test_a_configured_archive_folder_that_does_not_exist_stops_the_run_and_removes_nothing(
    year: EventStore, tmp_path: Path
) -> None:
    count = year.summary().total_events
    run = Retention(year, retention_days=365, archive_dir=tmp_path / "missing",
                    aggregates=CHAT_AGGREGATES)  # fmt: skip
    with pytest.raises(archive.ArchiveError, match="does not exist"):
        run.run(TWO_YEARS_LATER, force=True)
    assert year.summary().total_events == count and year.retention_cuts() == []  # type: ignore[attr-defined]


# -- what the database allows ----------------------------------------------------------------


def test_the_database_refuses_to_delete_an_event_no_cut_covers(year: EventStore) -> None:
    first = year.read_all(limit=1)[0]
    with pytest.raises(ImmutableEventError):
        raw_delete(year, "chronicle_events", "position", first.position)
    assert year.get_event(first.event_id) == first


def test_after_retention_the_database_still_refuses_to_delete_younger_events_or_receipts(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path).run()
    for event in year.read_all(limit=100_000):  # the receipt and every event the cut kept
        with pytest.raises(ImmutableEventError):
            raw_delete(year, "chronicle_events", "position", event.position)
    with pytest.raises(ImmutableEventError):
        raw_delete(year, "chronicle_retention_cuts", "number", 1)
    with pytest.raises(ImmutableEventError):
        raw_delete(year, "chronicle_retention_heads", "cut", 1)


# -- attacks on what retention leaves behind -------------------------------------------------


def test_a_deleted_cut_row_is_reported_as_a_receipt_without_its_cut(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    without_guards(year, "chronicle_retention_cuts")
    raw_delete(year, "chronicle_retention_cuts", "number", 1)

    outcome = verified(year)
    assert not outcome.intact  # type: ignore[attr-defined]
    assert ProblemKind.RECEIPT_MISSING in {problem.kind for problem in outcome.problems}  # type: ignore[attr-defined]


def test_a_deleted_receipt_event_is_reported(year: EventStore, tmp_path: Path) -> None:
    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    sealed_whole(year)  # the receipt is sealed, as the worker would have done
    receipt = year.get_events_for_aggregate(RECEIPT_AGGREGATE)[0]
    without_guards(year, "chronicle_events")
    raw_delete(year, "chronicle_events", "position", receipt.position)

    outcome = verified(year)
    kinds = {problem.kind for problem in outcome.problems}  # type: ignore[attr-defined]
    assert ProblemKind.RECEIPT_MISSING in kinds


def test_a_receipt_whose_cut_was_moved_is_reported_as_altered(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path).run()
    without_guards(year, "chronicle_retention_cuts")
    mark = "?" if year.backend == "sqlite" else "%s"
    year.execute_raw(  # type: ignore[attr-defined]
        f"UPDATE chronicle_retention_cuts SET tree_size = tree_size + 5 WHERE number = {mark}", (1,)
    )
    outcome = verified(year)
    assert ProblemKind.RECEIPT_ALTERED in {p.kind for p in outcome.problems}  # type: ignore[attr-defined]


def test_a_forged_cut_without_a_receipt_does_not_let_a_deletion_pass_unseen(
    year: EventStore,
) -> None:
    """A stolen login inserts a cut and kept heads covering the whole log, then deletes events
    the guard would now let go: the verifier finds a cut with no receipt."""
    events = year.read_all(limit=100_000)
    victim = events[10]
    leaf = year.merkle_leaf(victim.position)
    assert leaf is not None
    mark = "?" if year.backend == "sqlite" else "%s"
    marks = ", ".join([mark] * 7)
    head = year.latest_seal()
    assert head is not None
    year.execute_raw(  # type: ignore[attr-defined]
        "INSERT INTO chronicle_retention_cuts (number, tree_size, head, root, receipt_position, "
        f"max_position, recorded_at) VALUES ({marks})",
        (1, head.event_count, head.head, head.root, 10**9, 10**9, NOW.isoformat()),
    )
    year.execute_raw(  # type: ignore[attr-defined]
        f"INSERT INTO chronicle_retention_heads VALUES ({', '.join([mark] * 6)})",
        (victim.aggregate_id, victim.version, victim.hash, victim.position, 1, NOW.isoformat()),
    )
    raw_delete(year, "chronicle_events", "position", victim.position)

    outcome = verified(year)
    assert ProblemKind.RECEIPT_MISSING in {p.kind for p in outcome.problems}  # type: ignore[attr-defined]


def test_a_receipt_signed_by_the_sealers_key_is_trusted_and_one_altered_is_not(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path, signing_key=KEY).run()
    assert verified(year, public_key=KEY.public).intact  # type: ignore[attr-defined]
    other = load_signing_key(new_signing_key_text())
    outcome = verified(year, public_key=other.public)
    assert ProblemKind.RECEIPT_ALTERED in {p.kind for p in outcome.problems}  # type: ignore[attr-defined]


# -- audit reads after retention ---------------------------------------------------------------


def test_history_and_state_answer_from_the_cut_on_and_name_what_is_archived(
    year: EventStore, tmp_path: Path
) -> None:
    from chronicle.errors import ArchivedHistoryError
    from chronicle.history import archived_up_to, history, state_at, state_at_version

    message = message_id(12)
    whole = history(year, CHAT_AGGREGATES, message)
    now_state = state_at_version(year, CHAT_AGGREGATES, message)
    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    archived = archived_up_to(year, message)
    assert archived == whole[-1].version

    assert history(year, CHAT_AGGREGATES, message) == []  # every event of it is archived
    assert state_at_version(year, CHAT_AGGREGATES, message) == now_state
    assert state_at(year, CHAT_AGGREGATES, message, NOW).state == now_state.state
    with pytest.raises(ArchivedHistoryError, match="archived"):
        state_at(year, CHAT_AGGREGATES, message, whole[-1].timestamp - timedelta(seconds=1))
    if archived > 1:
        with pytest.raises(ArchivedHistoryError):
            state_at_version(year, CHAT_AGGREGATES, message, archived - 1)

    year.append(message, [NewEvent("MessageUpdated", {"content": "after the cut"})],
                expected_version=archived, aggregate_type="Message", user_id=USERS[2])  # fmt: skip
    [entry] = history(year, CHAT_AGGREGATES, message)
    assert entry.version == archived + 1 and not entry.created
    assert [change.field for change in entry.changes] == ["content", "edit_count"]
    assert entry.changes[0].old == now_state.state["content"]


@pytest.mark.parametrize("expected", [None, "kept"])
def test_an_append_to_an_archived_aggregate_takes_the_version_after_its_kept_head(
    year: EventStore, tmp_path: Path, expected: str | None
) -> None:
    from chronicle.errors import ConcurrencyError

    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    message = message_id(5)
    kept = year.get_aggregate_version(message)
    edit = [NewEvent("MessageUpdated", {"content": "after the cut"})]
    with pytest.raises(ConcurrencyError):  # it exists: never a second version 1
        year.append(message, edit, expected_version=0, aggregate_type="Message")
    [event] = year.append(message, edit, aggregate_type="Message",
                          expected_version=kept if expected else None)  # fmt: skip
    assert event.version == kept + 1
    sealed_whole(year)
    outcome = verified(year)
    assert outcome.intact, outcome.problems  # type: ignore[attr-defined]


def test_events_a_hold_kept_below_the_cut_cannot_be_deleted_unseen(
    year: EventStore, tmp_path: Path
) -> None:
    from chronicle.retention.holds import place_hold

    held = message_id(20)
    place_hold(year, "aggregate", held, "litigation", placed_by=None)
    retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    kept = year.get_events_for_aggregate(held)
    assert kept and verified(year).intact  # type: ignore[attr-defined]
    without_guards(year, "chronicle_events")
    for event in kept:
        raw_delete(year, "chronicle_events", "position", event.position)

    outcome = verified(year)
    assert ProblemKind.EVENT_MISSING in {p.kind for p in outcome.problems}  # type: ignore[attr-defined]


def test_with_trusted_keys_an_unsigned_receipt_is_a_problem_not_a_warning(
    year: EventStore, tmp_path: Path
) -> None:
    retention(year, tmp_path).run()  # no signing key: the kind of receipt a forger writes
    outcome = verified(year, public_key=KEY.public)
    assert ProblemKind.RECEIPT_ALTERED in {p.kind for p in outcome.problems}  # type: ignore[attr-defined]


def test_a_second_run_while_one_holds_the_archive_folder_is_refused_and_removes_nothing(
    year: EventStore, tmp_path: Path
) -> None:
    from chronicle.errors import RetentionRefusedError

    count = year.summary().total_events
    (tmp_path / "archive").mkdir()
    # the worker's run, say, still going:
    with archive.exclusive(tmp_path / "archive"), pytest.raises(RetentionRefusedError):
        retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    assert year.summary().total_events == count


def test_aggregates_of_a_type_without_a_class_stay_in_the_store(
    year: EventStore, tmp_path: Path
) -> None:
    year.import_events("invoice_1", [NewEvent("InvoiceIssued", {"total": 3})], expected_version=0,
                       aggregate_type="Invoice", user_id=None, recorded_at=A_YEAR_AGO)  # fmt: skip
    sealed_whole(year)
    report = retention(year, tmp_path).run(TWO_YEARS_LATER, force=True)
    assert report.held >= 1
    assert [event.event_type for event in year.get_events_for_aggregate("invoice_1")] == [
        "InvoiceIssued"
    ]
    assert verified(year).intact  # type: ignore[attr-defined]


def test_an_archived_aggregate_without_a_snapshot_that_loads_is_named_as_archived(
    year: EventStore, tmp_path: Path
) -> None:
    """As after a change of the aggregate's state schema: the snapshot at the cut no longer
    loads, and the events before it are in the archive, not the store."""
    from chronicle.errors import ArchivedHistoryError

    retention(year, tmp_path).run()
    message = next(
        m
        for m in (message_id(i) for i in range(120))
        if year.retention_head(m)  # type: ignore[attr-defined]
    )
    without_guards(year, "chronicle_snapshot_attestations")
    raw_delete(year, "chronicle_snapshot_attestations", "aggregate_id", message)
    with pytest.raises(ArchivedHistoryError, match="archived"):
        load_aggregate(year, CHAT_AGGREGATES["Message"], message)


def test_a_receipt_folder_moved_to_cold_storage_does_not_stop_later_runs(
    year: EventStore, tmp_path: Path
) -> None:
    import shutil

    run = retention(year, tmp_path)
    run.run()
    shutil.move(tmp_path / "archive" / "receipt-000001", tmp_path / "cold")
    second = run.run(NOW + timedelta(days=200), force=True)
    assert second.receipt == 2 and second.removed > 0
    assert verified(year).intact  # type: ignore[attr-defined]
