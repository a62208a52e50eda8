"""How the audit search turns the page's filters into one store filter."""

from __future__ import annotations

import pytest

from chronicle.chat.api.event_search import EventQuery
from chronicle.errors import InvalidEventError
from chronicle.store.queries import MAX_USERS

NO_FILTERS = dict(user_id=None, aggregate_type=None, event_type=None, since=None, until=None)


class NamedBy:
    """Actors where ``count`` user ids have had every username."""

    def __init__(self, count: int) -> None:
        self.count = count

    def ids_named(self, username: str) -> list[str]:
        return [f"user_{n}" for n in range(self.count)]


def query(actors: object, **filters: object) -> EventQuery:
    return EventQuery.of(actors, **{**NO_FILTERS, "user": None, "q": None, **filters})  # type: ignore[arg-type]


def test_a_name_one_user_had_is_that_user_and_a_name_several_had_is_all_of_them() -> None:
    assert query(NamedBy(1), user="alice").filters["user_id"] == "user_0"  # type: ignore[index]
    several = query(NamedBy(3), user="alice").filters
    assert several is not None and several["user_ids"] == ["user_0", "user_1", "user_2"]
    assert query(NamedBy(0), user="nobody").filters is None  # nothing can match


def test_a_name_too_many_users_had_is_refused_with_what_to_do_instead() -> None:
    assert query(NamedBy(MAX_USERS), user="alice").filters is not None
    with pytest.raises(InvalidEventError, match="search by user_id instead"):
        query(NamedBy(MAX_USERS + 1), user="alice")


def test_content_is_searched_in_message_events_only() -> None:
    assert query(NamedBy(1), q="door").filters["aggregate_type"] == "Message"  # type: ignore[index]
    assert query(NamedBy(1), q="door", aggregate_type="Ticket").filters is None
    assert query(NamedBy(1), q="door", event_type="UserCreated").filters is None
