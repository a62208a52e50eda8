"""User: given events, when a command, then events or a typed error."""

from __future__ import annotations

import pytest

from chronicle.chat.domain import InvalidUserError, User, new_id
from chronicle.chat.domain.events import UserCreated, UserUpdated

CREATED = UserCreated(username="alice", email="alice@example.com", role="member")


def given(*events: object) -> User:
    return User.replay(new_id("User"), events)  # type: ignore[arg-type]


def test_creating_a_user_records_username_email_and_role() -> None:
    user = User.create("alice", "alice@example.com", "admin")
    assert user.id.startswith("user_")
    assert user.pending_events == [
        UserCreated(username="alice", email="alice@example.com", role="admin")
    ]


@pytest.mark.parametrize(
    ("username", "email", "role"),
    [
        ("al", "alice@example.com", "member"),
        ("Alice!", "alice@example.com", "member"),
        ("alice", "not-an-email", "member"),
        ("alice", "alice@example.com", "owner"),
    ],
)
def test_a_user_with_a_bad_username_email_or_role_is_refused(
    username: str, email: str, role: str
) -> None:
    with pytest.raises(InvalidUserError):
        User.create(username, email, role)


def test_an_update_records_only_the_fields_that_change() -> None:
    user = given(CREATED)
    user.update(email="alice@example.org", role="member")
    assert user.pending_events == [UserUpdated(updates={"email": "alice@example.org"})]
    assert user.state() == {"username": "alice", "email": "alice@example.org", "role": "member"}


def test_an_update_that_changes_nothing_records_nothing() -> None:
    user = given(CREATED)
    user.update(role="member")
    assert user.pending_events == []


@pytest.mark.parametrize("updates", [{"password": "x"}, {"role": "root"}, {"email": "nope"}])
def test_an_update_of_an_unknown_field_or_to_a_bad_value_is_refused(
    updates: dict[str, str],
) -> None:
    user = given(CREATED)
    with pytest.raises(InvalidUserError):
        user.update(**updates)
    assert user.pending_events == [] and user.email == "alice@example.com"


def test_applying_a_stored_update_with_an_unknown_field_ignores_that_field() -> None:
    user = given(CREATED, UserUpdated(updates={"nickname": "al", "role": "admin"}))
    assert user.state() == {"username": "alice", "email": "alice@example.com", "role": "admin"}
    assert user.version == 2
