"""The caller cache: fresh for its seconds, forgotten on a change, never keeping a stale read."""

from __future__ import annotations

from chronicle.chat.api.callers import MAX_CALLERS, Caller, CallerCache

ALICE = Caller("user_alice", "alice", "member")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_caller_is_answered_until_its_seconds_pass() -> None:
    clock = Clock()
    cache = CallerCache(1.0, clock)
    cache.remember(ALICE, 3, cache.epoch)
    clock.now += 0.99
    assert cache.get("user_alice") == (ALICE, 3)
    clock.now += 0.02
    assert cache.get("user_alice") is None


def test_a_forgotten_caller_is_read_again_and_others_stay() -> None:
    cache = CallerCache(60.0, Clock())
    bob = Caller("user_bob", "bob", "admin")
    cache.remember(ALICE, 0, cache.epoch)
    cache.remember(bob, 0, cache.epoch)
    cache.forget("user_alice")
    assert cache.get("user_alice") is None
    assert cache.get("user_bob") == (bob, 0)


def test_a_lookup_that_began_before_a_change_is_not_remembered() -> None:
    cache = CallerCache(60.0, Clock())
    began = cache.epoch  # a request reads the database …
    cache.forget("user_alice")  # … while another one changes alice and commits
    cache.remember(ALICE, 0, began)  # the first one's answer may predate the change
    assert cache.get("user_alice") is None
    cache.remember(ALICE, 1, cache.epoch)
    assert cache.get("user_alice") == (ALICE, 1)


def test_zero_seconds_remembers_nothing() -> None:
    cache = CallerCache(0.0, Clock())
    cache.remember(ALICE, 0, cache.epoch)
    assert cache.get("user_alice") is None


def test_the_cache_never_holds_more_than_its_bound() -> None:
    cache = CallerCache(60.0, Clock())
    for n in range(MAX_CALLERS + 5):
        cache.remember(Caller(f"user_{n}", f"u{n}", "member"), 0, cache.epoch)
    assert len(cache._known) <= MAX_CALLERS
    assert cache.get(f"user_{MAX_CALLERS + 4}") is not None
