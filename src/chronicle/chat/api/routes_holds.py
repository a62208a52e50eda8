"""Legal holds (admins only): ``/holds``, listed, placed and released.

A hold keeps an aggregate, or every aggregate a user wrote in, out of retention until it is
released (see :mod:`chronicle.retention.holds`); placing and releasing it are events in the log,
recorded as the acting admin with the reason given. A store that archives nothing (the memory
store) keeps no holds: every route answers 409 there.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from chronicle.errors import UnsupportedOperationError
from chronicle.events import RecordedEvent
from chronicle.retention.holds import (
    MAX_REASON,
    Hold,
    active_holds,
    place_hold,
    release_hold,
    subject_is_known,
)
from chronicle.store.integrity import format_timestamp
from chronicle.store.ports import EventStore

from .dependencies import Admin, Caller, ServicesDep
from .params import printable
from .problems import InvalidReferenceError, NotFoundError
from .responses import BODY, Model, Timestamp, problems
from .schemas import Body, OneLine

router = APIRouter(prefix="/holds", tags=["holds"])

HOLD_ID_SHAPE = re.compile(r"hold-[0-9a-f]{32}")
"""What ``place_hold`` names a hold: any other id names none."""

Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_REASON, pattern=r"\S"),
    OneLine,
]


# -- bodies ---------------------------------------------------------------------------------------


class HoldCreate(Body):
    subject_kind: Literal["aggregate", "user"] = Field(
        description="``aggregate``: hold its events; ``user``: hold every aggregate with an "
        "event this user wrote."
    )
    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine] = Field(
        description="The aggregate id, or the user id."
    )
    reason: Reason = Field(description="Why, for the audit trail (1-500 printable characters).")


class HoldSubjectKind(StrEnum):
    AGGREGATE = "aggregate"
    USER = "user"


class LegalHold(Model):
    """An active legal hold."""

    hold_id: str
    subject_kind: HoldSubjectKind
    subject_id: str
    reason: str
    placed_at: Timestamp
    placed_by: str | None = Field(description="The id of the user who placed it.")


class ReleasedHold(LegalHold):
    """A hold as it was when released, and its release."""

    released_at: Timestamp
    released_by: str = Field(description="The id of the user who released it.")
    release_reason: str


class HoldList(Model):
    items: list[LegalHold] = Field(description="Every active hold, oldest first.")


# -- dependencies ---------------------------------------------------------------------------------


async def holding_store(services: ServicesDep) -> EventStore:
    """The store, when it keeps legal holds (409 otherwise: it never archives events)."""
    store = services.chat.store
    if not store.capabilities.has("retention"):
        raise UnsupportedOperationError(
            f"the {store.backend} store keeps no legal holds: it never archives nor removes "
            "events (holds apply to SQLite and PostgreSQL stores)"
        )
    return store


HoldingStore = Annotated[EventStore, Depends(holding_store)]


async def _hold_id(hold_id: Annotated[str, Path()]) -> str:
    if not HOLD_ID_SHAPE.fullmatch(hold_id):
        raise NotFoundError(f"there is no active legal hold {hold_id!r}")
    return hold_id


HoldIdPath = Annotated[str, Depends(_hold_id)]


# -- routes ---------------------------------------------------------------------------------------


@router.get("", response_model=HoldList, responses=problems(401, 403, 409))
async def list_holds(who: Admin, store: HoldingStore) -> dict[str, Any]:
    """The active legal holds, oldest first (admin only)."""
    return {"items": [_shown(hold) for hold in await run_in_threadpool(active_holds, store)]}


@router.post(
    "", status_code=201, response_model=LegalHold, responses=problems(401, 403, 409, *BODY)
)
async def place(body: HoldCreate, who: Admin, store: HoldingStore) -> dict[str, Any]:
    """Place a legal hold on an aggregate, or on a user (admin only), recorded as the caller.

    Retention keeps every event of a held aggregate, and of each aggregate a held user wrote
    in, until the hold is released. An id the store knows nothing of is a 422.
    """
    return _shown(await run_in_threadpool(_place, body, who, store))


def _place(body: HoldCreate, who: Caller, store: EventStore) -> Hold:
    if not subject_is_known(store, body.subject_kind, body.subject_id):
        raise InvalidReferenceError(
            f"subject_id: no {body.subject_kind} {body.subject_id!r} is known to the store "
            f"({'it wrote no event' if body.subject_kind == 'user' else 'it has no event'})"
        )
    return place_hold(store, body.subject_kind, body.subject_id, body.reason, placed_by=who.id)


@router.delete(
    "/{hold_id}", response_model=ReleasedHold, responses=problems(401, 403, 404, 409, 422)
)
async def release(
    who: Admin,
    hold_id: HoldIdPath,
    store: HoldingStore,
    reason: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_REASON,
            pattern=r"\S",
            description="Why it is released, for the audit trail (1-500 printable characters).",
        ),
        AfterValidator(printable),
    ],
) -> dict[str, Any]:
    """Release a legal hold (admin only), recorded as the caller: the next retention run may
    remove what it kept. 404 when no active hold has this id."""

    def release_it() -> tuple[Hold, RecordedEvent]:
        hold = release_hold(store, hold_id, reason, released_by=who.id)
        return hold, store.get_events_for_aggregate(hold_id)[-1]  # the release just recorded

    hold, released = await run_in_threadpool(release_it)
    return {
        **_shown(hold),
        "released_at": format_timestamp(released.timestamp),
        "released_by": who.id,
        "release_reason": reason,
    }


def _shown(hold: Hold) -> dict[str, Any]:
    return {**hold.to_dict(), "placed_at": format_timestamp(hold.placed_at)}
