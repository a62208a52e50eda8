"""A store sealed before the Merkle log existed: its tree is built, its old seals still verify."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.integrity.test_tampering import caught_up, history

from chronicle import EventStore, NewEvent
from chronicle.integrity import Sealer, Verifier
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.keys import key_id
from chronicle.integrity.merkle import root
from chronicle.integrity.merkle_log import build_merkle_log
from chronicle.integrity.seals import seal_hash, seal_payload
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.store.records import Seal

KEY = load_signing_key(new_signing_key_text())


def seal_as_format_one(store: EventStore) -> Seal:
    """What the sealer of the previous release recorded: a signed log-chain head, no root."""
    events = store.read_all()
    head = LOG_GENESIS
    for event in events:
        head = log_step(head, event.position, event.hash)
    unsigned = Seal(1, events[-1].position, len(events), head, events[-1].hash, datetime.now(UTC))
    signed = Seal(
        1,
        unsigned.position,
        unsigned.event_count,
        head,
        unsigned.last_hash,
        unsigned.sealed_at,
        public_key=KEY.public,
        signature=KEY.sign(seal_payload(unsigned)),
    )
    store.append_seal(signed)
    return signed


def test_the_merkle_log_of_an_old_store_is_built_and_new_seals_chain_to_old_ones(
    store: EventStore,
) -> None:
    history(store)
    caught_up(store)
    old = seal_as_format_one(store)
    assert old.format == 1 and store.merkle_size() == 0
    assert build_merkle_log(store) == 9
    assert build_merkle_log(store) == 0  # idempotent
    hashes = [event.hash for event in store.read_all()]
    assert Sealer(store, key=KEY).run_once() == []  # nothing new to seal yet
    store.append(
        "message_new", [NewEvent("MessageCreated", {})], expected_version=0, aggregate_type="M"
    )
    caught_up(store)
    [second] = Sealer(store, key=KEY).run_once()
    assert second.format == 2 and second.previous == seal_hash(old)
    assert second.root == root([*hashes, store.read_all()[-1].hash])
    report = Verifier(store, trusted_keys={key_id(KEY.public): KEY.public}).verify()
    assert report.intact, report.problems
    assert report.trust == "trusted"


def test_a_sealer_builds_the_missing_merkle_log_itself(store: EventStore) -> None:
    history(store)
    caught_up(store)
    seal_as_format_one(store)
    assert Sealer(store, key=KEY).run_once() == []
    assert store.merkle_size() == 9
