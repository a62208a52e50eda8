"""What routes depend on: the running services, the authenticated caller, role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from chronicle.chat.read_models import queries
from chronicle.chat.service import Credentials, Writer
from chronicle.chat.service.throttle import Throttle
from chronicle.chat.wiring import ChatContext
from chronicle.errors import InvalidEventError

from .auth import InvalidTokenError, Tokens
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


@dataclass(frozen=True)
class Caller:
    """The authenticated user making the request, as the users read model knows them now."""

    id: str
    username: str
    role: str


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def caller(services: ServicesDep, token: Annotated[str | None, Depends(oauth2)]) -> Caller:
    """The caller of a valid bearer token; 401 without one, for a user that no longer exists, or
    for a token issued before the user's password or role last changed."""
    if not token:
        raise NotAuthenticatedError("this route needs a bearer token: POST /auth/token first")
    bearer = services.tokens.read(token)
    with services.chat.store.read_session() as session:
        row = queries.user(session, bearer.user_id)
        generation = services.credentials.token_generation(session, bearer.user_id)
    if row is None:
        raise NotAuthenticatedError("the token's user does not exist")
    if bearer.generation < generation:
        raise InvalidTokenError(
            "the token was issued before a password or role change: log in again"
        )
    return Caller(row["id"], row["username"], row["role"])


CallerDep = Annotated[Caller, Depends(caller)]


def require(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency that lets only callers with one of ``roles`` through (403 otherwise)."""

    def check(who: CallerDep) -> Caller:
        if who.role not in roles:
            raise ForbiddenError(
                f"the {who.role} role may not do this (needs {' or '.join(roles)})"
            )
        return who

    return check


Writer_ = Annotated[Caller, Depends(require("member", "admin"))]
Admin = Annotated[Caller, Depends(require("admin"))]
Auditor = Annotated[Caller, Depends(require("auditor", "admin"))]


def correlation_id(
    x_correlation_id: Annotated[str | None, Header()] = None,
    x_request_id: Annotated[str | None, Header()] = None,
) -> str | None:
    """The caller's X-Correlation-ID (or X-Request-ID), recorded on the events of the request."""
    value = x_correlation_id or x_request_id
    if value is not None and not (0 < len(value) <= 100 and value.isprintable()):
        raise InvalidEventError("X-Correlation-ID / X-Request-ID is 1-100 printable characters")
    return value


CorrelationDep = Annotated[str | None, Depends(correlation_id)]


def event_sourcing(services: ServicesDep) -> Services:
    """Audit routes need events: 409 when EVENT_SOURCING_ENABLED=false."""
    if not services.chat.settings.enabled:
        raise EventSourcingDisabledError(
            "event sourcing is disabled (EVENT_SOURCING_ENABLED=false): no events are recorded, "
            "so there is no audit trail to read"
        )
    return services


AuditServices = Annotated[Services, Depends(event_sourcing)]
