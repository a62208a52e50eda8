"""Project: given events, when a command, then events or a typed error; its state machine."""

from __future__ import annotations

import pytest

from chronicle.chat.domain import InvalidProjectError, InvalidTransitionError, Project, new_id
from chronicle.chat.domain.events import ProjectCreated, ProjectStatusChanged
from chronicle.chat.domain.project import TRANSITIONS
from chronicle.errors import DomainError

OWNER = new_id("User")
CREATED = ProjectCreated(name="Apollo", description="to the moon", owner_id=OWNER)


def given(*events: object) -> Project:
    return Project.replay(new_id("Project"), events)  # type: ignore[arg-type]


def test_creating_a_project_records_it_as_active() -> None:
    project = Project.create("Apollo", OWNER, "to the moon")
    assert project.id.startswith("project_")
    assert project.pending_events == [CREATED]
    assert project.status == "active"


@pytest.mark.parametrize(
    ("name", "owner_id"),
    [("", OWNER), ("x" * 201, OWNER), ("Apollo", "42"), ("Apollo", new_id("Project"))],
)
def test_a_project_without_a_good_name_or_owner_is_refused(name: str, owner_id: str) -> None:
    with pytest.raises(DomainError):
        Project.create(name, owner_id)


ALLOWED = [(old, new) for old, targets in TRANSITIONS.items() for new in sorted(targets)]
FORBIDDEN = [
    (old, new) for old in TRANSITIONS for new in TRANSITIONS if new not in TRANSITIONS[old]
]


def in_status(status: str) -> Project:
    path = {
        "active": [],
        "on_hold": [("active", "on_hold")],
        "completed": [("active", "completed")],
        "archived": [("active", "archived")],
    }[status]
    return given(CREATED, *(ProjectStatusChanged(old, new) for old, new in path))


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_every_allowed_status_change_is_recorded(old: str, new: str) -> None:
    project = in_status(old)
    project.change_status(new)
    assert project.pending_events == [ProjectStatusChanged(old_status=old, new_status=new)]
    assert project.status == new


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_every_status_change_the_state_machine_forbids_is_refused(old: str, new: str) -> None:
    project = in_status(old)
    with pytest.raises(InvalidTransitionError) as caught:
        project.change_status(new)
    assert (caught.value.old_status, caught.value.new_status) == (old, new)
    assert project.pending_events == [] and project.status == old


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidProjectError, match="paused"):
        given(CREATED).change_status("paused")


def test_a_project_description_with_nul_is_refused() -> None:
    with pytest.raises(InvalidProjectError, match="control character"):
        Project.create("name", new_id("User"), "bad\x00description")
