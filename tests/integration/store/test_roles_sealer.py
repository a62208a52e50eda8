"""The two least-privilege roles on PostgreSQL, tried by logging in as a member of each.

``chronicle migrate --create-roles`` makes the application's role (append and read events,
write snapshots, read the evidence) and the sealer's (read, and write only the evidence). A
stolen application login must not be able to seal, extend the Merkle log or vouch for a
snapshot; the sealer's login must seal and attest but never write an event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
from typer.testing import CliRunner

from chronicle import EventStore, NewEvent, Snapshot
from chronicle.bootstrap import open_store
from chronicle.chat.domain import CHAT_AGGREGATES, Message
from chronicle.cli import app
from chronicle.integrity import Sealer
from chronicle.integrity.attestation import SnapshotAttestor, replay_from
from chronicle.repository import Repository
from chronicle.store.records import MerkleNode, Seal

runner = CliRunner()
Denied = psycopg.errors.InsufficientPrivilege


@dataclass
class Logins:
    """Stores opened by the schema's owner and by a login of each role."""

    admin: EventStore
    app: EventStore
    sealer: EventStore
    app_role: str
    sealer_role: str
    rerun: Callable[[], None]
    """Runs ``migrate --create-roles`` again (what an upgrade does)."""


@pytest.fixture
def logins(postgres_schema_url: str) -> Iterator[Logins]:
    suffix = uuid.uuid4().hex[:8]
    app_role, sealer_role = f"chronicle_app_{suffix}", f"chronicle_sealer_{suffix}"
    command = ["migrate", "--store-url", postgres_schema_url, "--create-roles"]
    command += ["--role", app_role, "--sealer-role", sealer_role, "--json"]

    def create_roles() -> None:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output

    create_roles()
    admin_conn = psycopg.connect(postgres_schema_url, autocommit=True)
    opened: list[EventStore] = []
    try:
        for role in (app_role, sealer_role):
            admin_conn.execute(f"CREATE ROLE {role}_login LOGIN IN ROLE {role}")
        for login in ("postgres", f"{app_role}_login", f"{sealer_role}_login"):
            opened.append(open_store(postgres_schema_url.replace("postgres@", f"{login}@")))
        admin, as_app, as_sealer = opened
        yield Logins(admin, as_app, as_sealer, app_role, sealer_role, create_roles)
    finally:
        for store in opened:
            store.close()
        for role in (app_role, sealer_role):
            admin_conn.execute(f"DROP ROLE IF EXISTS {role}_login")
            admin_conn.execute(f"DROP OWNED BY {role}")
            admin_conn.execute(f"DROP ROLE IF EXISTS {role}")
        admin_conn.close()


def a_message_with_a_snapshot(store: EventStore) -> Message:
    repository = Repository(store, Message, snapshot_interval=2)
    message = Message.create("hello", "alice")
    repository.save(message)
    message.edit("edited")
    repository.save(message)  # a snapshot at 2
    return message


def seal(number: int = 1) -> Seal:
    return Seal(number, 1, 1, b"\x00" * 32, b"\x00" * 32, datetime.now(UTC), root=b"\x00" * 32)


def test_the_application_role_cannot_seal_extend_the_merkle_log_or_attest(
    logins: Logins,
) -> None:
    store = logins.app
    message = a_message_with_a_snapshot(store)  # it appends and snapshots as before
    with pytest.raises(Denied):
        store.append_seal(seal())
    position = store.get_events_for_aggregate(message.id)[0].position
    leaf = MerkleNode(0, 0, b"\x01" * 32, position, message.id, 1)
    for nodes in ([leaf], [MerkleNode(1, 0, b"\x02" * 32)]):
        with pytest.raises(Denied):
            store.append_merkle_nodes(nodes)
    with pytest.raises(Denied):
        store.attest_snapshot(message.id, 2, state_digest=b"\x03" * 32, seal_number=1)
    for statement in (
        "INSERT INTO chronicle_seals (number, position, event_count, head, last_hash, "
        "sealed_at) VALUES (1, 1, 1, '\\x00', '\\x00', now())",
        "INSERT INTO chronicle_merkle_nodes (level, node_index, hash) "
        "VALUES (1, 0, decode(repeat('00', 32), 'hex'))",
        "INSERT INTO chronicle_snapshot_attestations (aggregate_id, version, state_digest, "
        f"seal_number, attested_at) VALUES ('{message.id}', 2, "
        "decode(repeat('00', 32), 'hex'), 1, now())",
    ):
        with pytest.raises(Denied):
            store.execute_raw(statement)  # type: ignore[attr-defined]
    # Nothing got in; and the evidence stays readable to it (loads read attestations).
    assert logins.admin.latest_seal() is None and logins.admin.merkle_size() == 0
    assert store.latest_seal() is None and store.stored_snapshots()[0].attested is None
    assert store.load_attested_snapshot(message.id) is None


def test_the_sealer_role_seals_and_attests(logins: Logins) -> None:
    message = a_message_with_a_snapshot(logins.app)
    deadline = time.monotonic() + 60  # until no older transaction of the server holds them back
    while len(logins.sealer.read_all()) < 2:
        assert time.monotonic() < deadline, "the log did not become readable"
        time.sleep(0.05)
    [first] = Sealer(logins.sealer).run_once()
    assert (first.number, first.event_count) == (1, 2)
    assert logins.admin.latest_seal() == first and logins.admin.merkle_size() == 2
    attestor = SnapshotAttestor(logins.sealer, replay_from(logins.sealer, CHAT_AGGREGATES))
    assert attestor.run_once().attested == [(message.id, 2)]
    snapshot = logins.app.load_attested_snapshot(message.id)  # the app role uses it
    assert snapshot is not None and snapshot.version == 2


def test_the_sealer_role_cannot_insert_or_change_events_or_snapshots(logins: Logins) -> None:
    message = a_message_with_a_snapshot(logins.app)
    store = logins.sealer
    with pytest.raises(Denied):
        store.append("message_x", [NewEvent("MessageCreated", {})], expected_version=0,
                     aggregate_type="Message")  # fmt: skip
    with pytest.raises(Denied):
        store.save_snapshot(Snapshot(message.id, "Message", 1, 1, {"content": "forged"}))
    with pytest.raises(Denied):
        store.set_checkpoint("sealer", 1)
    for statement in (
        "INSERT INTO chronicle_events (event_id, aggregate_id, aggregate_type, event_type, "
        "version, partition, timestamp, data, metadata, hash) VALUES (gen_random_uuid(), "
        "'message_x', 'Message', 'X', 1, 0, now(), '\\x7b7d', '\\x7b7d', '\\x00')",
        "UPDATE chronicle_events SET data = data",
        "DELETE FROM chronicle_events",
        "TRUNCATE chronicle_events",
        "UPDATE chronicle_snapshots SET state = state",
        "DELETE FROM chronicle_snapshots",
    ):
        with pytest.raises(Denied):
            store.execute_raw(statement)  # type: ignore[attr-defined]
    assert logins.admin.get_event_count() == 2
    assert len(logins.admin.stored_snapshots()) == 1


def test_creating_the_roles_again_takes_away_grants_an_older_version_gave(
    logins: Logins,
) -> None:
    with psycopg.connect(logins.admin.url, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(f"GRANT INSERT ON chronicle_seals TO {logins.app_role}")
        conn.execute(f"GRANT INSERT ON chronicle_events TO {logins.sealer_role}")
        logins.rerun()
        granted = conn.execute(
            "SELECT has_table_privilege(%s, 'chronicle_seals', 'INSERT'), "
            "has_table_privilege(%s, 'chronicle_events', 'INSERT'), "
            "has_table_privilege(%s, 'chronicle_seals', 'SELECT'), "
            "has_table_privilege(%s, 'chronicle_snapshot_attestations', 'INSERT')",
            (logins.app_role, logins.sealer_role, logins.app_role, logins.sealer_role),
        ).fetchone()
    assert granted == (False, False, True, True)


def test_the_application_role_places_and_releases_legal_holds_but_deletes_no_event(
    logins: Logins,
) -> None:
    from chronicle.retention.holds import active_holds, place_hold, release_hold

    logins.app.append("message_held", [NewEvent("MessageCreated", {"content": "x"})],
                      expected_version=0, aggregate_type="Message")  # fmt: skip
    hold = place_hold(logins.app, "aggregate", "message_held", "litigation", placed_by="user_a")
    assert [h.hold_id for h in active_holds(logins.admin)] == [hold.hold_id]
    assert [row.hold_id for row in logins.admin.holds()] == [hold.hold_id]  # type: ignore[attr-defined]
    release_hold(logins.app, hold.hold_id, "settled", released_by="user_a")
    assert active_holds(logins.admin) == [] and logins.admin.holds() == []  # type: ignore[attr-defined]
    with pytest.raises(Denied):
        logins.app.execute_raw("DELETE FROM chronicle_events")  # type: ignore[attr-defined]


def test_the_application_role_cannot_record_a_retention_receipt(logins: Logins) -> None:
    """A receipt appended by a stolen login would take the next receipt's version for good."""
    from chronicle.errors import ImmutableEventError

    receipt = [NewEvent("RetentionApplied", {"number": 1})]
    with pytest.raises(ImmutableEventError, match="owner"):
        logins.app.append("chronicle-retention", receipt, expected_version=0,
                          aggregate_type="ChronicleRetention")  # fmt: skip
    assert logins.admin.get_events_for_aggregate("chronicle-retention") == []
    logins.admin.append("chronicle-retention", receipt, expected_version=0,
                        aggregate_type="ChronicleRetention")  # fmt: skip
