"""Audit routes (auditors and admins): history, time travel (of one aggregate or a whole project),
comparison of two versions, event search, export, verification, and proofs anyone can check
offline.

Every event and history entry names its actor as recorded then (:mod:`chronicle.chat.actors`,
built once per request from the User aggregates' events); edited text fields carry a word-level
``diff`` (:mod:`chronicle.word_diff`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator

from chronicle.bootstrap import archive_root, seal_evidence_from
from chronicle.chat.actors import Actors
from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.chat.domain.ids import ID_SHAPE
from chronicle.chat.project_at import project_at
from chronicle.chat.wiring import audit_checks
from chronicle.errors import AggregateNotYetCreatedError, InvalidEventError, UnknownAggregateError
from chronicle.events import RecordedEvent
from chronicle.history import archived_up_to, compare, history, state_at, state_at_version
from chronicle.integrity import audit_public_key, audit_report
from chronicle.integrity.proofs import (
    NotSealedYetError,
    ProofError,
    SealNumberError,
    UnknownEventError,
    consistency_proof_document,
    inclusion_proof_document,
)
from chronicle.retention.history import whole_history
from chronicle.store.ports import EventStore

from .dependencies import Auditor, AuditServices
from .event_search import EventQuery, shown_page
from .params import PrintableQuery, ProjectIdPath, printable
from .problems import problem
from .responses import (
    Comparison,
    ConsistencyProof,
    EventPage,
    History,
    InclusionProof,
    ProjectAt,
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
    "timestamp", "user_id", "username", "role", "schema_version", "data", "metadata", "hash",
)  # fmt: skip
TEXT_FIELDS = ("content", "name", "title", "description")
"""The chat aggregates' free-text fields: their edits carry a word-level diff."""

Name = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Instant = Annotated[datetime | None, Query(description="ISO-8601 with a timezone")]
Cursor = Annotated[int | None, Query(ge=0, le=MAX_VERSION)]
Version = Annotated[int, Query(ge=1, le=MAX_VERSION)]
Username = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="A username as recorded at the time: every user id that had it (or a "
        "``system:*`` actor).",
    ),
    AfterValidator(printable),
]

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


@router.get(
    "/{aggregate_id}/history", response_model=History, responses=problems(*AUDIT, 404, 409, 410)
)
def aggregate_history(
    aggregate_id: str,
    who: Auditor,
    services: AuditServices,
    include_archive: Annotated[
        bool,
        Query(description="Begin with the events retention moved to the archive folder."),
    ] = False,
) -> dict[str, Any]:
    """Every event of the resource, oldest first: who (by name, as recorded then), when, which
    event, which fields changed (text fields with a word-level ``diff``). After retention the
    store's history starts at ``hot_from_version``; ``include_archive=true`` reads the versions
    before it from the archive (409 when the archive folder is not there)."""
    store = services.chat.store
    known = _known(aggregate_id)
    hot_from = archived_up_to(store, known) + 1
    if include_archive:
        root, _ = archive_root(services.chat.settings)
        whole = whole_history(store, CHAT_AGGREGATES, known, root, TEXT_FIELDS)
        entries, sources = whole.entries, whole.sources
    else:
        entries = history(store, CHAT_AGGREGATES, known, TEXT_FIELDS)
        sources = ["store"] * len(entries)
    actors = Actors.of(store)
    actors.read(entry.user_id for entry in entries)
    return {
        "aggregate_id": aggregate_id,
        "hot_from_version": hot_from,
        "events": [
            {
                **entry.to_dict(),
                "actor": actors.actor(entry.user_id, entry.position),
                "changes": [{"diff": None, **change.to_dict()} for change in entry.changes],
                "source": source,
            }
            for entry, source in zip(entries, sources, strict=True)
        ],
    }


@router.get(
    "/{aggregate_id}/compare", response_model=Comparison, responses=problems(*AUDIT, 404, 410, 422)
)
def aggregate_compare(
    aggregate_id: str,
    who: Auditor,
    services: AuditServices,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to: Version,
) -> dict[str, Any]:
    """The states after versions ``from`` and ``to`` and each field that differs between them
    (text fields with a word-level ``diff``); either order. A version the aggregate does not
    have answers 422."""
    store = services.chat.store
    comparison = compare(store, CHAT_AGGREGATES, _known(aggregate_id), from_, to, TEXT_FIELDS)
    body = comparison.to_dict()
    body["changes"] = [{"diff": None, **change} for change in body["changes"]]
    return body


@router.get(
    "/projects/{project_id}/at", response_model=ProjectAt, responses=problems(*AUDIT, 404, 410, 422)
)
def project_at_instant(
    project_id: ProjectIdPath,
    who: Auditor,
    services: AuditServices,
    at: Annotated[datetime, Query(description="ISO-8601 with a timezone")],
) -> dict[str, Any]:
    """The project as it was at ``at``: its state, its tickets (status, assignee) and its
    messages (as they read then, deleted ones marked), rebuilt from the log.

    An instant before the project existed answers 422. The tickets and messages are found by
    one pass over the TicketCreated and MessageCreated events up to the instant, and each is
    rebuilt on its own: the time grows with the number of tickets and messages ever created.
    """
    if at.utcoffset() is None:
        raise InvalidEventError("at needs a timezone, e.g. 2026-01-01T10:00:00Z")
    try:
        return project_at(services.chat.store, project_id, at)
    except AggregateNotYetCreatedError as exc:
        raise InvalidEventError(str(exc)) from exc


@router.get(
    "/{aggregate_id}/state", response_model=StateAt, responses=problems(*AUDIT, 404, 410, 422)
)
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


ContentQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Message content holding this text (case-insensitive), in MessageCreated "
        "and MessageUpdated events. No index: each page reads at most 10,000 events, and a page "
        "cut short by that limit still has a ``next``.",
    ),
    AfterValidator(printable),
]


CorrelationQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Every event one request or command caused: those whose metadata names "
        "this correlation id (a history entry's ``correlation_id``). No index: a bounded scan, "
        "as ``q``; narrow it with ``since`` and ``until``.",
    ),
    AfterValidator(printable),
]


Order = Annotated[
    Literal["oldest", "newest"],
    Query(
        description="``oldest``: commit order; ``newest``: newest first, the later pages older "
        "(events the first page could not see yet are the next first page's)."
    ),
]


def _query(
    actors: Actors,
    user_id: str | None,
    user: str | None,
    aggregate_type: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    q: str | None,
    correlation_id: str | None,
    order: Order,
) -> EventQuery:
    return EventQuery.of(
        actors, user_id=user_id, user=user, aggregate_type=aggregate_type,
        event_type=event_type, since=since, until=until, q=q, correlation_id=correlation_id,
        newest_first=order == "newest",
    )  # fmt: skip


@router.get("/events", response_model=EventPage, responses=problems(*AUDIT, 422))
def search(
    who: Auditor,
    services: AuditServices,
    user_id: PrintableQuery = None,
    user: Username = None,
    aggregate_type: Name = None,
    event_type: Name = None,
    since: Instant = None,
    until: Instant = None,
    q: ContentQuery = None,
    correlation_id: CorrelationQuery = None,
    order: Order = "oldest",
    after: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """A page of matching events in commit order (``order=newest``: newest first); pass
    ``next`` back as ``after``.

    Paging is stable while writes go on: no event is skipped or repeated. ``user`` filters by
    username as recorded when the events happened (every user id that ever had that name;
    with ``user_id`` too, both must hold); ``q`` searches message content and
    ``correlation_id`` finds what one request caused (bounded scans, see
    :mod:`chronicle.chat.api.event_search`). Each event names its actor as recorded then.
    """
    store = services.chat.store
    actors = Actors.of(store)
    query = _query(
        actors, user_id, user, aggregate_type, event_type, since, until, q, correlation_id, order
    )
    page, cursor = query.page(store, after, limit)
    return {"events": shown_page(page, actors), "next": cursor}


def _pages(store: EventStore, query: EventQuery) -> Iterator[list[RecordedEvent]]:
    after: int | None = None
    while True:
        page, after = query.page(store, after, _EXPORT_PAGE)
        if page:
            yield page
        if after is None:
            return


def _ndjson(pages: Iterator[list[RecordedEvent]], actors: Actors) -> Iterator[bytes]:
    for page in pages:
        yield b"".join(orjson.dumps(row) + b"\n" for row in shown_page(page, actors))


def _csv(pages: Iterator[list[RecordedEvent]], actors: Actors) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for page in pages:
        for row in shown_page(page, actors):
            row["username"], row["role"] = row["actor"]["username"], row["actor"]["role"]
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
    user: Username = None,
    aggregate_type: Name = None,
    event_type: Name = None,
    since: Instant = None,
    until: Instant = None,
    q: ContentQuery = None,
    correlation_id: CorrelationQuery = None,
) -> StreamingResponse:
    """Every matching event in commit order (what ``chronicle import`` reads), streamed page by
    page (constant memory however many there are); the filters are those of
    ``GET /audit/events``."""
    store = services.chat.store
    actors = Actors.of(store)
    query = _query(
        actors, user_id, user, aggregate_type, event_type, since, until, q, correlation_id, "oldest"
    )
    query.check(store)  # bad filters fail here, before the stream starts
    if format == "csv":
        return StreamingResponse(
            _csv(_pages(store, query), actors),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="chronicle-events.csv"'},
        )
    return StreamingResponse(
        _ndjson(_pages(store, query), actors),
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
        snapshot_check=audit_checks(chat.store, chat.settings),
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
