"""Audit routes (auditors and admins): history, time travel, event search, export, verification,
and proofs anyone can check offline."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from chronicle.bootstrap import seal_evidence_from
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.chat.domain.ids import ID_SHAPE
from chronicle.chat.wiring import snapshot_check
from chronicle.errors import InvalidEventError, UnknownAggregateError
from chronicle.events import RecordedEvent
from chronicle.history import history, state_at, state_at_version
from chronicle.integrity import audit_public_key, audit_report
from chronicle.integrity.proofs import (
    NotSealedYetError,
    ProofError,
    SealNumberError,
    UnknownEventError,
    consistency_proof_document,
    inclusion_proof_document,
)
from chronicle.store.ports import EventStore

from .dependencies import Auditor, AuditServices
from .params import PrintableQuery
from .problems import problem
from .responses import (
    ConsistencyProof,
    EventPage,
    History,
    InclusionProof,
    PublicKey,
    StateAt,
    VerificationReport,
    problems,
)
from .schemas import MAX_VERSION

router = APIRouter(prefix="/audit", tags=["audit"])

_EXPORT_PAGE = 1000
_CSV_COLUMNS = (
    "position", "event_id", "aggregate_id", "aggregate_type", "event_type", "version",
    "timestamp", "user_id", "schema_version", "data", "metadata", "hash",
)  # fmt: skip

Name = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Instant = Annotated[datetime | None, Query(description="ISO-8601 with a timezone")]
Cursor = Annotated[int | None, Query(ge=0, le=MAX_VERSION)]

AUDIT = (401, 403, 409)
"""Every audit route: no token, a role that may not audit, event sourcing disabled (409)."""

_NDJSON_LINE = (
    "One JSON event per line, as the items of `GET /audit/events` (see the `Event` schema)."
)
EXPORT_CONTENT = {
    "application/x-ndjson": {
        "schema": {"type": "string", "description": _NDJSON_LINE},
        "x-ndjson-item": {"$ref": "#/components/schemas/Event"},
    },
    "text/csv": {
        "schema": {
            "type": "string",
            "description": f"A header row ({', '.join(_CSV_COLUMNS)}), then one row per event; "
            "data and metadata as JSON text.",
        }
    },
}


def _known(aggregate_id: str) -> str:
    if not ID_SHAPE.fullmatch(aggregate_id):
        raise UnknownAggregateError(aggregate_id)
    return aggregate_id


@router.get("/{aggregate_id}/history", response_model=History, responses=problems(*AUDIT, 404))
def aggregate_history(aggregate_id: str, who: Auditor, services: AuditServices) -> dict[str, Any]:
    """Every event of the resource, oldest first: who, when, which event, which fields changed."""
    entries = history(services.chat.store, CHAT_AGGREGATES, _known(aggregate_id))
    return {"aggregate_id": aggregate_id, "events": [entry.to_dict() for entry in entries]}


@router.get("/{aggregate_id}/state", response_model=StateAt, responses=problems(*AUDIT, 404, 422))
def aggregate_state(
    aggregate_id: str,
    who: Auditor,
    services: AuditServices,
    at: Instant = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> dict[str, Any]:
    """The state at an instant (``at``), after a version (``version``), or now (neither)."""
    store = services.chat.store
    _known(aggregate_id)
    if at is not None and version is not None:
        raise InvalidEventError("give either at or version, not both")
    if at is not None:
        if at.utcoffset() is None:
            raise InvalidEventError("at needs a timezone, e.g. 2026-01-01T10:00:00Z")
        return state_at(store, CHAT_AGGREGATES, aggregate_id, at).to_dict()
    return state_at_version(store, CHAT_AGGREGATES, aggregate_id, version).to_dict()


def _filters(
    user_id: str | None,
    aggregate_type: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidEventError(f"{name} needs a timezone, e.g. 2026-01-01T10:00:00Z")
    return {
        "user_id": user_id,
        "aggregate_type": aggregate_type,
        "event_type": event_type,
        "since": since,
        "until": until,
    }


@router.get("/events", response_model=EventPage, responses=problems(*AUDIT, 422))
def search(
    who: Auditor,
    services: AuditServices,
    user_id: PrintableQuery = None,
    aggregate_type: Name = None,
    event_type: Name = None,
    since: Instant = None,
    until: Instant = None,
    after: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """A page of matching events in commit order; pass ``next`` back as ``after``.

    Paging is stable while writes go on: no event is skipped or repeated.
    """
    filters = _filters(user_id, aggregate_type, event_type, since, until)
    page = services.chat.store.search_events(**filters, after=after, limit=limit)
    return {
        "events": [event.to_dict() for event in page],
        "next": page[-1].position if len(page) == limit else None,
    }


def _pages(store: EventStore, filters: dict[str, Any]) -> Iterator[list[RecordedEvent]]:
    after = None
    while page := store.search_events(**filters, after=after, limit=_EXPORT_PAGE):
        yield page
        after = page[-1].position


def _ndjson(pages: Iterator[list[RecordedEvent]]) -> Iterator[bytes]:
    for page in pages:
        yield b"".join(orjson.dumps(event.to_dict()) + b"\n" for event in page)


def _csv(pages: Iterator[list[RecordedEvent]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for page in pages:
        for event in page:
            row = event.to_dict()
            row["data"] = orjson.dumps(row["data"]).decode()
            row["metadata"] = orjson.dumps(row["metadata"]).decode()
            writer.writerow([row[column] for column in _CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "NDJSON (format=ndjson, the default) or CSV (format=csv), streamed.",
            "content": EXPORT_CONTENT,
        },
        **problems(*AUDIT, 422),
    },
)
def export(
    who: Auditor,
    services: AuditServices,
    format: Literal["ndjson", "csv"] = "ndjson",
    user_id: PrintableQuery = None,
    aggregate_type: Name = None,
    event_type: Name = None,
    since: Instant = None,
    until: Instant = None,
) -> StreamingResponse:
    """Every matching event, streamed page by page (constant memory however many there are)."""
    filters = _filters(user_id, aggregate_type, event_type, since, until)
    store = services.chat.store
    store.search_events(**filters, limit=1)  # bad filters fail here, before the stream starts
    if format == "csv":
        return StreamingResponse(
            _csv(_pages(store, filters)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="chronicle-events.csv"'},
        )
    return StreamingResponse(
        _ndjson(_pages(store, filters)),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="chronicle-events.ndjson"'},
    )


@router.get("/verify", response_model=VerificationReport, responses=problems(*AUDIT))
def verify(who: Auditor, services: AuditServices) -> dict[str, Any]:
    """The tamper-evidence report (as ``chronicle verify --json``)."""
    chat = services.chat
    return audit_report(
        chat.store,
        trusted_keys=chat.trusted_keys,
        evidence=seal_evidence_from(chat.settings),
        snapshot_check=snapshot_check(chat.store),
    )


@router.get("/verify/key", response_model=PublicKey, responses=problems(*AUDIT))
def verify_key(who: Auditor, services: AuditServices) -> dict[str, Any]:
    """The public key seals are signed with."""
    return audit_public_key(services.chat.trusted_keys)


SealNumber = Annotated[int, Query(ge=1, le=MAX_VERSION)]

# A proof that cannot be made is the caller's to fix (404, 422) or a state to wait out (409):
# never a 5xx. Looked up along the error's class hierarchy, like the app's own problem table.
_PROOF_PROBLEMS: dict[type[ProofError], tuple[int, str]] = {
    UnknownEventError: (404, "not-found"),
    SealNumberError: (422, "invalid-input"),
    NotSealedYetError: (409, "not-sealed-yet"),
    ProofError: (409, "proof-unavailable"),
}


def _proof(request: Request, make: Callable[[], dict[str, Any]]) -> dict[str, Any] | JSONResponse:
    try:
        return make()
    except ProofError as exc:
        status, slug = next(
            _PROOF_PROBLEMS[cls] for cls in type(exc).__mro__ if cls in _PROOF_PROBLEMS
        )
        return problem(
            status, str(exc), slug=slug, instance=request.url.path, error=type(exc).__name__
        )


@router.get(
    "/events/{event_id}/proof",
    response_model=None,
    responses={200: {"model": InclusionProof}, **problems(*AUDIT, 404, 422)},
)
def event_proof(
    event_id: str,
    request: Request,
    who: Auditor,
    services: AuditServices,
    seal: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> dict[str, Any] | JSONResponse:
    """The proof that the event is in the latest seal's tree (or seal ``seal``'s), to check
    offline with ``chronicle verify-proof`` or any verifier of the README's format."""
    store = services.chat.store
    return _proof(request, lambda: inclusion_proof_document(store, event_id, seal))


@router.get(
    "/seals/consistency",
    response_model=None,
    responses={200: {"model": ConsistencyProof}, **problems(*AUDIT, 422)},
)
def seals_consistency(
    request: Request,
    who: Auditor,
    services: AuditServices,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to: SealNumber,
) -> dict[str, Any] | JSONResponse:
    """The proof that seal ``to``'s tree extends seal ``from``'s (the log only grew)."""
    store = services.chat.store
    return _proof(request, lambda: consistency_proof_document(store, from_, to))
