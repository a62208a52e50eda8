"""A Bloom filter of strings in a fixed number of bytes: "maybe seen" or "certainly not".

The verifier keeps the chains of the aggregates it met lately and lets older ones go; this filter
remembers which ones it let go, in memory that does not grow with their number. A wrong "maybe"
costs one lookup in the store, never a wrong verdict. The ``hashes`` bit positions of a string
come from one BLAKE2b digest split in two (double hashing: ``h1 + i * h2``).
"""

from __future__ import annotations

import hashlib


class BloomFilter:
    def __init__(self, size_bytes: int = 1 << 23, hashes: int = 7) -> None:
        if size_bytes < 1 or hashes < 1:
            raise ValueError("a Bloom filter needs at least one byte and one hash")
        self._bits = bytearray(size_bytes)
        self._size = size_bytes * 8
        self._hashes = hashes

    def _positions(self, item: str) -> list[int]:
        digest = hashlib.blake2b(item.encode(), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "big")
        step = int.from_bytes(digest[8:], "big") | 1
        return [(first + i * step) % self._size for i in range(self._hashes)]

    def add(self, item: str) -> None:
        for bit in self._positions(item):
            self._bits[bit >> 3] |= 1 << (bit & 7)

    def __contains__(self, item: str) -> bool:
        return all(self._bits[bit >> 3] >> (bit & 7) & 1 for bit in self._positions(item))
