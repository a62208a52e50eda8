"""Ticket: given events, when a command, then events or a typed error; its state machine."""

from __future__ import annotations

import pytest

from chronicle.chat.domain import InvalidTicketError, InvalidTransitionError, Ticket, new_id
from chronicle.chat.domain.events import TicketAssigned, TicketCreated, TicketStatusChanged
from chronicle.chat.domain.ticket import TRANSITIONS
from chronicle.errors import DomainError

PROJECT = new_id("Project")
ALICE, BOB = new_id("User"), new_id("User")
CREATED = TicketCreated(title="Bug", description="it breaks", project_id=PROJECT, priority="high")


def given(*events: object) -> Ticket:
    return Ticket.replay(new_id("Ticket"), events)  # type: ignore[arg-type]


def in_status(status: str) -> Ticket:
    path = {
        "open": [],
        "in_progress": [("open", "in_progress")],
        "resolved": [("open", "in_progress"), ("in_progress", "resolved")],
        "closed": [("open", "closed")],
    }[status]
    return given(CREATED, *(TicketStatusChanged(old, new) for old, new in path))


def test_creating_a_ticket_records_it_open_and_unassigned() -> None:
    ticket = Ticket.create("Bug", PROJECT, "it breaks", "high")
    assert ticket.id.startswith("ticket_")
    assert ticket.pending_events == [CREATED]
    assert ticket.status == "open" and ticket.assigned_to is None


@pytest.mark.parametrize(
    ("title", "project_id", "priority"),
    [("", PROJECT, "low"), ("Bug", PROJECT, "urgent"), ("Bug", ALICE, "low")],
)
def test_a_ticket_with_a_bad_title_priority_or_project_is_refused(
    title: str, project_id: str, priority: str
) -> None:
    with pytest.raises(DomainError):
        Ticket.create(title, project_id, priority=priority)


def test_assigning_a_ticket_records_who_assigned_it_to_whom() -> None:
    ticket = given(CREATED)
    ticket.assign(BOB, ALICE)
    assert ticket.pending_events == [TicketAssigned(assigned_to=BOB, assigned_by=ALICE)]
    assert (ticket.assigned_to, ticket.assigned_by) == (BOB, ALICE)


def test_assigning_a_ticket_to_its_current_assignee_records_nothing() -> None:
    ticket = given(CREATED, TicketAssigned(assigned_to=BOB, assigned_by=ALICE))
    ticket.assign(BOB, BOB)
    assert ticket.pending_events == []


def test_a_closed_ticket_cannot_be_assigned() -> None:
    ticket = in_status("closed")
    with pytest.raises(InvalidTicketError, match="closed"):
        ticket.assign(BOB, ALICE)
    assert ticket.pending_events == []


def test_a_ticket_cannot_be_assigned_to_something_that_is_not_a_user() -> None:
    with pytest.raises(DomainError):
        given(CREATED).assign(PROJECT, ALICE)


ALLOWED = [(old, new) for old, targets in TRANSITIONS.items() for new in sorted(targets)]
FORBIDDEN = [
    (old, new) for old in TRANSITIONS for new in TRANSITIONS if new not in TRANSITIONS[old]
]


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_every_allowed_status_change_is_recorded(old: str, new: str) -> None:
    ticket = in_status(old)
    ticket.change_status(new)
    assert ticket.pending_events == [TicketStatusChanged(old_status=old, new_status=new)]


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_every_status_change_the_state_machine_forbids_is_refused(old: str, new: str) -> None:
    ticket = in_status(old)
    with pytest.raises(InvalidTransitionError):
        ticket.change_status(new)
    assert ticket.pending_events == [] and ticket.status == old


def test_a_ticket_title_with_nul_is_refused() -> None:
    with pytest.raises(InvalidTicketError, match="control character U\\+0000"):
        Ticket.create("bad\x00title", new_id("Project"))
