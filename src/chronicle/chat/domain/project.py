"""The ``Project`` aggregate and its status state machine.

A project starts ``active``. Allowed status changes (``TRANSITIONS``)::

    active    -> on_hold, completed, archived
    on_hold   -> active, archived
    completed -> active (reopen), archived
    archived  -> (none: archived is final)

Any other change, including to the current status, raises ``InvalidTransitionError``.
"""

from __future__ import annotations

from typing import Self

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.errors import InvalidProjectError, InvalidTransitionError
from chronicle.chat.domain.events import ProjectCreated, ProjectStatusChanged, chat_events
from chronicle.chat.domain.ids import check_id, new_id
from chronicle.chat.domain.text import control_character_in
from chronicle.events import JSONObject
from chronicle.registry import dispatch_table

INITIAL_STATUS = "active"
TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"on_hold", "completed", "archived"}),
    "on_hold": frozenset({"active", "archived"}),
    "completed": frozenset({"active", "archived"}),
    "archived": frozenset(),
}
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000


class Project(Aggregate):
    """A project. Create with :meth:`create`; change its status with :meth:`change_status`."""

    aggregate_type = "Project"
    registry = chat_events
    STATE_SCHEMA_VERSION = 1
    STATE_FIELDS = ("name", "description", "owner_id", "status")

    name: str
    description: str
    owner_id: str
    status: str

    @classmethod
    def initial_state(cls) -> JSONObject:
        return {"name": "", "description": "", "owner_id": "", "status": INITIAL_STATUS}

    @classmethod
    def create(
        cls, name: str, owner_id: str, description: str = "", *, project_id: str | None = None
    ) -> Self:
        """A new active project owned by the user ``owner_id``, its creation pending."""
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidProjectError(f"a project name is 1-{MAX_NAME_LENGTH} characters")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidProjectError(
                f"a project description is at most {MAX_DESCRIPTION_LENGTH} characters"
            )
        for field, text in (("name", name), ("description", description)):
            if (character := control_character_in(text)) is not None:
                raise InvalidProjectError(
                    f"a project {field} cannot contain the control character {character}"
                )
        check_id(owner_id, "User", "owner_id")
        project = cls(
            check_id(project_id, "Project", "project_id")
            if project_id is not None
            else new_id("Project")
        )
        project._record(ProjectCreated(name=name, description=description, owner_id=owner_id))
        return project

    def change_status(self, new_status: str) -> None:
        """Move to ``new_status`` if the state machine allows it from the current status."""
        if self.version == 0:
            raise InvalidProjectError(f"project {self.id} does not exist yet")
        if new_status not in TRANSITIONS:
            raise InvalidProjectError(
                f"a project status is one of {', '.join(TRANSITIONS)}, not {new_status!r}"
            )
        if new_status not in TRANSITIONS[self.status]:
            raise InvalidTransitionError("Project", self.status, new_status)
        self._record(ProjectStatusChanged(old_status=self.status, new_status=new_status))

    def _created(self, event: ProjectCreated) -> None:
        self.name = event.name
        self.description = event.description
        self.owner_id = event.owner_id
        self.status = INITIAL_STATUS

    def _status_changed(self, event: ProjectStatusChanged) -> None:
        self.status = event.new_status

    appliers = dispatch_table({ProjectCreated: _created, ProjectStatusChanged: _status_changed})
