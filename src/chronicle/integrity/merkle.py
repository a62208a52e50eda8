"""The Merkle tree of RFC 9162 §2.1 over the log, and its inclusion and consistency proofs.

A leaf is an event's 32-byte integrity hash, taken in commit order. The tree hashes are those of
RFC 9162 (the same as RFC 6962): ``leaf_hash(d) = SHA-256(0x00 ‖ d)``,
``node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)``, and the Merkle Tree Hash of n > 1 leaves splits them
at the largest power of two smaller than n; the empty tree hashes to SHA-256 of nothing. The
distinct leaf and node prefixes are what stop a node from passing for a leaf.

Three ways to work with the tree, for three callers:

- over a list of leaves (:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`), the
  RFC's recursive definitions as written: the reference, for tests and small trees;
- :class:`MerkleFrontier`, for the sealer, which sees the leaves one by one and keeps only the
  O(log n) roots of its perfect subtrees, reporting every subtree it completes so a store can keep
  them;
- over those stored subtrees (a :class:`NodeSource`): the same proofs and roots with O(log n)
  lookups, whatever the log's size.

The verifiers (:func:`verify_inclusion`, :func:`verify_consistency`) are the security boundary:
they follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, never raise, and reject every proof whose
length is not exactly the one the sizes call for (immudb's SDKs once accepted falsified proofs
because their verifiers were lenient about shape).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryNodeSource",
    "MerkleFrontier",
    "NodeSource",
    "consistency_proof",
    "consistency_proof_from",
    "inclusion_proof",
    "inclusion_proof_from",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the tree with no leaves."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` >= 2): where MTH splits."""
    return 1 << ((size - 1).bit_length() - 1)


# --- The RFC's recursive definitions, over absolute leaf ranges [lo, hi) -------------------------
#
# PATH and SUBPROOF are written once, over a function giving MTH(D[lo:hi]) for a subrange, so the
# list-based and the stored-node proofs cannot drift apart in structure; they differ only in how a
# subrange's hash is obtained.

_RangeHash = Callable[[int, int], bytes]


def _path(subtree: _RangeHash, index: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, ``index`` being absolute."""
    if hi - lo == 1:
        return []
    mid = lo + _split(hi - lo)
    if index < mid:
        return [*_path(subtree, index, lo, mid), subtree(mid, hi)]
    return [*_path(subtree, index, mid, hi), subtree(lo, mid)]


def _subproof(subtree: _RangeHash, old_size: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, ``old_size`` being absolute; b = ``whole``."""
    if old_size == hi:
        # The old tree's root is this subtree: the verifier already has it when it is the whole old
        # tree (b = true), otherwise it must be given.
        return [] if whole else [subtree(lo, hi)]
    mid = lo + _split(hi - lo)
    if old_size <= mid:
        return [*_subproof(subtree, old_size, lo, mid, whole), subtree(mid, hi)]
    return [*_subproof(subtree, old_size, mid, hi, False), subtree(lo, mid)]


# --- Over a list of leaves -----------------------------------------------------------------------


def _list_hash(leaves: Sequence[bytes]) -> _RangeHash:
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hash(leaves[lo])
        mid = lo + _split(hi - lo)
        return node_hash(mth(lo, mid), mth(mid, hi))

    return mth


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the leaves' data (RFC 9162 §2.1.1); O(n), for tests and small trees."""
    return _list_hash(leaves)(0, len(leaves)) if leaves else EMPTY_ROOT


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]): the audit path for the leaf at ``index``; O(n)."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    return _path(_list_hash(leaves), index, 0, len(leaves))


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]): that the first ``old_size`` leaves' tree is a prefix; O(n).

    The RFC defines it for 0 < old_size < n only; anything else is a caller's error.
    """
    if not 0 < old_size < len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to size {len(leaves)}")
    return _subproof(_list_hash(leaves), old_size, 0, len(leaves), True)


# --- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2): total, never raises ---------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hashes(proof: object) -> list[bytes] | None:
    """The proof as a list of 32-byte hashes, or None when it is not one (bytes, str, junk)."""
    if isinstance(proof, bytes | bytearray | memoryview | str) or not isinstance(proof, Sequence):
        return None
    items = list(proof)
    return items if all(_is_hash(item) for item in items) else None


def _inclusion_length(index: int, size: int) -> int:
    # Below the level where the paths to ``index`` and to the last leaf part, every level gives one
    # sibling; above it, the path runs along the right border and only the levels where ``index``
    # has a left sibling (its set bits) give one.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_length(old_size: int, new_size: int) -> int:
    # The old tree's last perfect subtree sits at level ``shift``; the proof is that node's audit
    # path in the new tree seen at that level, plus the node itself unless the old tree is perfect
    # (then the verifier has it: it is the old root).
    shift = (old_size & -old_size).bit_length() - 1
    length = _inclusion_length((old_size - 1) >> shift, ((new_size - 1) >> shift) + 1)
    return length if old_size == 1 << shift else length + 1


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves the leaf hashing to ``leaf_hash`` is at ``index`` under ``root``.

    ``leaf_hash`` is the Merkle leaf hash (``leaf_hash(event hash)``), not the event hash itself.
    Any malformed input (sizes, lengths, types) gives False.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_size(index) and _is_size(tree_size)):
        return False
    if not 0 <= index < tree_size:
        return False
    hashes = _hashes(path)
    if hashes is None or len(hashes) != _inclusion_length(index, tree_size):
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in hashes:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # On the right border a node without a right sibling moves up unchanged.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``old_size`` leaves is a prefix of the new one.

    As in RFC 9162 this needs 0 < old_size < new_size: with equal sizes the roots must simply be
    equal and with an empty old tree there is nothing to prove, so the caller decides those without
    a proof, and here they give False like any other malformed input.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root)):
        return False
    if not _is_hash(new_root) or not 0 < old_size < new_size:
        return False
    hashes = _hashes(proof)
    if hashes is None or len(hashes) != _consistency_length(old_size, new_size):
        return False
    if old_size & (old_size - 1) == 0:
        hashes = [old_root, *hashes]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- The incremental builder ----------------------------------------------------------------------


class MerkleFrontier:
    """The tree grown leaf by leaf, holding only the roots of its perfect subtrees.

    A tree of n leaves is a row of perfect subtrees, one per set bit of n, largest (leftmost)
    first: its compact range. Appending a leaf merges equal-sized subtrees at the right end like a
    binary counter's carry, so the state stays O(log n) and each merge completes one stored node.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> MerkleFrontier:
        """Resume from :meth:`state`: ``hashes`` are the subtree roots, largest first."""
        if not _is_size(size) or size < 0:
            raise ValueError(f"a tree size is a non-negative integer, not {size!r}")
        items = list(hashes)
        if len(items) != size.bit_count() or not all(_is_hash(h) for h in items):
            raise ValueError(f"{size} leaves need {size.bit_count()} subtree roots of 32 bytes")
        frontier = cls()
        frontier._size = size
        frontier._hashes = items
        return frontier

    def state(self) -> tuple[int, tuple[bytes, ...]]:
        """The size and the subtree roots, largest first: all a sealer must save to resume."""
        return self._size, tuple(self._hashes)

    @property
    def size(self) -> int:
        """How many leaves were appended."""
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf, given as its Merkle leaf hash; return the subtrees it completed.

        Each is ``(level, index, hash)``, the subtree over leaves [index·2^level,
        (index+1)·2^level): the leaf itself at level 0, then one per merge, lowest first.
        """
        if not _is_hash(leaf_hash):
            raise ValueError("a leaf hash is 32 bytes")
        level, index, carry = 0, self._size, leaf_hash
        completed = [(level, index, carry)]
        # Each trailing set bit of the old size is a subtree as large as the carry, on its left.
        while (self._size >> level) & 1:
            carry = node_hash(self._hashes.pop(), carry)
            level += 1
            index >>= 1
            completed.append((level, index, carry))
        self._hashes.append(carry)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """The root of the tree of the leaves appended so far."""
        if not self._hashes:
            return EMPTY_ROOT
        # MTH splits off the largest perfect subtree first, so the row folds from the right.
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result


# --- Over stored perfect subtrees -----------------------------------------------------------------


class NodeSource(Protocol):
    """Where the hashes of complete (perfect) subtrees are kept, as :meth:`MerkleFrontier.append`
    reports them."""

    def node(self, level: int, index: int) -> bytes:
        """The hash of the subtree over leaves [index·2^level, (index+1)·2^level).

        Raises LookupError when that subtree is not (yet) complete.
        """
        ...


def _node_hash_of(source: NodeSource) -> _RangeHash:
    # MTH(D[lo:hi]) from perfect subtrees. A range whose size s is not a power of two splits at the
    # largest power of two below s, i.e. s's top bit: the left part is perfect and the right part's
    # size is s without that bit, which splits the same way. So the range is the row of perfect
    # subtrees given by s's set bits, largest first, and its hash folds that row from the right:
    # at most log2(s) + 1 lookups. Each piece must be aligned (start a multiple of its size) to be
    # a stored node; the ranges PATH and SUBPROOF ask for always are, since they start at lo, a
    # multiple of a power of two >= hi - lo: true of [0, n), and kept by both halves of a split.
    def mth(lo: int, hi: int) -> bytes:
        pieces = []
        start, size = lo, hi - lo
        for level in reversed(range(size.bit_length())):
            if (size >> level) & 1:
                pieces.append(source.node(level, start >> level))
                start += 1 << level
        result = pieces[-1]
        for left in reversed(pieces[:-1]):
            result = node_hash(left, result)
        return result

    return mth


def root_from(source: NodeSource, tree_size: int) -> bytes:
    """The root of the first ``tree_size`` leaves, from O(log n) stored subtrees."""
    if tree_size < 0:
        raise ValueError(f"a tree size is non-negative, not {tree_size}")
    return _node_hash_of(source)(0, tree_size) if tree_size else EMPTY_ROOT


def inclusion_proof_from(source: NodeSource, index: int, tree_size: int) -> list[bytes]:
    """The same proof as :func:`inclusion_proof`, from O(log n) stored subtrees.

    Every sibling on the path is perfect except at most one: the right part of the first split
    where the path turns left, which is composed of at most log2(n) + 1 stored subtrees.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    return _path(_node_hash_of(source), index, 0, tree_size)


def consistency_proof_from(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """The same proof as :func:`consistency_proof`, from O(log n) stored subtrees.

    As for inclusion, only the right part of the first split where SUBPROOF turns left can be
    imperfect; the old tree's own node, when given, is a perfect left subtree.
    """
    if not 0 < old_size < new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    return _subproof(_node_hash_of(source), old_size, 0, new_size, True)


class MemoryNodeSource:
    """Every perfect subtree over a list of leaves' data, computed up front; for tests."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        level = [leaf_hash(data) for data in leaves]
        self._levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    def node(self, level: int, index: int) -> bytes:
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise LookupError(f"no complete subtree at level {level}, index {index}")
