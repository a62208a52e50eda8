"""Login throttling through HTTP on both backends: growing delays, then 429 with Retry-After.

The throttle's clock is replaced by one the tests move, so no test sleeps.
"""

from __future__ import annotations

import dataclasses
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chronicle.chat.api import create_app
from chronicle.chat.service.throttle import ACCOUNT, ADDRESS, TABLE

from .conftest import Api, assert_problem, settings_for, start


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(api: Api) -> Clock:
    moved = Clock()
    api.services.throttle.clock = moved
    return moved


@pytest.fixture
def address_allows(api: Api) -> int:
    """A smaller allowance per address than the service's, so the tests check fewer passwords."""
    api.services.throttle.address = dataclasses.replace(ADDRESS, free_failures=8)
    return 8


def log_in(client: TestClient, username: str, password: str) -> Any:
    return client.post("/auth/token", data={"username": username, "password": password})


def refused(response: Any) -> int:
    """The seconds a 429 problem asks to wait (its header and its body agree)."""
    body = assert_problem(response, 429)
    assert body["type"] == "urn:chronicle:problem:too-many-attempts"
    assert "access_token" not in body
    wait = int(response.headers["retry-after"])
    assert wait >= 1 and body["retry_after"] == wait
    return wait


def lock(client: TestClient, username: str) -> None:
    """Spend the account's free failures, so its next attempt is refused."""
    for _ in range(ACCOUNT.free_failures):
        assert_problem(log_in(client, username, "wrong-password"), 401)


def refusals(api: Api, limit: str) -> float:
    value = api.services.chat.metrics.registry.get_sample_value(
        "chronicle_login_refusals_total", {"limit": limit}
    )
    return value or 0.0


def rows(api: Api) -> list[str]:
    with api.services.chat.store.read_session() as session:
        return [row[0] for row in session.fetchall(f"SELECT key FROM {TABLE}")]


def test_wrong_passwords_for_one_account_are_refused_with_429_and_retry_after_after_five(
    api: Api, clock: Clock
) -> None:
    statuses = [log_in(api.client, "bob", "wrong-password").status_code for _ in range(200)]
    assert statuses[: ACCOUNT.free_failures] == [401] * ACCOUNT.free_failures
    assert set(statuses[ACCOUNT.free_failures :]) == {429}
    assert refused(log_in(api.client, "bob", "wrong-password")) == 1


def test_the_right_password_is_refused_while_locked_and_accepted_after_the_delay(
    api: Api, clock: Clock
) -> None:
    lock(api.client, "bob")
    wait = refused(log_in(api.client, "bob", "bob-password"))
    clock.advance(wait - 0.5)
    refused(log_in(api.client, "bob", "bob-password"))
    clock.advance(0.5)
    accepted = log_in(api.client, "bob", "bob-password")
    assert accepted.status_code == 200 and accepted.json()["access_token"]


def test_each_further_failure_doubles_the_delay_up_to_fifteen_minutes(
    api: Api, clock: Clock
) -> None:
    lock(api.client, "bob")
    waits = []
    for _ in range(14):
        wait = refused(log_in(api.client, "bob", "bob-password"))  # refused: counts nothing
        waits.append(wait)
        clock.advance(wait)
        assert_problem(log_in(api.client, "bob", "wrong-password"), 401)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
    assert ACCOUNT.max_delay == 15 * 60


def test_a_successful_log_in_forgets_the_accounts_failures(api: Api, clock: Clock) -> None:
    for _ in range(ACCOUNT.free_failures - 1):
        assert_problem(log_in(api.client, "bob", "wrong-password"), 401)
    assert log_in(api.client, "bob", "bob-password").status_code == 200
    lock(api.client, "bob")  # all five free again
    refused(log_in(api.client, "bob", "bob-password"))


def test_parallel_guesses_get_no_more_tries_than_one_after_another(api: Api, clock: Clock) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: log_in(api.client, "bob", "wrong-password"), range(24)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * ACCOUNT.free_failures + [429] * (24 - ACCOUNT.free_failures)


def test_one_locked_account_does_not_slow_other_accounts(api: Api, clock: Clock) -> None:
    for _ in range(200):
        log_in(api.client, "bob", "wrong-password")
    for _ in range(10):
        assert log_in(api.client, "alice", "alice-password").status_code == 200
    assert_problem(log_in(api.client, "alice", "wrong-password"), 401)
    refused(log_in(api.client, "bob", "bob-password"))


def test_one_address_guessing_across_many_accounts_is_slowed_too_but_not_other_addresses(
    api: Api, clock: Clock, address_allows: int
) -> None:
    for number in range(address_allows):
        assert_problem(log_in(api.client, f"user{number}", "wrong-password"), 401)
    refused(log_in(api.client, "alice", "alice-password"))
    assert refusals(api, "address") == 1 and refusals(api, "account") == 0
    elsewhere = TestClient(api.client.app, client=("203.0.113.7", 50000))
    assert log_in(elsewhere, "alice", "alice-password").status_code == 200


def test_a_success_does_not_clear_the_failures_counted_for_its_address(
    api: Api, clock: Clock, address_allows: int
) -> None:
    for number in range(address_allows - 1):
        assert_problem(log_in(api.client, f"user{number}", "wrong-password"), 401)
    assert log_in(api.client, "alice", "alice-password").status_code == 200
    assert_problem(log_in(api.client, "user-last", "wrong-password"), 401)
    refused(log_in(api.client, "alice", "alice-password"))


def test_unknown_usernames_are_throttled_exactly_like_known_ones(api: Api, clock: Clock) -> None:
    for username in ("bob", "nobody"):
        statuses = [log_in(api.client, username, "wrong-password").status_code for _ in range(7)]
        assert statuses == [401] * 5 + [429] * 2
        assert int(log_in(api.client, username, "x").headers["retry-after"]) == 1


@pytest.mark.parametrize("username", ["\x00", "bob\x00", "\x1b[31m", "b" * 10_000])
def test_a_username_with_nul_control_characters_or_great_length_is_throttled_without_a_5xx(
    api: Api, clock: Clock, username: str
) -> None:
    statuses = [log_in(api.client, username, "wrong-password").status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    # Only digests are kept: no form value reaches the database.
    assert all(re.fullmatch(r"(account|address):[0-9a-f]{64}", key) for key in rows(api))


def test_refused_attempts_are_counted_in_the_metrics(api: Api, clock: Clock) -> None:
    lock(api.client, "bob")
    for _ in range(3):
        refused(log_in(api.client, "bob", "bob-password"))
    assert refusals(api, "account") == 3
    metrics = api.client.get("/metrics").text
    assert 'chronicle_login_refusals_total{limit="account"} 3.0' in metrics


def test_a_refusal_writes_nothing_even_for_a_username_never_seen(
    api: Api, clock: Clock, address_allows: int
) -> None:
    for number in range(address_allows):
        log_in(api.client, f"user{number}", "wrong-password")
    before = sorted(rows(api))
    for number in range(100):
        refused(log_in(api.client, f"never-seen{number}", "wrong-password"))
    assert sorted(rows(api)) == before


def test_forgotten_streaks_are_deleted_so_guessed_names_cannot_grow_the_table(
    api: Api, clock: Clock
) -> None:
    for number in range(12):
        log_in(api.client, f"guess{number}", "wrong-password")
    assert len(rows(api)) >= 13  # 12 names and the address
    clock.advance(ACCOUNT.memory + 1)
    log_in(api.client, "one-more", "wrong-password")
    assert len(rows(api)) == 2


def test_a_lock_survives_a_restart_of_the_service(store_url: str) -> None:
    settings = settings_for(store_url)
    clock = Clock()
    first = start(settings)
    api = next(first)
    api.services.throttle.clock = clock
    lock(api.client, "bob")
    first.close()  # the service stops

    with TestClient(create_app(settings)) as client:
        client.app.state.services.throttle.clock = clock  # type: ignore[attr-defined]
        refused(log_in(client, "bob", "bob-password"))
        clock.advance(1)
        assert log_in(client, "bob", "bob-password").status_code == 200
