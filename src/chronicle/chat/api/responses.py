"""Response bodies: one model per resource, the same on every route that answers it.

A resource answers the fields of its read-model row on ``POST``, ``PATCH`` and ``GET`` alike
(``results.written`` makes a write answer that shape). Errors are RFC 9457 problems
(:class:`Problem`, ``application/problem+json``); :func:`problems` documents the statuses a route
can answer. Audit documents whose shape belongs to the integrity layer (the verification report,
proofs) declare their main fields and allow more.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .problems import MEDIA_TYPE

Timestamp = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-01-01T10:00:00.000000Z"])
]
"""A UTC instant as the store writes it: microseconds and a ``Z`` suffix."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Document(BaseModel):
    """A document whose shape another layer owns: the fields listed, and possibly more."""

    model_config = ConfigDict(extra="allow")


class ErasureDone(Model):
    """What an erasure did: whose data, when, the keys it destroyed, the aggregates that held
    the data, and the position of its ``PersonalDataErased`` event."""

    subject: str
    erased_on: str = Field(examples=["2026-12-01"])
    key_ids: list[str]
    aggregates: list[str]
    position: int | None
    completed_earlier_run: bool = Field(
        description="True when this call finished an erasure recorded by an earlier one."
    )


# -- errors ---------------------------------------------------------------------------------------


class FieldError(BaseModel):
    """One invalid part of a request (a 422's ``errors``)."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then names.")
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem, sent as ``application/problem+json`` for every error."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="``urn:chronicle:problem:<slug>``, or ``about:blank``.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="The path of the request that failed.")
    error: str | None = Field(None, description="The name of the error raised.")
    errors: list[FieldError] | None = Field(None, description="On a 422: every invalid part.")
    aggregate_id: str | None = Field(None, description="On a concurrency conflict (409).")
    expected_version: int | None = Field(None, description="On a concurrency conflict (409).")
    actual_version: int | None = Field(None, description="On a concurrency conflict (409).")


PROBLEM_REF = "#/components/schemas/Problem"

_WHEN = {
    400: "The body is not strict JSON (malformed, not UTF-8, a key given twice, NaN).",
    401: "No bearer token, or a bad or expired one (or a wrong password).",
    403: "The caller's role, or their ownership of the resource, does not allow this.",
    404: "No resource has this id.",
    409: "A stale expected_version, or a change the domain refuses.",
    410: "The resource was deleted; its history stays in the audit trail.",
    413: "The body is larger than the service accepts.",
    415: "The body is not sent as application/json.",
    422: "Invalid fields, or a reference to a resource that does not exist.",
    429: "Too many attempts: wait for Retry-After seconds.",
    503: "The store is unreachable.",
}

BODY = (400, 413, 415, 422)
"""What any request with a JSON body can be answered."""


_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route that can answer these statuses with a problem (and 503)."""
    return {
        status: {
            "description": _WHEN.get(status, HTTPStatus(status).phrase),
            "content": {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in sorted({*statuses, 503})
    }


# -- resources ------------------------------------------------------------------------------------
# The fields with a fixed set of values are named enums (not inline ones), so that a client
# generator names each once and no name clashes with a request body's (``TicketStatus``).


class Role(StrEnum):
    MEMBER = "member"
    AUDITOR = "auditor"
    ADMIN = "admin"


class MessageType(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    CODE = "code"
    SYSTEM = "system"


class ProjectState(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class TicketState(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Resource(Model):
    id: str
    version: int = Field(description="The number of events the resource has; send it back as "
                         "expected_version to refuse a write made on a stale read.")  # fmt: skip
    created_at: Timestamp
    updated_at: Timestamp


class User(Resource):
    username: str
    email: str
    role: Role


class Message(Resource):
    content: str
    username: str = Field(description="The author's username when the message was posted.")
    message_type: MessageType
    project_id: str | None
    mentions: list[str]
    author_id: str | None = Field(description="The id of the user who posted it.")
    edit_count: int
    is_deleted: bool


class Project(Resource):
    name: str
    description: str
    owner_id: str
    status: ProjectState


class Ticket(Resource):
    title: str
    description: str
    project_id: str
    priority: Priority
    status: TicketState
    assigned_to: str | None
    assigned_by: str | None


class MessagePage(Model):
    items: list[Message]
    next: int | None = Field(description="Pass back as ``after`` for the next page; null: last.")


class Token(Model):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="The token's lifetime in seconds (RFC 6749 §5.1).")


class SeedPosted(Model):
    """The seed's answer to ``POST /messages/eventsourced``."""

    success: bool
    aggregate_id: str
    version: int


# -- audit ----------------------------------------------------------------------------------------


class Actor(Model):
    """Who caused an event, by name as recorded when it happened (from the log, not from
    today's users): a later rename does not change it. ``system:*`` actors are ``system``, with
    the actor as their username; an id no user event names has a null username."""

    user_id: str | None
    username: str | None
    role: str | None
    system: bool


class SealedFields(Model):
    """How an event's sealed personal fields read: ``open``, ``erased`` (their key destroyed;
    they read as ``[erased on DATE]``) or ``unreadable`` (``problem`` says why); ``envelope`` is
    what is stored of them (subject, key id, commitment, ciphertext)."""

    status: Literal["open", "erased", "unreadable"]
    envelope: dict[str, Any]
    erased_on: str | None = None
    problem: str | None = None


class Event(Model):
    """A stored event with its envelope, and its actor by name."""

    event_id: str
    aggregate_id: str
    aggregate_type: str
    event_type: str
    version: int
    position: int
    timestamp: str = Field(json_schema_extra={"format": "date-time"})
    user_id: str | None
    data: dict[str, Any]
    metadata: dict[str, Any]
    schema_version: int
    partition: int
    hash: str
    personal: SealedFields | None = Field(
        None, description="Present when the event has sealed personal fields."
    )
    actor: Actor


class EventPage(Model):
    events: list[Event]
    next: int | None = Field(description="Pass back as ``after`` for the next page; null: last.")


class DiffPart(Model):
    """A run of words (and the whitespace between them): ``equal`` parts and ``insert`` parts
    join to the new text, ``equal`` and ``delete`` parts to the old."""

    op: Literal["equal", "insert", "delete"]
    text: str


class FieldChange(Model):
    field: str
    old: Any
    new: Any
    diff: list[DiffPart] | None = Field(
        None, description="Word-level parts for a text field edited; null otherwise."
    )


class HistoryEntry(Model):
    version: int
    position: int
    created: bool
    event_id: str
    event_type: str
    schema_version: int
    timestamp: str = Field(json_schema_extra={"format": "date-time"})
    user_id: str | None
    correlation_id: str | None
    causation_id: str | None
    actor: Actor
    data: dict[str, Any]
    changes: list[FieldChange]
    source: Literal["store", "archive"] = Field(
        "store",
        description="Where the event was read: the store, or (include_archive) the archive.",
    )


class History(Model):
    aggregate_id: str
    hot_from_version: int = Field(
        description="The first version the store still holds; the versions before it were moved "
        "to the archive by retention (1 when nothing was)."
    )
    events: list[HistoryEntry]


class StateAt(Model):
    aggregate_id: str
    aggregate_type: str
    version: int
    timestamp: str = Field(json_schema_extra={"format": "date-time"})
    state: dict[str, Any]


class Comparison(Model):
    """Two versions of one aggregate: both states and each field that differs, from ``from``
    to ``to``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    aggregate_id: str
    aggregate_type: str
    from_: StateAt = Field(alias="from")
    to: StateAt
    changes: list[FieldChange]


class MessageAt(StateAt):
    deleted: bool = Field(description="Deleted at that instant (its content as it last read).")


class ProjectAt(Model):
    """A project as it was at ``at``: its state, its tickets and its messages, each with its
    aggregate id (for ``/audit/{aggregate_id}/history``)."""

    at: str = Field(json_schema_extra={"format": "date-time"})
    project: StateAt
    tickets: list[StateAt]
    messages: list[MessageAt]


class VerificationReport(Document):
    """The tamper-evidence report (as ``chronicle verify --json``)."""

    intact: bool
    events_checked: int
    seals_checked: int
    unsigned_seals: int
    unsealed_events: int
    trust: str
    problems: list[dict[str, Any]]


class PublicKey(Document):
    algorithm: Literal["Ed25519"]
    public_key: str | None
    key_id: str | None
    trusted_keys: list[str]


class InclusionProof(Document):
    """The proof that an event is in a seal's Merkle tree (see the README's proof format)."""

    format: str
    type: Literal["inclusion"]
    event: dict[str, Any]
    leaf_index: int
    tree_size: int
    audit_path: list[str]
    seal: dict[str, Any]


class ConsistencyProof(Document):
    """The proof that a later seal's tree extends an earlier one's."""

    format: str
    type: Literal["consistency"]
    from_: dict[str, Any] = Field(alias="from")
    to: dict[str, Any]
    proof: list[str]


# -- health ---------------------------------------------------------------------------------------


class StoreHealth(Model):
    backend: str
    reachable: bool
    size_bytes: int | None = None
    error: str | None = None


class Health(Model):
    status: Literal["healthy", "unhealthy"]
    event_sourcing_enabled: bool | None = None
    store: StoreHealth
    total_events: int | None
    oldest_event: str | None = Field(json_schema_extra={"format": "date-time"})
    newest_event: str | None = Field(json_schema_extra={"format": "date-time"})
