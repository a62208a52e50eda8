"""The ``users`` read model: each user's current name, email and role."""

from __future__ import annotations

from chronicle.chat.domain.events import PersonalDataErased, UserCreated, UserUpdated
from chronicle.chat.domain.user import UPDATABLE
from chronicle.chat.read_models.base import COMMON_COLUMNS, AggregateReadModel
from chronicle.events import RecordedEvent
from chronicle.personal.declarations import erased_text
from chronicle.projections.projection import Table, handles
from chronicle.store.ports import Session


class UsersReadModel(AggregateReadModel):
    name = "users"
    table = "users"
    default_mode = "inline"
    tables = (
        Table(
            "users",
            "id TEXT PRIMARY KEY, username TEXT NOT NULL, email TEXT NOT NULL, "
            "role TEXT NOT NULL, " + COMMON_COLUMNS,
            indexes=(("by_username", "username"),),
        ),
    )

    @handles(UserCreated)
    def created(self, session: Session, event: UserCreated, recorded: RecordedEvent) -> None:
        self.insert(session, recorded, username=event.username, email=event.email, role=event.role)

    @handles(UserUpdated)
    def updated(self, session: Session, event: UserUpdated, recorded: RecordedEvent) -> None:
        changes = {name: event.updates[name] for name in UPDATABLE if name in event.updates}
        self.update(session, recorded, **changes)

    @handles(PersonalDataErased)
    def erased(self, session: Session, event: PersonalDataErased, recorded: RecordedEvent) -> None:
        """Whatever version the row is at (a write that raced the erasure included): applied
        again, it redacts again."""
        erased = erased_text(event.erased_on)
        session.execute(
            f"UPDATE {self.t(self.table)} SET username = :erased, email = :erased WHERE id = :id",
            {"erased": erased, "id": recorded.aggregate_id},
        )
        self.touch(session, recorded)
