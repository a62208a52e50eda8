"""What routes depend on: the running services, the authenticated caller, role checks.

Dependencies that do no I/O are ``async def``: FastAPI runs them on the event loop, where a
plain ``def`` would cost a hop to the thread pool and back on every request. The caller's
lookup goes to the pool only when the caller is not remembered (see :mod:`.callers`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from chronicle.chat.read_models import queries
from chronicle.chat.service import Credentials, Writer
from chronicle.chat.service.throttle import Throttle
from chronicle.chat.wiring import ChatContext
from chronicle.errors import InvalidEventError

from .auth import InvalidTokenError, Tokens
from .authors import AuthorCache
from .callers import Caller, CallerCache
from .problems import EventSourcingDisabledError, ForbiddenError, NotAuthenticatedError

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


@dataclass
class Services:
    """Everything the lifespan opens; routes reach it through :func:`services`."""

    chat: ChatContext
    writer: Writer
    credentials: Credentials
    tokens: Tokens
    throttle: Throttle
    callers: CallerCache
    authors: AuthorCache


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


BearerDep = Annotated[str | None, Depends(oauth2)]


async def caller(services: ServicesDep, token: BearerDep) -> Caller:
    """The caller of a valid bearer token; 401 without one, for a user that no longer exists, or
    for a token issued before the user's password or role last changed. A caller seen within
    the last moment is remembered (see :mod:`.callers`): no database read, no thread hop."""
    if not token:
        raise NotAuthenticatedError("this route needs a bearer token: POST /auth/token first")
    bearer = services.tokens.read(token)
    known = services.callers.get(bearer.user_id)
    if known is None:
        known = await run_in_threadpool(_look_up, services, bearer.user_id)
    who, generation = known
    if bearer.generation < generation:
        raise InvalidTokenError(
            "the token was issued before a password or role change: log in again"
        )
    return who


def _look_up(services: Services, user_id: str) -> tuple[Caller, int]:
    epoch = services.callers.epoch
    with services.chat.store.read_session() as session:
        row = queries.user(session, user_id)
        generation = services.credentials.token_generation(session, user_id)
    if row is None:
        raise NotAuthenticatedError("the token's user does not exist")
    who = Caller(row["id"], row["username"], row["role"])
    services.callers.remember(who, generation, epoch)
    return who, generation


CallerDep = Annotated[Caller, Depends(caller)]


def require(*roles: str) -> Callable[[Services, str | None], Awaitable[Caller]]:
    """A dependency that lets only callers with one of ``roles`` through (403 otherwise). It
    finds the caller itself rather than through :data:`CallerDep`: one dependency less for
    FastAPI to resolve on every write."""

    async def check(services: ServicesDep, token: BearerDep) -> Caller:
        who = await caller(services, token)
        if who.role not in roles:
            raise ForbiddenError(
                f"the {who.role} role may not do this (needs {' or '.join(roles)})"
            )
        return who

    return check


Writer_ = Annotated[Caller, Depends(require("member", "admin"))]
Admin = Annotated[Caller, Depends(require("admin"))]
Auditor = Annotated[Caller, Depends(require("auditor", "admin"))]


async def correlation_id(
    x_correlation_id: Annotated[str | None, Header()] = None,
    x_request_id: Annotated[str | None, Header()] = None,
) -> str | None:
    """The caller's X-Correlation-ID (or X-Request-ID), recorded on the events of the request."""
    value = x_correlation_id or x_request_id
    if value is not None and not (0 < len(value) <= 100 and value.isprintable()):
        raise InvalidEventError("X-Correlation-ID / X-Request-ID is 1-100 printable characters")
    return value


CorrelationDep = Annotated[str | None, Depends(correlation_id)]


async def event_sourcing(services: ServicesDep) -> Services:
    """Audit routes need events: 409 when EVENT_SOURCING_ENABLED=false."""
    if not services.chat.settings.enabled:
        raise EventSourcingDisabledError(
            "event sourcing is disabled (EVENT_SOURCING_ENABLED=false): no events are recorded, "
            "so there is no audit trail to read"
        )
    return services


AuditServices = Annotated[Services, Depends(event_sourcing)]
