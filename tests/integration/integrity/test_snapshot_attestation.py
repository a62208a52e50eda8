"""Snapshots are caches, never evidence: only attested snapshots are loaded, and forgeries are named.

Each attack is carried out as the attacker would: a snapshot row inserted straight into
``chronicle_snapshots`` (on PostgreSQL by a login of the application's least-privilege role), a
snapshot saved through the store with a state its events do not give, an attestation that
vouches for another state, a snapshot changed after it was attested.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import psycopg
import pytest
from tests.integration.api.conftest import settings_for, start
from tests.support.stores import chat_store

from chronicle import EventStore, NewEvent, Snapshot
from chronicle.bootstrap import open_store
from chronicle.chat.domain import CHAT_AGGREGATES, Message
from chronicle.errors import ImmutableEventError, StoreUnavailableError
from chronicle.events import RecordedEvent, Replay
from chronicle.follower import Backoff
from chronicle.history import state_at_version
from chronicle.integrity import ProblemKind, Sealer
from chronicle.integrity.attestation import SnapshotAttestor, check_snapshots, replay_from
from chronicle.repository import Repository, load_aggregate
from chronicle.store.prepare import now_utc

ALL_BACKENDS = pytest.mark.parametrize(
    "store_url", ["sqlite", "postgresql", "memory"], indirect=True
)
SQL_BACKENDS = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


class CountingStore:
    """The store, noting which versions each load reads from the aggregate's events (whole, or
    only what a replay needs)."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.versions_read: list[int] = []

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        events = self.inner.get_events_for_aggregate(aggregate_id, from_version, to_version)
        self.versions_read.extend(event.version for event in events)
        return events

    def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        replay = self.inner.get_replay(aggregate_id, from_version, to_version)
        first = max(from_version, 1)
        self.versions_read.extend(range(first, first + len(replay.changes)))
        return replay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def message_with_edits(store: EventStore, edits: int, *, interval: int = 0) -> Message:
    repository = Repository(store, Message, snapshot_interval=interval)
    message = Message.create("hello", "alice")
    repository.save(message)
    for n in range(edits):
        message.edit(f"edit {n}")
        repository.save(message)
    return message


def attestor_for(store: EventStore) -> SnapshotAttestor:
    return SnapshotAttestor(store, replay_from(store, CHAT_AGGREGATES))


def sealed(store: EventStore) -> None:
    """Seal every event stored (once the log hands them all out: PostgreSQL holds events back
    while any older transaction of the server is still running)."""
    deadline = time.monotonic() + 60
    while len(store.read_all(limit=100_000)) < store.get_event_count():
        assert time.monotonic() < deadline, "the log did not become readable"
        time.sleep(0.05)
    Sealer(store).run_once()
    latest = store.latest_seal()
    assert latest is not None and latest.event_count == store.get_event_count()


# -- a genuine snapshot ------------------------------------------------------------------------


@ALL_BACKENDS
def test_a_genuine_snapshot_is_used_only_once_the_attestor_attested_it(store: EventStore) -> None:
    message = message_with_edits(store, 5, interval=4)  # snapshot at 4, events 1..6
    counting = CountingStore(store)
    assert load_aggregate(counting, Message, message.id).state() == message.state()
    assert counting.versions_read == [1, 2, 3, 4, 5, 6]  # not attested: replayed from the start

    sealed(store)
    run = attestor_for(store).run_once()
    assert run.attested == [(message.id, 4)] and run.mismatches == []
    [stored] = store.stored_snapshots()
    assert stored.attested == stored.digest and stored.seal_number == 1

    counting.versions_read.clear()
    loaded = load_aggregate(counting, Message, message.id)
    assert loaded.state() == message.state() and loaded.version == 6
    assert counting.versions_read == [5, 6]  # started from the attested snapshot
    counting.versions_read.clear()
    at_five = state_at_version(counting, CHAT_AGGREGATES, message.id, 5)
    assert at_five.state["content"] == "edit 3"
    # Its first event (to learn the aggregate's type), then only what follows the snapshot.
    assert counting.versions_read == [1, 5, 5]


@ALL_BACKENDS
def test_a_snapshot_is_attested_only_once_the_latest_seal_covers_its_version(
    store: EventStore,
) -> None:
    attestor = attestor_for(store)
    assert attestor.run_once().attested == []  # nothing sealed at all
    first = message_with_edits(store, 1, interval=2)  # snapshot at 2
    sealed(store)
    later = message_with_edits(store, 1, interval=2)  # snapshot at 2, after the seal
    run = attestor.run_once()
    assert run.attested == [(first.id, 2)]
    assert [stored.key for stored in store.unattested_snapshots()] == [(later.id, 2)]
    assert store.load_attested_snapshot(later.id) is None
    sealed(store)
    assert attestor.run_once().attested == [(later.id, 2)]
    seals = {stored.key: stored.seal_number for stored in store.stored_snapshots()}
    assert seals == {(first.id, 2): 1, (later.id, 2): 2}
    assert attestor.run_once().attested == []  # each is attested once


# -- forged snapshots --------------------------------------------------------------------------


@ALL_BACKENDS
def test_a_snapshot_saved_with_a_state_its_events_do_not_give_is_never_attested_nor_loaded(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    message = message_with_edits(store, 3)  # versions 1..4, no snapshot of its own
    genuine = load_aggregate(store, Message, message.id, to_version=3)
    forged_state = {**genuine.snapshot_state(), "content": "forged", "username": "mallory"}
    store.save_snapshot(Snapshot(message.id, "Message", 3, 1, forged_state))
    sealed(store)

    run = attestor_for(store).run_once()
    assert run.attested == [] and [(m.aggregate_id, m.version) for m in run.mismatches] == [
        (message.id, 3)
    ]
    assert "is not attested" in caplog.text and message.id in caplog.text
    assert store.load_attested_snapshot(message.id) is None
    assert load_aggregate(store, Message, message.id, to_version=3).content == "edit 1"
    assert Repository(store, Message).load(message.id).username == "alice"

    [problem] = check_snapshots(store, replay_from(store, CHAT_AGGREGATES))
    assert problem.kind == ProblemKind.SNAPSHOT_FORGED
    assert (problem.aggregate_id, problem.version) == (message.id, 3)


@ALL_BACKENDS
def test_check_snapshots_replays_every_snapshot_and_passes_genuine_ones(store: EventStore) -> None:
    message = message_with_edits(store, 5, interval=2)  # snapshots at 2, 4 and 6
    sealed(store)
    attestor_for(store).run_once()
    user_state = {**Message.initial_state(), "content": "a message state on a user"}
    user = store.append("user_x", [NewEvent("UserCreated", {})], expected_version=0,
                        aggregate_type="User")  # fmt: skip
    store.save_snapshot(Snapshot("user_x", "Message", 1, 1, user_state))  # of another type
    store.save_snapshot(Snapshot(message.id, "Message", 9, 1, message.snapshot_state()))
    store.save_snapshot(Snapshot(message.id, "Message", 5, 99, {"a future": "shape"}))
    problems = check_snapshots(store, replay_from(store, CHAT_AGGREGATES))
    named = sorted((p.aggregate_id, p.version) for p in problems)
    # Beyond the last version and of another type: forged; an unknown shape is not judged.
    assert named == sorted([(message.id, 9), (user[0].aggregate_id, 1)])
    assert all(p.kind == ProblemKind.SNAPSHOT_FORGED for p in problems)


@pytest.fixture
def forge(store_url: str, store: EventStore) -> Iterator[Callable[..., None]]:
    """Runs SQL (``?`` placeholders) against the store's tables as the least privileged
    attacker that can: the application's role on PostgreSQL, the database file on SQLite."""
    if store.backend == "sqlite":
        yield lambda statement, params: store.execute_raw(statement, params)  # type: ignore[attr-defined]
        return
    role = f"chronicle_app_{uuid.uuid4().hex[:8]}"
    login = f"{role}_login"
    store.create_app_role(role)
    admin = psycopg.connect(store_url, autocommit=True)
    admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE {role}")
    as_app = open_store(store_url.replace("postgres@", f"{login}@"))
    try:
        yield lambda statement, params: as_app.execute_raw(  # type: ignore[attr-defined]
            statement.replace("?", "%s"), params
        )
    finally:
        as_app.close()
        admin.execute(f"DROP ROLE IF EXISTS {login}")
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


def raw(store: EventStore, statement: str, params: Any = ()) -> None:
    """``statement`` (``?`` placeholders) run as the store's own login, the tables' owner."""
    if store.backend != "sqlite":
        statement = statement.replace("?", "%s")
    store.execute_raw(statement, params)  # type: ignore[attr-defined]


def insert_snapshot(
    forge: Callable[..., None], store: EventStore, aggregate_id: str, version: int, state: Any
) -> None:
    forge(
        "INSERT INTO chronicle_snapshots (aggregate_id, version, aggregate_type, "
        "state_schema_version, state, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (aggregate_id, version, "Message", 1, orjson.dumps(state, option=orjson.OPT_SORT_KEYS),
         store.dialect.instant(now_utc())),  # type: ignore[attr-defined]
    )  # fmt: skip


@SQL_BACKENDS
def test_a_snapshot_row_inserted_into_the_table_is_ignored_by_loads_and_named_by_the_check(
    store: EventStore, forge: Callable[..., None]
) -> None:
    message = message_with_edits(store, 4, interval=2)  # genuine snapshots at 2 and 4
    sealed(store)
    attestor_for(store).run_once()
    forged = {**message.snapshot_state(), "content": "forged", "username": "mallory"}
    insert_snapshot(forge, store, message.id, 3, forged)
    insert_snapshot(forge, store, message.id, 5, forged)
    assert store.load_snapshot(message.id).state["content"] == "forged"  # type: ignore[union-attr]

    counting = CountingStore(store)
    loaded = load_aggregate(counting, Message, message.id)
    assert (loaded.content, loaded.username, loaded.version) == ("edit 3", "alice", 5)
    assert counting.versions_read == [5]  # from the attested snapshot at 4, not the forgery
    at_three = load_aggregate(store, Message, message.id, to_version=3)
    assert at_three.content == "edit 1"

    sealed(store)
    assert [(m.aggregate_id, m.version) for m in attestor_for(store).run_once().mismatches] == [
        (message.id, 3), (message.id, 5)
    ]  # fmt: skip
    problems = check_snapshots(store, replay_from(store, CHAT_AGGREGATES))
    assert [(p.kind, p.aggregate_id, p.version) for p in problems] == [
        (ProblemKind.SNAPSHOT_FORGED, message.id, 3),
        (ProblemKind.SNAPSHOT_FORGED, message.id, 5),
    ]


@SQL_BACKENDS
def test_the_audit_state_route_ignores_a_snapshot_row_inserted_into_the_table(
    store_url: str, store: EventStore, forge: Callable[..., None]
) -> None:
    for api in start(settings_for(store_url, snapshot_interval=2)):
        message = api.post_message(content="before")
        for content in ("one", "two", "three"):
            response = api.client.patch(
                f"/messages/{message['id']}", json={"content": content}, headers=api.as_("alice")
            )
            assert response.status_code == 200, response.text
        reader = chat_store(store_url)  # reads what the service sealed, as the worker does
        genuine = load_aggregate(reader, Message, message["id"], to_version=3).snapshot_state()
        insert_snapshot(forge, store, message["id"], 3, {**genuine, "content": "forged"})
        url = f"/audit/{message['id']}/state"
        auditor = api.as_("auditor")
        body = api.client.get(url, params={"version": 3}, headers=auditor).json()
        assert (body["version"], body["state"]["content"]) == (3, "two")
        assert api.client.get(url, headers=auditor).json()["state"]["content"] == "three"
        sealed(reader)
        attestor_for(reader).run_once()  # attests the genuine snapshots at 2 and 4 only
        body = api.client.get(url, params={"version": 3}, headers=auditor).json()
        assert body["state"]["content"] == "two"
        problems = check_snapshots(reader, replay_from(reader, CHAT_AGGREGATES))
        assert [(p.aggregate_id, p.version) for p in problems] == [(message["id"], 3)]
        reader.close()


# -- forged attestations -------------------------------------------------------------------------


@ALL_BACKENDS
def test_an_attestation_with_the_wrong_digest_is_ignored_and_named(store: EventStore) -> None:
    message = message_with_edits(store, 5, interval=2)  # snapshots at 2, 4, 6
    sealed(store)
    # An attacker who can write attestations vouches for the snapshot at 6 with another digest.
    assert store.attest_snapshot(message.id, 6, state_digest=b"\x07" * 32, seal_number=1)
    assert attestor_for(store).run_once().attested == [(message.id, 2), (message.id, 4)]
    counting = CountingStore(store)
    assert load_aggregate(counting, Message, message.id).state() == message.state()
    assert counting.versions_read == [5, 6]  # from the snapshot at 4: the one at 6 is passed over
    assert store.load_attested_snapshot(message.id).version == 4  # type: ignore[union-attr]
    [problem] = check_snapshots(store, replay_from(store, CHAT_AGGREGATES))
    assert (problem.kind, problem.aggregate_id, problem.version) == (
        ProblemKind.SNAPSHOT_FORGED, message.id, 6
    )  # fmt: skip
    assert "attestation" in problem.message


@SQL_BACKENDS
def test_an_attestation_inserted_into_the_table_for_a_forged_snapshot_is_ignored(
    store: EventStore, forge: Callable[..., None]
) -> None:
    message = message_with_edits(store, 3)  # versions 1..4, no snapshot
    sealed(store)
    forged = {**message.snapshot_state(), "content": "forged"}
    insert_snapshot(forge, store, message.id, 4, forged)
    # The attestation is inserted by someone who can (the table's owner), with a wrong digest.
    raw(
        store,
        "INSERT INTO chronicle_snapshot_attestations (aggregate_id, version, state_digest, "
        "seal_number, attested_at) VALUES (?, ?, ?, ?, ?)",
        (message.id, 4, b"\x01" * 32, 1, store.dialect.instant(now_utc())),  # type: ignore[attr-defined]
    )
    assert store.load_attested_snapshot(message.id) is None
    assert load_aggregate(store, Message, message.id).content == "edit 2"
    problems = check_snapshots(store, replay_from(store, CHAT_AGGREGATES))
    # The attestation vouches for another state, and the state is not what the events give.
    assert [(p.kind, p.aggregate_id, p.version) for p in problems] == [
        (ProblemKind.SNAPSHOT_FORGED, message.id, 4)
    ] * 2


@SQL_BACKENDS
def test_a_snapshot_changed_after_it_was_attested_is_ignored(store: EventStore) -> None:
    message = message_with_edits(store, 3, interval=4)  # snapshot at 4
    sealed(store)
    assert attestor_for(store).run_once().attested == [(message.id, 4)]
    forged = {**message.snapshot_state(), "content": "forged"}
    raw(
        store,
        "UPDATE chronicle_snapshots SET state = ? WHERE aggregate_id = ?",
        (orjson.dumps(forged, option=orjson.OPT_SORT_KEYS), message.id),
    )
    assert store.load_attested_snapshot(message.id) is None
    assert load_aggregate(store, Message, message.id).content == "edit 2"
    kinds = {p.kind for p in check_snapshots(store, replay_from(store, CHAT_AGGREGATES))}
    assert kinds == {ProblemKind.SNAPSHOT_FORGED}


@SQL_BACKENDS
def test_attestations_are_immutable(store: EventStore) -> None:
    message = message_with_edits(store, 1, interval=2)
    sealed(store)
    attestor_for(store).run_once()
    assert not store.attest_snapshot(message.id, 2, state_digest=b"\x02" * 32, seal_number=1)
    for statement in (
        "UPDATE chronicle_snapshot_attestations SET state_digest = state_digest",
        "DELETE FROM chronicle_snapshot_attestations",
    ):
        with pytest.raises(ImmutableEventError):
            store.execute_raw(statement)  # type: ignore[attr-defined]
    [stored] = store.stored_snapshots()
    assert stored.trusted


# -- the worker's task ---------------------------------------------------------------------------


class FlakyStore(CountingStore):
    """The store, unreachable for the first ``failures`` looks at the latest seal."""

    def __init__(self, inner: EventStore, failures: int) -> None:
        super().__init__(inner)
        self.failures = failures

    def latest_seal(self) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("the database is restarting")
        return self.inner.latest_seal()


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
def test_the_attestor_follows_retries_outages_and_stops_on_the_stop_event(
    store: EventStore,
) -> None:
    message = message_with_edits(store, 1, interval=2)
    sealed(store)
    flaky = FlakyStore(store, failures=2)
    attestor = SnapshotAttestor(
        flaky,
        replay_from(store, CHAT_AGGREGATES),
        backoff=Backoff(initial=0.01, maximum=0.01),
    )
    stop = threading.Event()
    thread = threading.Thread(target=attestor.follow, args=(stop, 0.01))
    thread.start()
    try:
        for _ in range(500):
            if store.load_attested_snapshot(message.id) is not None:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and flaky.failures == 0
    assert store.load_attested_snapshot(message.id) == store.load_snapshot(message.id)
