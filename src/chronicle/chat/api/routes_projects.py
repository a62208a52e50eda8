"""Projects (admins create them and change their status) and tickets (members and admins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from chronicle.chat.domain import Project, Ticket
from chronicle.chat.read_models import queries
from chronicle.chat.service.writer import Written

from .dependencies import Admin, CallerDep, CorrelationDep, Services, ServicesDep, Writer_
from .params import ProjectIdPath, TicketIdPath
from .problems import InvalidReferenceError, NotFoundError
from .responses import BODY, problems
from .responses import Project as ProjectBody
from .responses import Ticket as TicketBody
from .results import written
from .schemas import ProjectCreate, ProjectStatus, TicketAssign, TicketCreate, TicketStatus

router = APIRouter()


@router.post(
    "/projects",
    status_code=201,
    tags=["projects"],
    response_model=ProjectBody,
    responses=problems(401, 403, 409, *BODY),
)
async def create_project(
    body: ProjectCreate, who: Admin, services: ServicesDep, correlation: CorrelationDep
) -> dict[str, Any]:
    project = Project.create(body.name, who.id, body.description)
    return written(
        await run_in_threadpool(
            services.writer.create, project, user_id=who.id, correlation_id=correlation
        )
    )


@router.get(
    "/projects/{project_id}",
    tags=["projects"],
    response_model=ProjectBody,
    responses=problems(401, 404),
)
async def read_project(
    who: CallerDep, project_id: ProjectIdPath, services: ServicesDep
) -> dict[str, Any]:
    row = await run_in_threadpool(_read, services, queries.project, project_id)
    if row is None:
        raise NotFoundError(f"no project has the id {project_id!r}")
    return row


@router.post(
    "/projects/{project_id}/status",
    tags=["projects"],
    response_model=ProjectBody,
    responses=problems(401, 403, 404, 409, *BODY),
)
async def change_project_status(
    who: Admin,
    project_id: ProjectIdPath,
    body: ProjectStatus,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    """Move the project along its state machine (409 for a change it does not allow)."""
    result = await run_in_threadpool(
        services.writer.change,
        Project,
        project_id,
        lambda project: project.change_status(body.status),
        user_id=who.id,
        expected_version=body.expected_version,
        correlation_id=correlation,
    )
    return written(result)


@router.post(
    "/tickets",
    status_code=201,
    tags=["tickets"],
    response_model=TicketBody,
    responses=problems(401, 403, 409, *BODY),
)
async def create_ticket(
    body: TicketCreate, who: Writer_, services: ServicesDep, correlation: CorrelationDep
) -> dict[str, Any]:
    def create() -> Written[Ticket]:
        if _read(services, queries.project, body.project_id) is None:
            raise InvalidReferenceError(f"project_id: no project has the id {body.project_id!r}")
        ticket = Ticket.create(body.title, body.project_id, body.description, body.priority)
        return services.writer.create(ticket, user_id=who.id, correlation_id=correlation)

    return written(await run_in_threadpool(create))


@router.get(
    "/tickets/{ticket_id}",
    tags=["tickets"],
    response_model=TicketBody,
    responses=problems(401, 404),
)
async def read_ticket(
    who: CallerDep, ticket_id: TicketIdPath, services: ServicesDep
) -> dict[str, Any]:
    row = await run_in_threadpool(_read, services, queries.ticket, ticket_id)
    if row is None:
        raise NotFoundError(f"no ticket has the id {ticket_id!r}")
    return row


@router.post(
    "/tickets/{ticket_id}/assign",
    tags=["tickets"],
    response_model=TicketBody,
    responses=problems(401, 403, 404, 409, *BODY),
)
async def assign_ticket(
    who: Writer_,
    ticket_id: TicketIdPath,
    body: TicketAssign,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    def assign() -> Written[Ticket]:
        if _read(services, queries.user, body.assigned_to) is None:
            raise InvalidReferenceError(f"assigned_to: no user has the id {body.assigned_to!r}")
        return services.writer.change(
            Ticket,
            ticket_id,
            lambda ticket: ticket.assign(body.assigned_to, who.id),
            user_id=who.id,
            expected_version=body.expected_version,
            correlation_id=correlation,
        )

    return written(await run_in_threadpool(assign))


@router.post(
    "/tickets/{ticket_id}/status",
    tags=["tickets"],
    response_model=TicketBody,
    responses=problems(401, 403, 404, 409, *BODY),
)
async def change_ticket_status(
    who: Writer_,
    ticket_id: TicketIdPath,
    body: TicketStatus,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    result = await run_in_threadpool(
        services.writer.change,
        Ticket,
        ticket_id,
        lambda ticket: ticket.change_status(body.status),
        user_id=who.id,
        expected_version=body.expected_version,
        correlation_id=correlation,
    )
    return written(result)


def _read(
    services: Services, query: Callable[[Any, str], dict[str, Any] | None], row_id: str
) -> dict[str, Any] | None:
    """One read-model row by id, in a read session of its own (in a worker thread)."""
    with services.chat.store.read_session() as session:
        return query(session, row_id)
