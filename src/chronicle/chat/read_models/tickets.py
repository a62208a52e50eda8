"""The ``tickets`` read model: each ticket's current status, priority and assignee."""

from __future__ import annotations

from chronicle.chat.domain.events import TicketAssigned, TicketCreated, TicketStatusChanged
from chronicle.chat.read_models.base import COMMON_COLUMNS, AggregateReadModel
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Table, handles
from chronicle.store.ports import Session


class TicketsReadModel(AggregateReadModel):
    name = "tickets"
    table = "tickets"
    default_mode = "inline"
    tables = (
        Table(
            "tickets",
            "id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL, "
            "project_id TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL, "
            "assigned_to TEXT, assigned_by TEXT, " + COMMON_COLUMNS,
            indexes=(("by_project", "project_id"), ("by_assignee", "assigned_to")),
        ),
    )

    @handles(TicketCreated)
    def created(self, session: Session, event: TicketCreated, recorded: RecordedEvent) -> None:
        self.insert(
            session,
            recorded,
            title=event.title,
            description=event.description,
            project_id=event.project_id,
            priority=event.priority,
            status="open",
            assigned_to=None,
            assigned_by=None,
        )

    @handles(TicketAssigned)
    def assigned(self, session: Session, event: TicketAssigned, recorded: RecordedEvent) -> None:
        self.update(session, recorded, assigned_to=event.assigned_to, assigned_by=event.assigned_by)

    @handles(TicketStatusChanged)
    def status_changed(
        self, session: Session, event: TicketStatusChanged, recorded: RecordedEvent
    ) -> None:
        self.update(session, recorded, status=event.new_status)
