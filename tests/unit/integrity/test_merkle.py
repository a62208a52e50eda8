"""The RFC 9162 Merkle tree: Certificate Transparency's known answers, then the laws it obeys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronicle.integrity.merkle import (
    EMPTY_ROOT,
    MemoryNodeSource,
    MerkleFrontier,
    consistency_proof,
    consistency_proof_from,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    node_hash,
    root,
    root_from,
    verify_consistency,
    verify_inclusion,
)

# --- Known answers, copied from the Certificate Transparency project, not computed here ---------
#
# google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc: kInputs, kSHA256Roots,
# kSHA256Paths, kSHA256Proofs, kSHA256EmptyTreeHash; the same values are in
# transparency-dev/merkle, proof/verify_test.go (leaves, roots, inclusionProofs,
# consistencyProofs), which adds the 6 -> 7 consistency proof. Both number leaves from 1 in their
# path vectors; the indices below are 0-based. The leaf and node hashes of single inputs are from
# transparency-dev/merkle, rfc6962/rfc6962_test.go.

EMPTY_TREE = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

LEAVES = [
    bytes.fromhex(text)
    for text in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

ROOTS = [  # the root of the first k leaves, k = 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

INCLUSION_PROOFS = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

CONSISTENCY_PROOFS = [  # (old size, new size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def hashes(texts: list[str]) -> list[bytes]:
    return [bytes.fromhex(text) for text in texts]


def reference_root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size - 1])


def flipped(value: bytes, bit: int) -> bytes:
    """``value`` with one bit inverted."""
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def test_the_empty_tree_hashes_to_sha256_of_the_empty_string() -> None:
    assert EMPTY_ROOT.hex() == EMPTY_TREE
    assert root([]) == EMPTY_ROOT
    assert MerkleFrontier().root() == EMPTY_ROOT
    assert root_from(MemoryNodeSource([]), 0) == EMPTY_ROOT


def test_leaf_and_node_hashes_match_the_reference_hasher() -> None:
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_every_prefix_of_the_reference_tree_has_the_reference_root(size: int) -> None:
    assert root(LEAVES[:size]) == reference_root(size)
    assert root_from(MemoryNodeSource(LEAVES), size) == reference_root(size)


def test_the_frontier_grows_through_the_reference_roots() -> None:
    frontier = MerkleFrontier()
    for size, data in enumerate(LEAVES, start=1):
        frontier.append(leaf_hash(data))
        assert frontier.size == size
        assert frontier.root() == reference_root(size)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_the_reference_inclusion_proofs_are_built_and_verified(
    index: int, size: int, path: list[str]
) -> None:
    expected = hashes(path)
    assert inclusion_proof(LEAVES[:size], index) == expected
    assert inclusion_proof_from(MemoryNodeSource(LEAVES), index, size) == expected
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, expected, reference_root(size))


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_the_reference_inclusion_proofs_fail_every_probe_of_the_reference_verifier_test(
    index: int, size: int, path: list[str]
) -> None:
    # The probes of VerifierCheck in merkle_tree_test.cc and corruptInclusionProof in verify_test.go.
    proof, good_root, leaf = hashes(path), reference_root(size), leaf_hash(LEAVES[index])
    some_hash = bytes.fromhex("abacaba0" + "00" * 24 + "60061e00")
    probes: list[tuple[Any, ...]] = [
        (leaf, index - 1, size, proof, good_root),
        (leaf, index + 1, size, proof, good_root),
        (leaf, index ^ 2, size, proof, good_root),
        (leaf, index, size * 2, proof, good_root),
        (leaf, index, size // 2, proof, good_root),
        (leaf_hash(b"WrongLeaf"), index, size, proof, good_root),
        (leaf, index, size, proof, EMPTY_ROOT),
        (leaf, index, size, proof, some_hash),
        (leaf, index, size, [*proof, b""], good_root),
        (leaf, index, size, [*proof, good_root], good_root),
        (leaf, index, size, [b"", *proof], good_root),
        (leaf, index, size, [good_root, *proof], good_root),
    ]
    probes += [(leaf, index, size, proof[:-1], good_root)] if proof else []
    probes += [(leaf, index, size, [proof[0], some_hash, *proof[1:]], good_root)] if proof else []
    for position in range(len(proof)):
        wrong = list(proof)
        wrong[position] = EMPTY_ROOT
        probes.append((leaf, index, size, wrong, good_root))
        probes.append(
            (leaf, index, size, replaced(proof, position, flipped(proof[position], 3)), good_root)
        )
    for probe in probes:
        assert verify_inclusion(*probe) is False, probe


def replaced(proof: list[bytes], position: int, value: bytes) -> list[bytes]:
    return [value if i == position else item for i, item in enumerate(proof)]


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY_PROOFS)
def test_the_reference_consistency_proofs_are_built_and_verified(
    old_size: int, new_size: int, path: list[str]
) -> None:
    expected = hashes(path)
    assert consistency_proof(LEAVES[:new_size], old_size) == expected
    assert consistency_proof_from(MemoryNodeSource(LEAVES), old_size, new_size) == expected
    assert verify_consistency(
        old_size, new_size, reference_root(old_size), reference_root(new_size), expected
    )


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY_PROOFS)
def test_the_reference_consistency_proofs_fail_every_probe_of_the_reference_verifier_test(
    old_size: int, new_size: int, path: list[str]
) -> None:
    # The probes of VerifierConsistencyCheck in merkle_tree_test.cc and corruptConsistencyProof in
    # verify_test.go.
    proof = hashes(path)
    old, new = reference_root(old_size), reference_root(new_size)
    wrong_root = leaf_hash(b"WrongRoot")
    probes: list[tuple[Any, ...]] = [
        (old_size - 1, new_size, old, new, proof),
        (old_size + 1, new_size, old, new, proof),
        (old_size ^ 2, new_size, old, new, proof),
        (old_size, new_size * 2, old, new, proof),
        (old_size, new_size // 2, old, new, proof),
        (old_size, new_size, wrong_root, new, proof),
        (old_size, new_size, old, wrong_root, proof),
        (old_size, new_size, new, old, proof),
        (old_size, new_size, old, new, []),
        (old_size, new_size, old, new, [*proof, b""]),
        (old_size, new_size, old, new, [*proof, old]),
        (old_size, new_size, old, new, [*proof, new]),
        (old_size, new_size, old, new, [*proof, proof[-1]]),
        (old_size, new_size, old, new, [b"", *proof]),
        (old_size, new_size, old, new, [old, *proof]),
        (old_size, new_size, old, new, [new, *proof]),
        (old_size, new_size, old, new, [proof[0], *proof]),
        (old_size, new_size, old, new, proof[:-1]),
    ]
    for position in range(len(proof)):
        probes.append((old_size, new_size, old, new, replaced(proof, position, EMPTY_ROOT)))
        probes.append(
            (old_size, new_size, old, new, replaced(proof, position, flipped(proof[position], 4)))
        )
    for probe in probes:
        assert verify_consistency(*probe) is False, probe


def test_a_consistency_proof_needs_an_old_tree_that_is_neither_empty_nor_the_whole_tree() -> None:
    # RFC 9162 defines the proof for 0 < old size < new size; equal heads are compared directly.
    one = reference_root(1)
    assert verify_consistency(1, 1, one, one, []) is False
    assert verify_consistency(0, 1, EMPTY_ROOT, one, []) is False
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []) is False
    assert verify_consistency(2, 1, reference_root(2), one, []) is False
    for old_size in (0, 8, 9):
        with pytest.raises(ValueError):
            consistency_proof(LEAVES, old_size)
        with pytest.raises(ValueError):
            consistency_proof_from(MemoryNodeSource(LEAVES), old_size, 8)


def test_an_index_outside_the_tree_has_no_inclusion_proof() -> None:
    for index, size in [(0, 0), (8, 8), (-1, 8), (9, 8)]:
        with pytest.raises(ValueError):
            inclusion_proof(LEAVES[:size], index)
        with pytest.raises(ValueError):
            inclusion_proof_from(MemoryNodeSource(LEAVES), index, size)


def test_a_proof_beyond_the_stored_subtrees_is_a_lookup_error_not_a_wrong_proof() -> None:
    with pytest.raises(LookupError):
        inclusion_proof_from(MemoryNodeSource(LEAVES[:5]), 0, 6)
    with pytest.raises(LookupError):
        consistency_proof_from(MemoryNodeSource(LEAVES[:5]), 3, 6)


GARBAGE: list[Any] = [None, "", b"", b"\x00" * 31, b"\x00" * 33, 32, [], "x" * 32, bytearray(32)]


def test_malformed_input_makes_the_verifiers_return_false_and_never_raise() -> None:
    leaf, good_root = leaf_hash(LEAVES[0]), reference_root(8)
    proof = hashes(INCLUSION_PROOFS[1][2])
    verify: Callable[..., bool] = verify_inclusion
    calls: list[tuple[Any, ...]] = [(leaf, index, 8, proof, good_root) for index in GARBAGE]
    calls += [(leaf, 0, size, proof, good_root) for size in [*GARBAGE, 0, -8, 2**300, True]]
    calls += [(value, 0, 8, proof, good_root) for value in GARBAGE]
    calls += [(leaf, 0, 8, proof, value) for value in GARBAGE]
    calls += [(leaf, 0, 8, value, good_root) for value in [*GARBAGE, b"".join(proof), None]]
    calls += [(leaf, 0, 8, [*proof[:2], value], good_root) for value in GARBAGE]
    calls += [(leaf, False, 8, proof, good_root), (leaf, 0, 8, tuple(proof), EMPTY_ROOT)]
    for call in calls:
        assert verify(*call) is False, call
    assert verify_inclusion(leaf, 0, 8, tuple(proof), good_root) is True

    old, new = reference_root(6), reference_root(8)
    proof = hashes(CONSISTENCY_PROOFS[1][2])
    check: Callable[..., bool] = verify_consistency
    calls = [(size, 8, old, new, proof) for size in [*GARBAGE, -6, True]]
    calls += [(6, size, old, new, proof) for size in [*GARBAGE, -8, 2**300]]
    calls += [(6, 8, value, new, proof) for value in GARBAGE]
    calls += [(6, 8, old, value, proof) for value in GARBAGE]
    calls += [(6, 8, old, new, value) for value in [*GARBAGE, b"".join(proof)]]
    calls += [(6, 8, old, new, [*proof[:2], value]) for value in GARBAGE]
    for call in calls:
        assert check(*call) is False, call


# --- Laws, for random logs ------------------------------------------------------------------------

# Distinct leaves, as event hashes are: with repeated leaves, a proof for one copy rightly proves
# the other copy's position too, and "a wrong index fails" would not hold.
logs = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True)


class CountingSource:
    """A node source that counts lookups."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.inner = MemoryNodeSource(leaves)
        self.lookups = 0

    def node(self, level: int, index: int) -> bytes:
        self.lookups += 1
        return self.inner.node(level, index)


@settings(deadline=None)
@given(logs, st.data())
def test_inclusion_proofs_from_the_list_and_from_stored_nodes_are_identical_and_verify(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    source = CountingSource(leaves)
    proof = inclusion_proof(leaves[:size], index)
    assert inclusion_proof_from(source, index, size) == proof
    assert source.lookups <= 2 * size.bit_length() + 1
    assert verify_inclusion(leaf_hash(leaves[index]), index, size, proof, root(leaves[:size]))


@settings(deadline=None)
@given(logs.filter(lambda leaves: len(leaves) >= 2), st.data())
def test_consistency_proofs_from_the_list_and_from_stored_nodes_are_identical_and_verify(
    leaves: list[bytes], data: st.DataObject
) -> None:
    new_size = data.draw(st.integers(2, len(leaves)), label="new size")
    old_size = data.draw(st.integers(1, new_size - 1), label="old size")
    source = CountingSource(leaves)
    proof = consistency_proof(leaves[:new_size], old_size)
    assert consistency_proof_from(source, old_size, new_size) == proof
    assert source.lookups <= 2 * new_size.bit_length() + 1
    old, new = root(leaves[:old_size]), root(leaves[:new_size])
    assert verify_consistency(old_size, new_size, old, new, proof)


def test_every_proof_of_every_small_tree_from_stored_nodes_verifies() -> None:
    # Exhaustive up to 33 leaves, across the 32-leaf boundary, as a complement to the sampling.
    leaves = [bytes([i]) * 32 for i in range(33)]
    source = MemoryNodeSource(leaves)
    for size in range(1, 34):
        new_root = root_from(source, size)
        assert new_root == root(leaves[:size])
        for index in range(size):
            proof = inclusion_proof_from(source, index, size)
            assert verify_inclusion(leaf_hash(leaves[index]), index, size, proof, new_root)
        for old_size in range(1, size):
            proof = consistency_proof_from(source, old_size, size)
            old_root = root_from(source, old_size)
            assert verify_consistency(old_size, size, old_root, new_root, proof)


@settings(deadline=None)
@given(logs)
def test_the_frontier_has_the_root_at_every_size_and_reports_every_complete_subtree(
    leaves: list[bytes],
) -> None:
    source = MemoryNodeSource(leaves)
    frontier = MerkleFrontier()
    reported: list[tuple[int, int, bytes]] = []
    for size, data in enumerate(leaves, start=1):
        completed = frontier.append(leaf_hash(data))
        assert completed[0] == (0, size - 1, leaf_hash(data))
        reported += completed
        assert frontier.root() == root(leaves[:size])
        assert len(frontier.state()[1]) == size.bit_count()
    n = len(leaves)
    every_subtree = [
        (level, index, source.node(level, index))
        for level in range(n.bit_length())
        for index in range(n >> level)
    ]
    assert sorted(reported) == sorted(every_subtree)


@settings(deadline=None)
@given(logs, st.data())
def test_a_frontier_resumed_from_its_state_gives_the_same_roots_and_nodes(
    leaves: list[bytes], data: st.DataObject
) -> None:
    stop = data.draw(st.integers(0, len(leaves)), label="saved at")
    first = MerkleFrontier()
    for item in leaves[:stop]:
        first.append(leaf_hash(item))
    size, saved = first.state()
    resumed = MerkleFrontier.from_state(size, list(saved))
    assert resumed.size == stop and resumed.root() == first.root()
    for item in leaves[stop:]:
        assert resumed.append(leaf_hash(item)) == first.append(leaf_hash(item))
        assert resumed.root() == first.root()
    assert resumed.state() == first.state()


def test_a_frontier_refuses_a_state_that_cannot_be_one_and_a_leaf_that_is_not_a_hash() -> None:
    good = leaf_hash(b"x")
    for size, saved in [(-1, []), (1, []), (3, [good]), (2, [good, good]), (1, [b"short"])]:
        with pytest.raises(ValueError):
            MerkleFrontier.from_state(size, saved)
    with pytest.raises(ValueError):
        MerkleFrontier().append(b"not 32 bytes")


@settings(deadline=None)
@given(logs, st.data())
def test_any_change_to_an_inclusion_claim_makes_it_fail(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, good_root = leaf_hash(leaves[index]), root(leaves[:size])
    proof = inclusion_proof(leaves[:size], index)
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not verify_inclusion(flipped(leaf, bit), index, size, proof, good_root)
    assert not verify_inclusion(leaf, index, size, proof, flipped(good_root, bit))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        wrong = replaced(proof, position, flipped(proof[position], bit))
        assert not verify_inclusion(leaf, index, size, wrong, good_root)
        assert not verify_inclusion(
            leaf, index, size, proof[:position] + proof[position + 1 :], good_root
        )
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="inserted at")
    assert not verify_inclusion(leaf, index, size, [*proof[:at], extra, *proof[at:]], good_root)
    other_index = data.draw(st.integers(-1, size + 1).filter(lambda i: i != index), label="index'")
    assert not verify_inclusion(leaf, other_index, size, proof, good_root)
    # A path does not encode the tree size exactly (the signed tree head binds size and root), but
    # it never verifies against another size's root, and a different height is always refused.
    other_size = data.draw(st.integers(0, len(leaves)).filter(lambda s: s != size), label="size'")
    assert not verify_inclusion(leaf, index, other_size, proof, root(leaves[:other_size]))
    assert not verify_inclusion(leaf, index, size * 2, proof, good_root)
    assert not verify_inclusion(leaf, index, size // 2, proof, good_root)


@settings(deadline=None)
@given(logs.filter(lambda leaves: len(leaves) >= 2), st.data())
def test_any_change_to_a_consistency_claim_makes_it_fail(
    leaves: list[bytes], data: st.DataObject
) -> None:
    new_size = data.draw(st.integers(2, len(leaves)), label="new size")
    old_size = data.draw(st.integers(1, new_size - 1), label="old size")
    old, new = root(leaves[:old_size]), root(leaves[:new_size])
    proof = consistency_proof(leaves[:new_size], old_size)
    bit = data.draw(st.integers(0, 255), label="bit")
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    wrong = replaced(proof, position, flipped(proof[position], bit))
    assert not verify_consistency(old_size, new_size, old, new, wrong)
    assert not verify_consistency(old_size, new_size, flipped(old, bit), new, proof)
    assert not verify_consistency(old_size, new_size, old, flipped(new, bit), proof)
    shorter = proof[:position] + proof[position + 1 :]
    assert not verify_consistency(old_size, new_size, old, new, shorter)
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="inserted at")
    assert not verify_consistency(old_size, new_size, old, new, [*proof[:at], extra, *proof[at:]])
    other_old = data.draw(
        st.integers(0, new_size).filter(lambda s: s != old_size), label="old size'"
    )
    assert not verify_consistency(other_old, new_size, root(leaves[:other_old]), new, proof)
    assert not verify_consistency(other_old, new_size, old, new, proof)
    other_new = data.draw(
        st.integers(0, len(leaves)).filter(lambda s: s != new_size), label="new size'"
    )
    assert not verify_consistency(old_size, other_new, old, root(leaves[:other_new]), proof)
    assert not verify_consistency(old_size, new_size * 2, old, new, proof)
    assert not verify_consistency(old_size, new_size // 2, old, new, proof)
