"""Where the verifier's walk of the log stands: both log-wide hashes and what it checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from chronicle.events import RecordedEvent
from chronicle.integrity.chains import log_step
from chronicle.integrity.merkle import MerkleFrontier, leaf_hash
from chronicle.store.records import Seal

_WINDOW_LIMIT = 200_000
"""At most this many events since the last matching seal are kept to name a difference."""


@dataclass(slots=True)
class LogWalk:
    """The log folded so far: both log-wide hashes, and the events since the last match."""

    head: bytes
    count: int
    frontier: MerkleFrontier | None
    window: list[RecordedEvent] = field(default_factory=list)
    window_start: int = 0  # the leaf index of window[0]
    last_position: int | None = None

    def fold(self, event: RecordedEvent) -> None:
        self.head = log_step(self.head, event.position, event.hash)
        if self.frontier is not None:
            self.frontier.append(leaf_hash(event.hash))
        self.count += 1
        self.last_position = event.position
        if len(self.window) < _WINDOW_LIMIT:
            self.window.append(event)

    def matched(self) -> None:
        """The log up to here matches a seal: differences can only lie after it."""
        self.window.clear()
        self.window_start = self.count

    def matches(self, seal: Seal) -> bool:
        if seal.root is not None and self.frontier is not None:
            return self.frontier.root() == seal.root
        return self.head == seal.head


class Positions:
    """The positions checked, as a bitmap (rows at positions <= 0 are never checked)."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, position: int) -> None:
        if position <= 0:
            return
        byte = position >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1024))
        self._bits[byte] |= 1 << (position & 7)

    def __contains__(self, position: int) -> bool:
        byte = position >> 3
        return (
            position > 0 and byte < len(self._bits) and bool(self._bits[byte] >> (position & 7) & 1)
        )
