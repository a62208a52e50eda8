"""Legal holds on both SQL backends: placing and releasing one is an event (who, why) and a row
the database's guard reads; retention keeps everything held, and removes it once released; the
database refuses to delete a held row; a hold row removed behind Chronicle's back stops the next
run. Then the same holds through ``chronicle hold`` and through the admin API's ``/holds``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.errors import (
    HoldNotFoundError,
    ImmutableEventError,
    InvalidEventError,
    RetentionRefusedError,
)
from chronicle.events import RecordedEvent
from chronicle.integrity import Verifier
from chronicle.retention.holds import (
    HOLD_PLACED,
    HOLD_RELEASED,
    HOLD_TYPE,
    Hold,
    active_holds,
    checked_holds,
    place_hold,
    release_hold,
)
from chronicle.retention.run import Retention, RetentionReport
from chronicle.store.postgres.horizon import WRITER_LOCK
from chronicle.store.records import HoldRow
from tests.conftest import BACKENDS
from tests.integration.api.conftest import Api, assert_problem, settings_for, start
from tests.integration.api.test_openapi_contract import assert_documented
from tests.integration.cli.subprocesses import run_chronicle, store_env
from tests.support.old_history import USERS, a_year_of_chat, message_id, sealed_whole, ticket_id

pytestmark = pytest.mark.needs("retention")

NOW = datetime.now(UTC)
A_YEAR_AGO = NOW - timedelta(days=400)
A_YEAR_LATER = NOW + timedelta(days=365)  # every imported event is past the limit then
ADMIN = "user_" + "a" * 32
HELD_MESSAGE = message_id(3)
HELD_USER = USERS[1]


# -- helpers ------------------------------------------------------------------------------------


def a_ticket(store: EventStore, ticket: str = "ticket_1") -> str:
    store.append(
        ticket,
        [NewEvent("TicketCreated", {"title": "Broken"})],
        expected_version=0,
        aggregate_type="Ticket",
        user_id=USERS[0],
    )
    return ticket


def an_old_ticket_event(
    store: EventStore, event_type: str, data: dict[str, Any], *, by: str, days_ago: int
) -> None:
    """An event of ticket 1, imported with an instant long past the limit."""
    store.import_events(
        ticket_id(1),
        [NewEvent(event_type, data)],
        expected_version=store.get_aggregate_version(ticket_id(1)),
        aggregate_type="Ticket",
        user_id=by,
        recorded_at=NOW - timedelta(days=days_ago),
    )


def sealed(store: EventStore) -> None:
    """Seal until every stored event is (on PostgreSQL, a writer of another test on the server
    may hold the sealer back for a moment)."""
    [(newest,)] = store.execute_raw("SELECT max(position) FROM chronicle_events")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while store.merkle_leaf(newest) is None:
        assert time.monotonic() < deadline, "the sealer never sealed the newest event"
        sealed_whole(store)
        time.sleep(0.01)


def run_retention(
    store: EventStore, tmp_path: Path, progress: Callable[[int], None] | None = None
) -> RetentionReport:
    """A run a year from now (so every imported event is past the limit), the log sealed first;
    ``progress`` is called after each batch of rows removed."""
    sealed(store)
    return Retention(
        store,
        retention_days=365,
        archive_dir=tmp_path / "archive",
        aggregates=CHAT_AGGREGATES,
        default_folder=True,
    ).run(A_YEAR_LATER, force=True, progress=progress)


def chat_history_of(store: EventStore) -> dict[str, list[RecordedEvent]]:
    """Every chat aggregate's events as stored before any run, by aggregate."""
    found: dict[str, list[RecordedEvent]] = {}
    for event in store.read_all(limit=100_000):
        if event.aggregate_type in CHAT_AGGREGATES:
            found.setdefault(event.aggregate_id, []).append(event)
    return found


def still_stored(store: EventStore, aggregates: Iterable[str]) -> dict[str, list[RecordedEvent]]:
    """The events of these aggregates the hot store still holds, by aggregate (none: left out)."""
    return {
        aggregate: events
        for aggregate in aggregates
        if (events := store.get_events_for_aggregate(aggregate))
    }


def written_by(store: EventStore, user_id: str) -> set[str]:
    return {
        event.aggregate_id for event in store.read_all(limit=100_000) if event.user_id == user_id
    }


def hold_rows(store: EventStore) -> list[HoldRow]:
    """The guard's table of active holds, as the store reads it."""
    return store.holds()  # type: ignore[attr-defined]


def raw_delete_event(store: EventStore, position: int) -> None:
    mark = "?" if store.backend == "sqlite" else "%s"
    store.execute_raw(f"DELETE FROM chronicle_events WHERE position = {mark}", (position,))  # type: ignore[attr-defined]


@pytest.fixture
def year(store: EventStore) -> EventStore:
    """A year of chat history, imported with its instants, and sealed."""
    a_year_of_chat(store, A_YEAR_AGO)
    sealed(store)
    return store


# -- placing and releasing ----------------------------------------------------------------------


def test_placing_a_hold_records_who_placed_it_and_why_in_an_event_and_a_row_the_guard_reads(
    store: EventStore,
) -> None:
    ticket = a_ticket(store)

    hold = place_hold(store, "aggregate", ticket, "litigation 2027-14", placed_by=ADMIN)

    [placed] = store.get_events_for_aggregate(hold.hold_id)
    assert (placed.event_type, placed.aggregate_type, placed.user_id) == (
        HOLD_PLACED,
        HOLD_TYPE,
        ADMIN,
    )
    assert placed.data == {
        "subject_kind": "aggregate",
        "subject_id": ticket,
        "reason": "litigation 2027-14",
    }
    [row] = hold_rows(store)
    assert (row.hold_id, row.subject_kind, row.subject_id, row.reason) == (
        hold.hold_id,
        "aggregate",
        ticket,
        "litigation 2027-14",
    )
    [active] = active_holds(store)
    assert (active.hold_id, active.subject_id, active.placed_by) == (hold.hold_id, ticket, ADMIN)


def test_releasing_a_hold_records_who_released_it_and_why_and_removes_its_row(
    store: EventStore,
) -> None:
    hold = place_hold(store, "user", USERS[2], "subpoena", placed_by=ADMIN)

    released = release_hold(store, hold.hold_id, "subpoena withdrawn", released_by=USERS[0])

    assert released.hold_id == hold.hold_id
    placed, release = store.get_events_for_aggregate(hold.hold_id)
    assert placed.event_type == HOLD_PLACED and release.event_type == HOLD_RELEASED
    assert (release.user_id, release.data) == (USERS[0], {"reason": "subpoena withdrawn"})
    assert hold_rows(store) == [] and active_holds(store) == []


def test_a_hold_released_already_or_never_placed_cannot_be_released(store: EventStore) -> None:
    hold = place_hold(store, "aggregate", a_ticket(store), "audit", placed_by=ADMIN)
    release_hold(store, hold.hold_id, "done", released_by=ADMIN)
    for hold_id in (hold.hold_id, "hold-" + "0" * 32):
        with pytest.raises(HoldNotFoundError):
            release_hold(store, hold_id, "again", released_by=ADMIN)
    assert len(store.get_events_for_aggregate(hold.hold_id)) == 2


@pytest.fixture
def a_writer_mid_transaction(postgres_url: str) -> Iterator[None]:
    """Another Chronicle writer on the server (another process, another database's store) in
    the middle of a transaction: it holds the followers' read horizon back until it ends."""
    with psycopg.connect(postgres_url) as writer:
        writer.execute(f"SELECT {WRITER_LOCK}")
        writer.execute("SELECT pg_current_xact_id()")
        yield
        writer.rollback()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_hold_just_placed_is_listed_and_released_while_another_writer_is_mid_transaction(
    store: EventStore, a_writer_mid_transaction: None
) -> None:
    hold = place_hold(store, "aggregate", a_ticket(store), "audit", placed_by=ADMIN)

    assert [active.hold_id for active in checked_holds(store)] == [hold.hold_id]
    release_hold(store, hold.hold_id, "done", released_by=ADMIN)
    assert checked_holds(store) == []


@pytest.mark.parametrize("reason", ["", "   ", "line\nbreak", "x" * 501])
def test_a_hold_without_a_fit_reason_is_refused_and_records_nothing(
    store: EventStore, reason: str
) -> None:
    ticket = a_ticket(store)
    with pytest.raises(InvalidEventError):
        place_hold(store, "aggregate", ticket, reason, placed_by=ADMIN)
    assert hold_rows(store) == [] and store.get_event_count() == 1


# -- what retention keeps -----------------------------------------------------------------------


def test_retention_keeps_every_event_of_a_held_aggregate_and_of_each_aggregate_a_held_user_wrote_in(
    year: EventStore, tmp_path: Path
) -> None:
    before = chat_history_of(year)
    held = {HELD_MESSAGE} | written_by(year, HELD_USER)
    assert HELD_MESSAGE not in written_by(year, HELD_USER) and len(held) > 10
    place_hold(year, "aggregate", HELD_MESSAGE, "complaint 7", placed_by=ADMIN)
    place_hold(year, "user", HELD_USER, "subpoena", placed_by=ADMIN)

    report = run_retention(year, tmp_path)

    assert report.receipt == 1 and report.held == sum(len(before[a]) for a in held)
    assert still_stored(year, before) == {aggregate: before[aggregate] for aggregate in held}


def test_the_next_run_after_the_holds_are_released_removes_what_they_kept(
    year: EventStore, tmp_path: Path
) -> None:
    history = chat_history_of(year)
    holds = [
        place_hold(year, "aggregate", HELD_MESSAGE, "complaint 7", placed_by=ADMIN),
        place_hold(year, "user", HELD_USER, "subpoena", placed_by=ADMIN),
    ]
    first = run_retention(year, tmp_path)
    for hold in holds:
        release_hold(year, hold.hold_id, "settled", released_by=ADMIN)

    second = run_retention(year, tmp_path)

    assert first.held > 0 and second.receipt == 2
    assert second.released == second.removed == first.held and second.held == 0
    assert still_stored(year, history) == {}


def test_a_user_hold_keeps_an_aggregate_the_user_wrote_in_after_someone_else_created_it(
    store: EventStore, tmp_path: Path
) -> None:
    created = {"title": "T", "description": "", "priority": "low", "project_id": "project_1"}
    an_old_ticket_event(store, "TicketCreated", created, by=USERS[0], days_ago=400)
    assigned = {"assigned_to": USERS[4], "assigned_by": USERS[4]}
    an_old_ticket_event(store, "TicketAssigned", assigned, by=USERS[4], days_ago=399)
    place_hold(store, "user", USERS[4], "subpoena", placed_by=ADMIN)

    report = run_retention(store, tmp_path)

    assert report.held == 2
    [kept] = still_stored(store, [ticket_id(1)]).values()
    assert [(event.version, event.user_id) for event in kept] == [(1, USERS[0]), (2, USERS[4])]


# -- what the database allows -------------------------------------------------------------------


def test_the_database_refuses_to_delete_a_held_row_the_cut_covers(
    year: EventStore, tmp_path: Path
) -> None:
    history = chat_history_of(year)
    place_hold(year, "aggregate", HELD_MESSAGE, "complaint 7", placed_by=ADMIN)
    place_hold(year, "user", HELD_USER, "subpoena", placed_by=ADMIN)
    run_retention(year, tmp_path)
    kept = still_stored(year, history)
    assert year.retention_cuts() and hold_rows(year) and HELD_MESSAGE in kept  # type: ignore[attr-defined]

    for events in kept.values():
        for event in events:
            with pytest.raises(ImmutableEventError):
                raw_delete_event(year, event.position)
    assert still_stored(year, history) == kept


def test_a_hold_placed_while_a_run_removes_rows_keeps_them_the_database_refuses_their_delete(
    store: EventStore, tmp_path: Path
) -> None:
    a_year_of_chat(store, A_YEAR_AGO, messages=800)  # more than one batch of removals
    last_written = message_id(799)  # its row is in the last batch
    holds: list[Hold] = []

    def after_each_batch(removed: int) -> None:
        if not holds:  # the cut and the kept heads are recorded, the first rows are gone
            holds.append(place_hold(store, "aggregate", last_written, "urgent", placed_by=ADMIN))

    with pytest.raises(ImmutableEventError):
        run_retention(store, tmp_path, progress=after_each_batch)

    assert holds and store.retention_cuts()  # type: ignore[attr-defined]
    assert len(store.get_events_for_aggregate(last_written)) == 1

    # The next run completes the interrupted one around the hold, and everything verifies.
    run_retention(store, tmp_path)
    assert len(store.get_events_for_aggregate(last_written)) == 1
    assert store.get_events_for_aggregate(message_id(798)) == []
    outcome = Verifier(store).verify()
    assert outcome.intact, outcome.problems


def test_a_hold_row_deleted_behind_chronicles_back_stops_the_next_run_before_it_removes_anything(
    year: EventStore, tmp_path: Path
) -> None:
    place_hold(year, "aggregate", HELD_MESSAGE, "complaint 7", placed_by=ADMIN)
    before = chat_history_of(year)
    year.execute_raw("DELETE FROM chronicle_holds")  # type: ignore[attr-defined]

    with pytest.raises(RetentionRefusedError, match="behind Chronicle's back"):
        run_retention(year, tmp_path)

    assert still_stored(year, before) == before and year.retention_cuts() == []  # type: ignore[attr-defined]


def test_a_hold_row_added_behind_chronicles_back_stops_the_next_run_too(
    year: EventStore, tmp_path: Path
) -> None:
    place_hold(year, "aggregate", HELD_MESSAGE, "complaint 7", placed_by=ADMIN)
    before = chat_history_of(year)
    year.execute_raw(  # type: ignore[attr-defined]
        "INSERT INTO chronicle_holds SELECT 'hold-forged', subject_kind, subject_id, reason, "
        "placed_at FROM chronicle_holds"
    )

    with pytest.raises(RetentionRefusedError):
        run_retention(year, tmp_path)

    assert still_stored(year, before) == before and year.retention_cuts() == []  # type: ignore[attr-defined]


# -- chronicle hold -----------------------------------------------------------------------------


def chronicle(store_url: str, *args: str) -> Any:
    return run_chronicle("hold", *args, env=store_env(store_url))


def test_hold_add_prints_the_new_holds_id_and_hold_list_shows_it_until_hold_remove(
    store: EventStore, store_url: str
) -> None:
    ticket = a_ticket(store)

    added = chronicle(store_url, "add", ticket, "--reason", "litigation 2027-14")
    assert added.returncode == 0, added.stderr
    hold_id = added.stdout.strip()
    assert hold_id.startswith("hold-") and ticket in added.stderr

    listed = chronicle(store_url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [shown] = json.loads(listed.stdout)
    assert shown["hold_id"] == hold_id and shown["subject_kind"] == "aggregate"
    assert (shown["subject_id"], shown["reason"], shown["placed_by"]) == (
        ticket,
        "litigation 2027-14",
        "system:cli",
    )
    table = chronicle(store_url, "list")
    assert any(hold_id in line and ticket in line for line in table.stdout.splitlines())

    removed = chronicle(store_url, "remove", hold_id, "--reason", "settled")
    assert removed.returncode == 0, removed.stderr
    assert f"released legal hold {hold_id}" in removed.stdout
    assert json.loads(chronicle(store_url, "list", "--json").stdout) == []
    release = store.get_events_for_aggregate(hold_id)[-1]
    assert (release.event_type, release.user_id, release.data) == (
        HOLD_RELEASED,
        "system:cli",
        {"reason": "settled"},
    )


def test_hold_add_with_user_holds_what_that_user_wrote(store: EventStore, store_url: str) -> None:
    a_ticket(store)  # written by USERS[0]

    added = chronicle(store_url, "add", USERS[0], "--user", "--reason", "subpoena", "--json")

    assert added.returncode == 0, added.stderr
    hold = json.loads(added.stdout)
    assert (hold["subject_kind"], hold["subject_id"]) == ("user", USERS[0])
    [row] = hold_rows(store)
    assert (row.hold_id, row.subject_kind) == (hold["hold_id"], "user")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("add", "ticket_1", "--reason", ""), 2, "reason"),
        (("add", "ticket_1", "--reason", "   "), 2, "reason"),
        (("add", "not an id!", "--reason", "x"), 2, "aggregate id"),
        (("add", "", "--user", "--reason", "x"), 2, "user id"),
        (("add", "ticket_404", "--reason", "x"), 1, "nothing was held"),
        (("add", "user_nobody", "--user", "--reason", "x"), 1, "nothing was held"),
        (("remove", "hold-" + "0" * 32, "--reason", "x"), 1, "no active legal hold"),
        (("remove", "hold-" + "0" * 32, "--reason", ""), 2, "reason"),
    ],
    ids=[
        "an empty reason",
        "a blank reason",
        "a bad aggregate id",
        "an empty user id",
        "an unknown aggregate",
        "an unknown user",
        "an unknown hold",
        "a release without a reason",
    ],
)
def test_chronicle_hold_refuses_bad_input_clearly_and_holds_nothing(
    store: EventStore, store_url: str, args: tuple[str, ...], code: int, says: str
) -> None:
    a_ticket(store)
    result = chronicle(store_url, *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "error:" in result.stderr and says in result.stderr and "Traceback" not in result.stderr
    assert hold_rows(store) == []


def test_hold_list_shows_the_holds_and_fails_when_their_table_was_changed_behind_its_back(
    store: EventStore, store_url: str
) -> None:
    hold = place_hold(store, "aggregate", a_ticket(store), "audit", placed_by=ADMIN)
    store.execute_raw("DELETE FROM chronicle_holds")  # type: ignore[attr-defined]

    listed = chronicle(store_url, "list", "--json")

    assert listed.returncode == 1
    assert [shown["hold_id"] for shown in json.loads(listed.stdout)] == [hold.hold_id]
    assert "behind Chronicle's back" in listed.stderr


def test_a_store_that_archives_nothing_keeps_no_holds(tmp_path: Path) -> None:
    result = run_chronicle(
        "hold", "list", "--store-url", "memory://", env=store_env(f"sqlite:///{tmp_path}/x.db")
    )
    assert result.returncode == 2
    assert "the memory store keeps no legal holds" in result.stderr


# -- the admin API ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The chat service with its four users, once per backend for the module (starting it hashes
    four passwords); each test places holds of its own and compares what it finds to before."""
    if request.param == "sqlite":
        yield from start(settings_for(f"sqlite:///{tmp_path_factory.mktemp('holds')}/c.db"))
        return
    base = str(request.getfixturevalue("postgres_url"))
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        options = quote(f"-csearch_path={schema}")
        yield from start(settings_for(f"{base}?options={options}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def a_message(api: Api) -> str:
    return str(api.post_message("alice", content="to be held")["id"])


def on(subject_id: str, kind: str = "aggregate", reason: str = "kept") -> dict[str, object]:
    """The body of ``POST /holds``."""
    return {"subject_kind": kind, "subject_id": subject_id, "reason": reason}


def rows(api: Api) -> list[HoldRow]:
    return hold_rows(api.services.chat.store)


def post_hold(api: Api, body: dict[str, object], who: str = "admin") -> Any:
    return api.client.post("/holds", json=body, headers=api.as_(who))


def release(api: Api, hold_id: str, who: str = "admin", **params: str) -> Any:
    return api.client.delete(f"/holds/{hold_id}", params=params, headers=api.as_(who))


def documented(api: Api, method: str, template: str, response: Any) -> dict[str, Any]:
    """The response's body, valid against the schema the OpenAPI document gives its status."""
    document = api.client.get("/openapi.json").json()
    return assert_documented(document, method, template, response)


def test_an_admin_places_lists_and_releases_a_hold_recorded_as_themselves(api: Api) -> None:
    message = a_message(api)

    placed = post_hold(api, on(message, reason="complaint 7"))
    assert placed.status_code == 201, placed.text
    hold = documented(api, "post", "/holds", placed)
    assert (hold["subject_kind"], hold["subject_id"], hold["reason"], hold["placed_by"]) == (
        "aggregate",
        message,
        "complaint 7",
        api.ids["admin"],
    )
    listed = api.client.get("/holds", headers=api.as_("admin"))
    assert hold in documented(api, "get", "/holds", listed)["items"]

    released = release(api, hold["hold_id"], reason="resolved")
    assert released.status_code == 200, released.text
    answer = documented(api, "delete", "/holds/{hold_id}", released)
    assert answer == {
        **hold,
        "released_at": answer["released_at"],
        "released_by": api.ids["admin"],
        "release_reason": "resolved",
    }
    still = api.client.get("/holds", headers=api.as_("admin")).json()["items"]
    assert hold["hold_id"] not in [each["hold_id"] for each in still]
    placed_event, released_event = api.services.chat.store.get_events_for_aggregate(hold["hold_id"])
    assert placed_event.user_id == released_event.user_id == api.ids["admin"]
    assert released_event.data == {"reason": "resolved"}


def test_an_admin_holds_a_user(api: Api) -> None:
    a_message(api)  # alice writes something

    placed = post_hold(api, on(api.ids["alice"], kind="user", reason="subpoena"))

    assert placed.status_code == 201, placed.text
    [row] = [row for row in rows(api) if row.hold_id == placed.json()["hold_id"]]
    assert (row.subject_kind, row.subject_id) == ("user", api.ids["alice"])


@pytest.mark.parametrize("who", ["alice", "auditor"])
def test_members_and_auditors_may_not_see_place_or_release_holds(api: Api, who: str) -> None:
    message = a_message(api)
    hold_id = post_hold(api, on(message)).json()["hold_id"]
    before = rows(api)

    assert_problem(api.client.get("/holds", headers=api.as_(who)), 403)
    assert_problem(post_hold(api, on(message, reason="mine"), who), 403)
    assert_problem(release(api, hold_id, who, reason="mine"), 403)
    assert rows(api) == before and hold_id in {row.hold_id for row in before}


@pytest.mark.parametrize("hold_id", ["hold-" + "0" * 32, "hold-unknown", "message_" + "0" * 32])
def test_releasing_a_hold_that_is_not_active_is_404(api: Api, hold_id: str) -> None:
    response = release(api, hold_id, reason="x")
    assert "no active legal hold" in assert_problem(response, 404)["detail"]
    documented(api, "delete", "/holds/{hold_id}", response)


def test_a_hold_released_once_is_404_the_second_time(api: Api) -> None:
    hold_id = post_hold(api, on(a_message(api))).json()["hold_id"]
    assert release(api, hold_id, reason="done").status_code == 200
    assert_problem(release(api, hold_id, reason="again"), 404)


BAD_BODIES: dict[str, dict[str, object]] = {
    "no reason": {"subject_kind": "aggregate", "subject_id": "{message}"},
    "an empty reason": on("{message}", reason=""),
    "a blank reason": on("{message}", reason="   "),
    "a NUL in the reason": on("{message}", reason="a\x00b"),
    "a line break in the reason": on("{message}", reason="a\nb"),
    "a reason too long": on("{message}", reason="x" * 501),
    "a reason that is a number": {**on("{message}"), "reason": 7},
    "another kind of subject": on("{message}", kind="project"),
    "an unknown field": {**on("{message}"), "until": "2030-01-01"},
    "a bad aggregate id": on("not an id!"),
    "an unknown aggregate": on("message_" + "0" * 32),
    "an unknown user": on("user_" + "0" * 32, kind="user"),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_hold_body_is_422_and_holds_nothing(api: Api, body: dict[str, object]) -> None:
    message = a_message(api)
    sent = {
        key: value.format(message=message) if isinstance(value, str) else value
        for key, value in body.items()
    }
    before = rows(api)
    response = post_hold(api, sent)
    assert_problem(response, 422)
    documented(api, "post", "/holds", response)
    assert rows(api) == before


def test_a_hold_body_that_is_not_strict_json_is_400(api: Api) -> None:
    message, before = a_message(api), rows(api)
    twice = (
        f'{{"subject_kind": "aggregate", "subject_id": "{message}", "reason": "x", "reason": "y"}}'
    )
    response = api.client.post(
        "/holds",
        content=twice.encode(),
        headers={**api.as_("admin"), "Content-Type": "application/json"},
    )
    assert_problem(response, 400)
    assert rows(api) == before


@pytest.mark.parametrize("params", [{}, {"reason": ""}, {"reason": "a\x1bb"}], ids=str)
def test_a_release_without_a_fit_reason_is_422_and_the_hold_stays(
    api: Api, params: dict[str, str]
) -> None:
    hold_id = post_hold(api, on(a_message(api))).json()["hold_id"]
    assert_problem(release(api, hold_id, **params), 422)
    assert hold_id in {row.hold_id for row in rows(api)}
