"""The ``Ticket`` aggregate and its status state machine.

A ticket belongs to a project, starts ``open`` and unassigned. Allowed status changes
(``TRANSITIONS``)::

    open        -> in_progress, closed
    in_progress -> open, resolved, closed
    resolved    -> in_progress (reopen), closed
    closed      -> open (reopen)

Any other change, including to the current status, raises ``InvalidTransitionError``. A closed
ticket cannot be assigned; assigning it to its current assignee records nothing.
"""

from __future__ import annotations

from typing import Self

from chronicle.aggregate import Aggregate
from chronicle.chat.domain.errors import InvalidTicketError, InvalidTransitionError
from chronicle.chat.domain.events import (
    TicketAssigned,
    TicketCreated,
    TicketStatusChanged,
    chat_events,
)
from chronicle.chat.domain.ids import check_id, new_id
from chronicle.chat.domain.text import control_character_in
from chronicle.events import JSONObject
from chronicle.registry import dispatch_table

INITIAL_STATUS = "open"
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "closed"}),
    "in_progress": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"in_progress", "closed"}),
    "closed": frozenset({"open"}),
}
PRIORITIES = ("low", "medium", "high", "critical")
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10000


class Ticket(Aggregate):
    """A ticket. Create with :meth:`create`; then :meth:`assign` and :meth:`change_status`."""

    aggregate_type = "Ticket"
    registry = chat_events
    STATE_SCHEMA_VERSION = 1
    STATE_FIELDS = (
        "title",
        "description",
        "project_id",
        "priority",
        "status",
        "assigned_to",
        "assigned_by",
    )

    title: str
    description: str
    project_id: str
    priority: str
    status: str
    assigned_to: str | None
    assigned_by: str | None

    @classmethod
    def initial_state(cls) -> JSONObject:
        return {
            "title": "",
            "description": "",
            "project_id": "",
            "priority": "medium",
            "status": INITIAL_STATUS,
            "assigned_to": None,
            "assigned_by": None,
        }

    @classmethod
    def create(
        cls,
        title: str,
        project_id: str,
        description: str = "",
        priority: str = "medium",
        *,
        ticket_id: str | None = None,
    ) -> Self:
        """A new open, unassigned ticket in ``project_id``, its creation pending."""
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_LENGTH:
            raise InvalidTicketError(f"a ticket title is 1-{MAX_TITLE_LENGTH} characters")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidTicketError(
                f"a ticket description is at most {MAX_DESCRIPTION_LENGTH} characters"
            )
        for field, text in (("title", title), ("description", description)):
            if (character := control_character_in(text)) is not None:
                raise InvalidTicketError(
                    f"a ticket {field} cannot contain the control character {character}"
                )
        if priority not in PRIORITIES:
            raise InvalidTicketError(
                f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}"
            )
        check_id(project_id, "Project", "project_id")
        ticket = cls(
            check_id(ticket_id, "Ticket", "ticket_id")
            if ticket_id is not None
            else new_id("Ticket")
        )
        ticket._record(
            TicketCreated(
                title=title, description=description, project_id=project_id, priority=priority
            )
        )
        return ticket

    def assign(self, assigned_to: str, assigned_by: str) -> None:
        """Assign the ticket to the user ``assigned_to``, on behalf of the user ``assigned_by``."""
        self._check_exists()
        check_id(assigned_to, "User", "assigned_to")
        check_id(assigned_by, "User", "assigned_by")
        if self.status == "closed":
            raise InvalidTicketError(f"ticket {self.id} is closed: reopen it before assigning it")
        if assigned_to != self.assigned_to:
            self._record(TicketAssigned(assigned_to=assigned_to, assigned_by=assigned_by))

    def change_status(self, new_status: str) -> None:
        """Move to ``new_status`` if the state machine allows it from the current status."""
        self._check_exists()
        if new_status not in TRANSITIONS:
            raise InvalidTicketError(
                f"a ticket status is one of {', '.join(TRANSITIONS)}, not {new_status!r}"
            )
        if new_status not in TRANSITIONS[self.status]:
            raise InvalidTransitionError("Ticket", self.status, new_status)
        self._record(TicketStatusChanged(old_status=self.status, new_status=new_status))

    def _check_exists(self) -> None:
        if self.version == 0:
            raise InvalidTicketError(f"ticket {self.id} does not exist yet")

    def _created(self, event: TicketCreated) -> None:
        self.title = event.title
        self.description = event.description
        self.project_id = event.project_id
        self.priority = event.priority
        self.status = INITIAL_STATUS

    def _assigned(self, event: TicketAssigned) -> None:
        self.assigned_to = event.assigned_to
        self.assigned_by = event.assigned_by

    def _status_changed(self, event: TicketStatusChanged) -> None:
        self.status = event.new_status

    appliers = dispatch_table(
        {TicketCreated: _created, TicketAssigned: _assigned, TicketStatusChanged: _status_changed}
    )
