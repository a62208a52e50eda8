"""Logging in and managing users: ``/auth/token``, ``/users``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from chronicle.chat.read_models import queries
from chronicle.chat.service.accounts import create_user, update_user
from chronicle.chat.service.erasure import erase_user

from .auth import InvalidCredentialsError
from .dependencies import Admin, Caller, CallerDep, CorrelationDep, Services, ServicesDep
from .params import UserIdPath
from .problems import ForbiddenError, NotFoundError
from .responses import BODY, ErasureDone, Token, User, problems
from .results import written
from .schemas import Erasure, UserCreate, UserUpdate

router = APIRouter(tags=["users"])


@router.post("/auth/token", response_model=Token, responses=problems(401, 413, 422, 429))
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, services: ServicesDep
) -> dict[str, str | int]:
    """Exchange a username and password (OAuth2 password form) for a bearer token.

    ``expires_in`` is the token's lifetime in seconds (RFC 6749 §5.1). Repeated failures for an
    account or from an address are answered 429 with ``Retry-After`` for a while (see
    ``chronicle.chat.service.throttle``), whatever the password.
    """
    address = request.client.host if request.client is not None else "unknown"
    return await run_in_threadpool(_log_in, services, form.username, form.password, address)


def _log_in(services: Services, username: str, password: str, address: str) -> dict[str, str | int]:
    attempt = services.throttle.admit(username, address)
    found = services.credentials.authenticate(username, password)  # argon2: CPU off the loop
    if found is None:
        raise InvalidCredentialsError("wrong username or password")
    services.throttle.succeeded(attempt)
    return {
        "access_token": services.tokens.issue(found.user_id, found.token_generation),
        "token_type": "bearer",
        "expires_in": services.tokens.minutes * 60,
    }


@router.post(
    "/users", status_code=201, response_model=User, responses=problems(401, 403, 409, *BODY)
)
async def create(
    body: UserCreate, who: Admin, services: ServicesDep, correlation: CorrelationDep
) -> dict[str, Any]:
    """Create a user who can log in (admin only). The password never enters an event."""
    result = await run_in_threadpool(
        create_user,
        services.writer,
        services.credentials,
        username=body.username,
        email=body.email,
        role=body.role,
        password=body.password,
        created_by=who.id,
        correlation_id=correlation,
    )
    return written(result)


@router.get("/users/me", response_model=User, responses=problems(401))
async def me(who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """The caller's own user."""
    return await run_in_threadpool(_user, services, who.id)


@router.get("/users/{user_id}", response_model=User, responses=problems(401, 403, 404))
async def read(who: CallerDep, user_id: UserIdPath, services: ServicesDep) -> dict[str, Any]:
    """A user (admins and auditors read anyone; others only themselves)."""
    if who.role == "member" and who.id != user_id:
        raise ForbiddenError("a member may read only their own user")
    return await run_in_threadpool(_user, services, user_id)


@router.patch(
    "/users/{user_id}", response_model=User, responses=problems(401, 403, 404, 409, *BODY)
)
async def update(
    who: CallerDep,
    user_id: UserIdPath,
    body: UserUpdate,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    """Change a user. Admins change anyone and any field; others their own username, email and
    password only."""
    if who.role != "admin" and (who.id != user_id or body.role is not None):
        raise ForbiddenError("only an admin changes roles or other users")
    return await run_in_threadpool(_update, services, who, user_id, body, correlation)


def _update(
    services: Services, who: Caller, user_id: str, body: UserUpdate, correlation: str | None
) -> dict[str, Any]:
    _user(services, user_id)
    updates = body.model_dump(exclude_none=True, exclude={"password", "expected_version"})
    try:
        if updates or body.expected_version is not None:
            result = update_user(
                services.writer,
                services.credentials,
                user_id,
                updates,
                acting_user=who.id,
                expected_version=body.expected_version,
                correlation_id=correlation,
            )
        if body.password is not None:
            services.credentials.set_password(user_id, body.password)
    finally:
        services.callers.forget(user_id)  # committed (or not): the next request reads them
    if updates or body.expected_version is not None:
        return written(result)
    return _user(services, user_id)


@router.post(
    "/users/{user_id}/erasure",
    response_model=ErasureDone,
    responses=problems(401, 403, 404, 409, 503, *BODY),
)
async def erase(
    who: Admin,
    user_id: UserIdPath,
    body: Erasure,
    services: ServicesDep,
    correlation: CorrelationDep,
) -> dict[str, Any]:
    """Erase a user's personal data (admin only): their data keys are destroyed, so their
    username, email and messages read as ``[erased on DATE]`` everywhere, while every hash,
    seal and proof still verifies. A ``PersonalDataErased`` event records who, when and why.
    409 when the user was erased already or a legal hold covers them or their data (the
    problem's ``hold_id`` names it); running it again completes an erasure that was cut short.
    """
    try:
        result = await run_in_threadpool(
            erase_user,
            services.chat,
            user_id,
            reason=body.reason,
            erased_by=who.id,
            correlation_id=correlation,
        )
    finally:
        services.callers.forget(user_id)
    return result.to_dict()


def _user(services: Services, user_id: str) -> dict[str, Any]:
    with services.chat.store.read_session() as session:
        row = queries.user(session, user_id)
    if row is None:
        raise NotFoundError(f"no user has the id {user_id!r}")
    return row
