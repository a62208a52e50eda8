"""The ``projects`` read model: each project's name, owner and status."""

from __future__ import annotations

from chronicle.chat.domain.events import ProjectCreated, ProjectStatusChanged
from chronicle.chat.read_models.base import COMMON_COLUMNS, AggregateReadModel
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Table, handles
from chronicle.store.ports import Session


class ProjectsReadModel(AggregateReadModel):
    name = "projects"
    table = "projects"
    default_mode = "inline"
    tables = (
        Table(
            "projects",
            "id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, "
            "owner_id TEXT NOT NULL, status TEXT NOT NULL, " + COMMON_COLUMNS,
            indexes=(("by_owner", "owner_id"),),
        ),
    )

    @handles(ProjectCreated)
    def created(self, session: Session, event: ProjectCreated, recorded: RecordedEvent) -> None:
        self.insert(
            session,
            recorded,
            name=event.name,
            description=event.description,
            owner_id=event.owner_id,
            status="active",
        )

    @handles(ProjectStatusChanged)
    def status_changed(
        self, session: Session, event: ProjectStatusChanged, recorded: RecordedEvent
    ) -> None:
        self.update(session, recorded, status=event.new_status)
