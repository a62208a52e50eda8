"""The ``User`` aggregate: a chat user with a username, an email and a role.

Rules: a username is 3 to 32 characters of lower-case letters, digits, ``_``, ``.`` and ``-``; an
email has one ``@`` with a dot in its domain and only printable characters; a role is one of
``ROLES``. An update names only those fields; fields whose value does not change are left out,
and an update that changes nothing records nothing.
"""

from __future__ import annotations

import re
from typing import Any, Self

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.errors import InvalidUserError, UserErasedError
from chronicle.chat.domain.events import (
    PersonalDataErased,
    UserCreated,
    UserUpdated,
    chat_events,
)
from chronicle.chat.domain.ids import check_id, new_id
from chronicle.chat.domain.text import non_printable_in
from chronicle.events import JSONObject
from chronicle.personal.declarations import erased_text
from chronicle.registry import dispatch_table

ROLES = ("member", "auditor", "admin")
UPDATABLE = ("username", "email", "role")
_USERNAME = re.compile(r"^[a-z0-9_][a-z0-9_.-]{2,31}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _check(name: str, value: Any) -> Any:
    if name == "username" and not (isinstance(value, str) and _USERNAME.fullmatch(value)):
        raise InvalidUserError(
            f"username must be 3-32 characters of a-z, 0-9, _ . - (got {value!r})"
        )
    if name == "email" and not (
        isinstance(value, str) and len(value) <= 254 and _EMAIL.fullmatch(value)
    ):
        raise InvalidUserError(f"email {value!r} is not an email address")
    if name == "email" and (character := non_printable_in(value)) is not None:
        # NUL cannot be stored in PostgreSQL text at all; refusing here keeps backends agreeing.
        raise InvalidUserError(f"an email cannot contain the character {character}")
    if name == "role" and value not in ROLES:
        raise InvalidUserError(f"role must be one of {', '.join(ROLES)}, not {value!r}")
    return value


class User(Aggregate):
    """A chat user. Create with :meth:`create`; change with :meth:`update`."""

    aggregate_type = "User"
    registry = chat_events
    STATE_SCHEMA_VERSION = 1
    STATE_FIELDS = ("username", "email", "role")
    PERSONAL_STATE = ("username", "email")

    username: str
    email: str
    role: str

    @classmethod
    def initial_state(cls) -> JSONObject:
        return {"username": "", "email": "", "role": "member"}

    @classmethod
    def create(
        cls, username: str, email: str, role: str = "member", *, user_id: str | None = None
    ) -> Self:
        """A new user with a fresh id (or ``user_id``), its creation pending."""
        user = cls(check_id(user_id, "User", "user_id") if user_id is not None else new_id("User"))
        user._record(
            UserCreated(
                username=_check("username", username),
                email=_check("email", email),
                role=_check("role", role),
            )
        )
        return user

    def update(self, **updates: Any) -> None:
        """Change ``username``, ``email`` and/or ``role``."""
        if self.version == 0:
            raise InvalidUserError(f"user {self.id} does not exist yet")
        if self.erased:
            raise UserErasedError(f"user {self.id} was erased: it takes no new personal data")
        unknown = sorted(set(updates) - set(UPDATABLE))
        if unknown:
            raise InvalidUserError(
                f"a user update may change {', '.join(UPDATABLE)}, not {', '.join(unknown)}"
            )
        changed = {
            name: _check(name, value)
            for name, value in updates.items()
            if _check(name, value) != getattr(self, name)
        }
        if changed:
            self._record(UserUpdated(updates=changed))

    @property
    def erased(self) -> bool:
        """Whether this user's personal data was erased (a username cannot start with ``[``)."""
        return self.username.startswith("[erased on ")

    def erase(
        self, *, reason: str, erased_on: str, key_ids: list[str], aggregates: list[str]
    ) -> None:
        """Record that this user's personal data is erased (the keys are destroyed after)."""
        if self.version == 0:
            raise InvalidUserError(f"user {self.id} does not exist yet")
        if self.erased:
            raise UserErasedError(f"the personal data of user {self.id} is erased already")
        self._record(
            PersonalDataErased(
                reason=reason, erased_on=erased_on, key_ids=key_ids, aggregates=aggregates
            )
        )

    def _created(self, event: UserCreated) -> None:
        self.username = event.username
        self.email = event.email
        self.role = event.role

    def _updated(self, event: UserUpdated) -> None:
        # Only known fields are applied, so an odd stored update can never break a load.
        for name in UPDATABLE:
            if name in event.updates:
                setattr(self, name, event.updates[name])

    def _erased(self, event: PersonalDataErased) -> None:
        self.username = self.email = erased_text(event.erased_on)

    appliers = dispatch_table(
        {UserCreated: _created, UserUpdated: _updated, PersonalDataErased: _erased}
    )
