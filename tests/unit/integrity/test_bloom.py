"""The Bloom filter the verifier notes the aggregates it let go in."""

from __future__ import annotations

import pytest

from chronicle.integrity.bloom import BloomFilter


def test_every_item_added_is_maybe_seen() -> None:
    seen = BloomFilter(size_bytes=64, hashes=3)
    items = [f"message_{n}" for n in range(500)]  # far more than 512 bits hold apart
    for item in items:
        seen.add(item)
    assert all(item in seen for item in items)


def test_an_empty_filter_has_seen_nothing() -> None:
    assert "user_alice" not in BloomFilter(size_bytes=64)


def test_a_filter_of_ample_size_rarely_says_maybe_of_items_never_added() -> None:
    seen = BloomFilter(size_bytes=1 << 16, hashes=7)  # 524,288 bits
    for n in range(20_000):
        seen.add(f"message_{n}")
    wrong = sum(f"user_{n}" in seen for n in range(20_000))
    assert wrong < 200  # about 1 in 25,000 expected at 26 bits an item


def test_a_filter_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        BloomFilter(size_bytes=0)
