"""Where the verifier's walk of the log stands: both log-wide hashes and what it checked."""

from __future__ import annotations

from dataclasses import dataclass

from chronicle.events import RecordedEvent
from chronicle.integrity.chains import log_step
from chronicle.integrity.merkle import MerkleFrontier, leaf_hash
from chronicle.store.records import Seal


@dataclass(slots=True)
class LogWalk:
    """The log folded so far: both log-wide hashes, and where the last seal matched.

    Events since that match (the *window*: leaf ``window_start`` on, after position
    ``window_after``) are read again only when a seal does not match, to name the difference.
    """

    head: bytes
    count: int
    frontier: MerkleFrontier | None
    window_start: int = 0
    window_after: int | None = None
    last_position: int | None = None

    def fold(self, event: RecordedEvent) -> None:
        self.head = log_step(self.head, event.position, event.hash)
        if self.frontier is not None:
            self.frontier.append(leaf_hash(event.hash))
        self.count += 1
        self.last_position = event.position

    def matched(self) -> None:
        """The log up to here matches a seal: differences can only lie after it."""
        self.window_start, self.window_after = self.count, self.last_position

    def matches(self, seal: Seal) -> bool:
        if seal.root is not None and self.frontier is not None:
            return self.frontier.root() == seal.root
        return self.head == seal.head


class Positions:
    """The positions checked, as a bitmap (rows at positions <= 0 are never checked)."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, position: int) -> bool:
        """Mark ``position`` walked; False when it was already (two rows at one position)."""
        if position <= 0:
            return True
        byte = position >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1024))
        bit = 1 << (position & 7)
        if self._bits[byte] & bit:
            return False
        self._bits[byte] |= bit
        return True

    def __contains__(self, position: int) -> bool:
        byte = position >> 3
        return (
            position > 0 and byte < len(self._bits) and bool(self._bits[byte] >> (position & 7) & 1)
        )
