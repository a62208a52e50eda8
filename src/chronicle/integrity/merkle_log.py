"""The Merkle log as a store keeps it: stored subtrees read as a tree, and building it for a store
whose seals predate it.

The sealer appends a leaf per event in commit order and stores every complete subtree the
:class:`~chronicle.integrity.merkle.MerkleFrontier` reports, in the same transaction as the seal
that covers them. So the stored log always ends exactly at the latest seal's tree size: leaves
beyond it mean seals were deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from chronicle.errors import DuplicateKeyError, SealRefusedError
from chronicle.events import RecordedEvent
from chronicle.integrity.chains import LOG_GENESIS, log_step
from chronicle.integrity.merkle import MerkleFrontier, leaf_hash, root_from
from chronicle.store.ports import SealedLog
from chronicle.store.records import MerkleNode, Seal

Progress = Callable[[int], None]


class StoredNodes:
    """A store's Merkle nodes as a :class:`~chronicle.integrity.merkle.NodeSource`."""

    def __init__(self, store: SealedLog) -> None:
        self.store = store

    def node(self, level: int, index: int) -> bytes:
        found = self.store.merkle_node(level, index)
        if found is None:
            raise LookupError(f"no stored Merkle node at level {level}, index {index}")
        return found


def stored_root(store: SealedLog, size: int) -> bytes | None:
    """The root of the stored tree's first ``size`` leaves; None when a node it needs is gone."""
    try:
        return root_from(StoredNodes(store), size)
    except LookupError:
        return None


def merkle_nodes(frontier: MerkleFrontier, event: RecordedEvent) -> list[MerkleNode]:
    """Append ``event``'s leaf to ``frontier``; the nodes to store: its leaf, then each subtree
    it completed."""
    nodes = []
    for level, index, digest in frontier.append(leaf_hash(event.hash)):
        if level == 0:
            nodes.append(
                MerkleNode(0, index, digest, event.position, event.aggregate_id, event.version)
            )
        else:
            nodes.append(MerkleNode(level, index, digest))
    return nodes


def _check_sealed(latest: Seal, frontier: MerkleFrontier, head: bytes | None) -> None:
    """A rebuilt tree must be the one the latest seal signed: the events may not have changed."""
    if latest.root is not None and frontier.root() != latest.root:
        raise SealRefusedError(
            f"the events seal {latest.number} covers no longer hash to its Merkle root: "
            "sealed history was rewritten"
        )
    if latest.root is None and head is not None and head != latest.head:
        raise SealRefusedError(
            f"the events seal {latest.number} covers no longer chain to its log head: "
            "sealed history was rewritten"
        )


def frontier_at(store: SealedLog, size: int) -> MerkleFrontier:
    """The frontier of the stored tree's first ``size`` leaves: its perfect subtrees' roots.

    ``SealRefusedError`` when one is missing: the stored log was cut.
    """
    hashes, start = [], 0
    for level in reversed(range(size.bit_length())):
        if (size >> level) & 1:
            found = store.merkle_node(level, start >> level)
            if found is None:
                raise SealRefusedError(
                    f"the stored Merkle log lacks its node at level {level}, index "
                    f"{start >> level}: rows of chronicle_merkle_* were deleted"
                )
            hashes.append(found)
            start += 1 << level
    return MerkleFrontier.from_state(size, hashes)


def build_merkle_log(
    store: SealedLog, *, batch_size: int = 2000, progress: Progress | None = None
) -> int:
    """Add the leaves (and nodes) of every sealed event the stored Merkle log lacks.

    A store sealed before the Merkle log existed gets its tree over the events its latest seal
    covers (later events are the sealer's to add, under new seals). Resumable: each batch is
    committed with the nodes it completed. Returns how many leaves were added.
    """
    latest = store.latest_seal()
    target = latest.event_count if latest is not None else 0
    size = store.merkle_size()
    if size >= target:
        return 0
    frontier = frontier_at(store, size)
    last = store.merkle_leaf_at(size - 1) if size else None
    after = last.position if last is not None else None
    head = LOG_GENESIS if size == 0 else None  # the log chain, when built from the start
    added = 0
    while frontier.size < target:
        events = store.read_all(after=after, limit=min(batch_size, target - frontier.size))
        if not events:
            raise SealRefusedError(
                f"the log holds fewer events than seal {latest.number} covers "  # type: ignore[union-attr]
                f"({target}): run chronicle verify"
            )
        nodes = []
        for event in events:
            nodes.extend(merkle_nodes(frontier, event))
            if head is not None:
                head = log_step(head, event.position, event.hash)
        if frontier.size == target:
            _check_sealed(latest, frontier, head)  # type: ignore[arg-type]
        try:
            store.append_merkle_nodes(nodes)
        except DuplicateKeyError as exc:
            raise SealRefusedError(
                "the stored Merkle log is damaged: leaves are missing below nodes that remain "
                "(rows of chronicle_merkle_leaves were deleted)"
            ) from exc
        added += len(events)
        after = events[-1].position
        if progress is not None:
            progress(len(events))
    return added
