"""Known answers for the Merkle log, the same on SQLite and PostgreSQL.

Three rows whose integrity hashes are the vectors of tests/contract/test_hash_vectors.py are
stored directly; the sealer's tree over them must give the values below, computed outside
Chronicle with ``printf 00… | xxd -r -p | sha256sum`` (leaf = SHA-256(0x00 ‖ hash), node =
SHA-256(0x01 ‖ left ‖ right)). Only the tree is under test here: the rows' content is not what
their hashes commit to, except the first's.
"""

from __future__ import annotations

from tests.contract.test_hash_vectors import CHAIN_1, CHAIN_2, EVENT_HASH

from chronicle import EventStore
from chronicle.integrity import Sealer
from chronicle.integrity.merkle import (
    consistency_proof,
    consistency_proof_from,
    inclusion_proof,
    inclusion_proof_from,
    root,
    verify_consistency,
    verify_inclusion,
)
from chronicle.integrity.merkle_log import StoredNodes

HASHES = [EVENT_HASH, CHAIN_1, CHAIN_2]
LEAF_0 = "40cdab59eb5242bcdcc30b31b551a5577984ff3d70ab6af1aa5d04bb67008cd3"
LEAF_1 = "9a46c62b8a4e8f71cf74d1274fc5778682b85392350d4c120c700eff21f1e705"
LEAF_2 = "88c513888c7c3f83b0fb5a81ababc66b16a6457e07a856e18af17665c2b60895"
ROOT_2 = "31594cc6e89d2c92e649697828d64e0d10312dae8821220cf8c6312b95cbc459"
"""SHA-256(0x01 ‖ LEAF_0 ‖ LEAF_1): the root of the first two."""
ROOT_3 = "d77764dee7b648bbca64727f02e3da3d48c23210f85bddc9ad63856f56c1dfb4"
"""SHA-256(0x01 ‖ ROOT_2 ‖ LEAF_2): the tree of three splits after the first two."""


def _hex(hashes: list[bytes]) -> list[str]:
    return [value.hex() for value in hashes]


def test_the_reference_tree_gives_the_known_root_and_proofs() -> None:
    leaves = [bytes.fromhex(value) for value in HASHES]
    assert root(leaves).hex() == ROOT_3 and root(leaves[:2]).hex() == ROOT_2
    assert _hex(inclusion_proof(leaves, 0)) == [LEAF_1, LEAF_2]
    assert _hex(consistency_proof(leaves, 2)) == [LEAF_2]
    assert verify_inclusion(
        bytes.fromhex(LEAF_0), 0, 3, [bytes.fromhex(LEAF_1), bytes.fromhex(LEAF_2)],
        bytes.fromhex(ROOT_3),
    )  # fmt: skip
    assert verify_consistency(
        2, 3, bytes.fromhex(ROOT_2), bytes.fromhex(ROOT_3), [bytes.fromhex(LEAF_2)]
    )


def store_rows(store: EventStore) -> None:
    pg = store.backend == "postgresql"
    for number, digest in enumerate(HASHES, start=1):
        blob = (lambda value: f"'\\x{value}'") if pg else (lambda value: f"X'{value}'")
        store.execute_raw(  # type: ignore[attr-defined]
            "INSERT INTO chronicle_events (event_id, aggregate_id, aggregate_type, event_type, "
            "version, schema_version, partition, timestamp, user_id, data, metadata, hash) "
            f"VALUES ('00000000-0000-4000-8000-00000000000{number}', 'message_{number}', "
            "'Message', 'MessageCreated', 1, 1, 0, '2026-01-01T00:00:00.000000Z', NULL, "
            f"{blob('7b7d')}, {blob('7b7d')}, {blob(digest)})"
        )


def test_the_sealed_tree_and_its_proofs_are_the_known_ones_on_every_backend(
    store: EventStore,
) -> None:
    store_rows(store)
    first, second = Sealer(store, seal_every=2).run_once()
    assert (first.event_count, first.root.hex()) == (2, ROOT_2)  # type: ignore[union-attr]
    assert (second.event_count, second.root.hex()) == (3, ROOT_3)  # type: ignore[union-attr]
    nodes = StoredNodes(store)
    assert [nodes.node(0, index).hex() for index in range(3)] == [LEAF_0, LEAF_1, LEAF_2]
    assert _hex(inclusion_proof_from(nodes, 0, 3)) == [LEAF_1, LEAF_2]
    assert _hex(inclusion_proof_from(nodes, 2, 3)) == [ROOT_2]
    assert _hex(consistency_proof_from(nodes, 2, 3)) == [LEAF_2]
