"""Messages: post, list, read, edit and delete (members edit and delete only their own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from chronicle.chat.domain import Message
from chronicle.chat.read_models import queries
from chronicle.chat.service.writer import Written

from .dependencies import Caller, CallerDep, CorrelationDep, Services, ServicesDep, Writer_
from .params import MessageIdPath, PrintableQuery
from .problems import ForbiddenError, GoneError, InvalidReferenceError, NotFoundError
from .responses import BODY, MessagePage, SeedPosted, problems
from .responses import Message as MessageBody
from .results import written
from .schemas import MAX_VERSION, MessageCreate, MessageEdit

router = APIRouter(tags=["messages"])

IncludeDeleted = Annotated[
    bool, Query(description="Admins only: also deleted messages (the audit trail has them all).")
]


def _post(
    body: MessageCreate, who: Caller, services: Services, correlation: str | None
) -> Written[Message]:
    if body.project_id is not None:
        with services.chat.store.read_session() as session:
            if queries.project(session, body.project_id) is None:
                raise InvalidReferenceError(
                    f"project_id: no project has the id {body.project_id!r}"
                )
    message = Message.create(
        body.content, who.username, body.message_type, project_id=body.project_id
    )
    result = services.writer.create(message, user_id=who.id, correlation_id=correlation)
    services.authors.remember(message.id, who.id)
    return result


@router.post(
    "/messages",
    status_code=201,
    response_model=MessageBody,
    responses=problems(401, 403, 409, *BODY),
)
async def post_message(
    body: MessageCreate, who: Writer_, services: ServicesDep, correlation: CorrelationDep
) -> dict[str, Any]:
    """Post a message as the caller; answers it as ``GET /messages/{id}`` does (version 1)."""
    return written(await run_in_threadpool(_post, body, who, services, correlation))


@router.post(
    "/messages/eventsourced", response_model=SeedPosted, responses=problems(401, 403, 409, *BODY)
)
async def post_message_seed_route(
    body: MessageCreate, who: Writer_, services: ServicesDep, correlation: CorrelationDep
) -> dict[str, Any]:
    """The seed's route: posts a message and answers ``{success, aggregate_id, version}``."""
    result = await run_in_threadpool(_post, body, who, services, correlation)
    return {
        "success": True,
        "aggregate_id": result.aggregate.id,
        "version": result.aggregate.version,
    }


@router.get("/messages", response_model=MessagePage, responses=problems(401, 403, 422))
async def list_messages(
    who: CallerDep,
    services: ServicesDep,
    project_id: PrintableQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
    include_deleted: IncludeDeleted = False,
) -> dict[str, Any]:
    """Live messages, oldest first; pass ``next`` back as ``after`` for the next page.

    Deleted messages are left out; an admin may ask for them with ``include_deleted=true``.
    """
    _may_see_deleted(who, include_deleted)

    def read() -> dict[str, Any]:
        with services.chat.store.read_session() as session:
            items, cursor = queries.messages(
                session, project_id=project_id, after=after, limit=limit, deleted=include_deleted
            )
        return {"items": items, "next": cursor}

    return await run_in_threadpool(read)


@router.get(
    "/messages/{message_id}",
    response_model=MessageBody,
    responses=problems(401, 403, 404, 410, 422),
)
async def read_message(
    who: CallerDep,
    message_id: MessageIdPath,
    services: ServicesDep,
    include_deleted: IncludeDeleted = False,
) -> dict[str, Any]:
    """One message. A deleted one is 410 Gone (its history stays at ``/audit/{id}/history``),
    except for an admin who asks with ``include_deleted=true``."""
    _may_see_deleted(who, include_deleted)
    row = await run_in_threadpool(_message, services, message_id)
    if row is None:
        raise NotFoundError(f"no message has the id {message_id!r}")
    if row["is_deleted"] and not include_deleted:
        raise GoneError(
            f"message {message_id!r} was deleted; auditors read its history at "
            f"/audit/{message_id}/history"
        )
    return row


def _may_see_deleted(who: Caller, include_deleted: bool) -> None:
    if include_deleted and who.role != "admin":
        raise ForbiddenError("only an admin may read deleted messages outside the audit trail")


def _message(services: Services, message_id: str) -> dict[str, Any] | None:
    with services.chat.store.read_session() as session:
        return queries.message(session, message_id)


def _change(
    services: Services,
    who: Caller,
    message_id: str,
    change: Callable[[Message], object],
    *,
    expected_version: int | None,
    correlation: str | None,
) -> Written[Message]:
    """The author's (or an admin's) ``change`` to the message, all of it in one worker thread."""
    _check_author(services, who, message_id)
    return services.writer.change(
        Message,
        message_id,
        change,
        user_id=who.id,
        expected_version=expected_version,
        correlation_id=correlation,
    )


def _check_author(services: Services, who: Caller, message_id: str) -> None:
    """404 for a message never written, 403 when a member is not its author. A message's author
    never changes, so one this process has seen is not read again (see :mod:`.authors`)."""
    author = services.authors.get(message_id)
    if author is None:
        row = _message(services, message_id)
        if row is None:
            raise NotFoundError(f"no message has the id {message_id!r}")
        author = row["author_id"]
        if author is not None:
            services.authors.remember(message_id, author)
    if who.role != "admin" and author != who.id:
        raise ForbiddenError("a member may change only their own messages")


@router.patch(
    "/messages/{message_id}",
    response_model=MessageBody,
    responses=problems(401, 403, 404, 409, *BODY),
)
async def edit_message(
    who: Writer_,
    message_id: MessageIdPath,
    body: MessageEdit,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    """Replace the content (the author, or an admin)."""
    result = await run_in_threadpool(
        _change,
        services,
        who,
        message_id,
        lambda message: message.edit(body.content),
        expected_version=body.expected_version,
        correlation=correlation,
    )
    return written(result)


@router.delete(
    "/messages/{message_id}",
    response_model=MessageBody,
    responses=problems(401, 403, 404, 409, *BODY),
)
async def delete_message(
    who: Writer_,
    message_id: MessageIdPath,
    services: ServicesDep,
    correlation: CorrelationDep,
    expected_version: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
) -> dict[str, Any]:
    """Delete the message (the author, or an admin); its history stays in the audit trail."""
    result = await run_in_threadpool(
        _change,
        services,
        who,
        message_id,
        Message.delete,
        expected_version=expected_version,
        correlation=correlation,
    )
    return written(result)
