"""Every error as ``application/problem+json`` (RFC 9457), mapped from Chronicle's typed errors.

The mapping is a table keyed by error class, looked up along the raised error's class hierarchy,
so a new error subclass inherits its family's status without another branch.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chronicle.chat.service.throttle import TooManyAttemptsError
from chronicle.errors import (
    AggregateTypeError,
    ArchivedHistoryError,
    ChronicleError,
    ConcurrencyError,
    DomainError,
    ErasureRefusedError,
    EventTooLargeError,
    HoldNotFoundError,
    InvalidEventError,
    RetentionRefusedError,
    StoreUnavailableError,
    SubjectErasedError,
    UnknownAggregateError,
    UnsupportedOperationError,
)
from chronicle.retention.archive import ArchiveError

from .auth import InvalidCredentialsError, InvalidTokenError

log = logging.getLogger("chronicle.api")

MEDIA_TYPE = "application/problem+json"


class NotAuthenticatedError(ChronicleError):
    """The request carries no bearer token."""


class ForbiddenError(ChronicleError):
    """The caller's role, or their ownership of the resource, does not allow this."""


class NotFoundError(ChronicleError):
    """No resource has this id."""


class GoneError(ChronicleError):
    """The resource existed and was deleted; its history stays in the audit trail."""


class InvalidReferenceError(ChronicleError):
    """A field names another resource (a project, a user) that does not exist."""


class EventSourcingDisabledError(ChronicleError):
    """EVENT_SOURCING_ENABLED=false: no events are recorded, so there is no audit trail."""


class BodyTooLargeError(ChronicleError):
    """The request body is larger than the service accepts."""


_PROBLEMS: dict[type[BaseException], tuple[int, str]] = {
    NotAuthenticatedError: (401, "not-authenticated"),
    InvalidTokenError: (401, "invalid-token"),
    InvalidCredentialsError: (401, "invalid-credentials"),
    ForbiddenError: (403, "forbidden"),
    NotFoundError: (404, "not-found"),
    GoneError: (410, "gone"),
    ArchivedHistoryError: (410, "archived"),
    ArchiveError: (409, "archive-unavailable"),
    UnknownAggregateError: (404, "not-found"),
    AggregateTypeError: (404, "not-found"),
    HoldNotFoundError: (404, "not-found"),
    ConcurrencyError: (409, "concurrency-conflict"),
    DomainError: (409, "rule-refused"),
    EventSourcingDisabledError: (409, "event-sourcing-disabled"),
    RetentionRefusedError: (409, "retention-refused"),
    ErasureRefusedError: (409, "erasure-refused"),
    SubjectErasedError: (409, "personal-data-erased"),
    UnsupportedOperationError: (409, "unsupported-by-backend"),
    BodyTooLargeError: (413, "body-too-large"),
    EventTooLargeError: (413, "event-too-large"),
    InvalidEventError: (422, "invalid-input"),
    InvalidReferenceError: (422, "invalid-reference"),
    TooManyAttemptsError: (429, "too-many-attempts"),
    StoreUnavailableError: (503, "store-unavailable"),
    ChronicleError: (500, "internal-error"),
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem response; ``slug`` names the problem type (``urn:chronicle:problem:<slug>``)."""
    body: dict[str, Any] = {
        "type": f"urn:chronicle:problem:{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _status_of(exc: BaseException) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in _PROBLEMS:
            return _PROBLEMS[cls]
    return 500, "internal-error"


def chronicle_problem(request: Request, exc: Exception) -> JSONResponse:
    status, slug = _status_of(exc)
    extensions: dict[str, Any] = {"error": type(exc).__name__}
    headers = None
    if isinstance(exc, ConcurrencyError):
        extensions |= {
            "aggregate_id": exc.aggregate_id,
            "expected_version": exc.expected_version,
            "actual_version": exc.actual_version,
        }
    if isinstance(exc, ErasureRefusedError) and exc.hold_id is not None:
        extensions["hold_id"] = exc.hold_id
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyAttemptsError):
        extensions["retry_after"] = exc.retry_after
        headers = {"Retry-After": str(exc.retry_after)}
    if status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    detail = str(exc) if status < 500 or status == 503 else "the service failed; see its log"
    return problem(
        status, detail, slug=slug, instance=request.url.path, headers=headers, **extensions
    )


def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in errors[:5]
    )
    return problem(
        422, summary or "invalid request", slug="invalid-input", instance=request.url.path,
        errors=errors,
    )  # fmt: skip


def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(
        exc.status_code, detail, instance=request.url.path, headers=dict(exc.headers or {})
    )


def install(app: FastAPI) -> None:
    """Answer every error raised in ``app`` as a problem."""
    app.add_exception_handler(ChronicleError, chronicle_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
