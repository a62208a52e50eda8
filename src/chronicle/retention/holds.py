"""Legal holds: an aggregate, or everything a user wrote, kept out of retention until released.

A hold is an aggregate of its own (type ``LegalHold``) in the log: placing and releasing it are
events (``LegalHoldPlaced``, ``LegalHoldReleased``), so who held what, when and why is part of the
audit trail and covered by the seals. The database keeps the active holds in a table, written in
the same transaction as each hold event, which the guard trigger consults before it lets a row
be deleted; a retention run folds the hold events itself and refuses to run when the table says
otherwise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from chronicle.errors import HoldNotFoundError, InvalidEventError, RetentionRefusedError
from chronicle.events import NewEvent, RecordedEvent
from chronicle.store.prepare import check_name, check_user_id, now_utc
from chronicle.store.records import HoldRow

HOLD_TYPE = "LegalHold"
HOLD_PLACED = "LegalHoldPlaced"
HOLD_RELEASED = "LegalHoldReleased"
SUBJECT_KINDS = ("aggregate", "user")
MAX_REASON = 500

SubjectKind = Literal["aggregate", "user"]


@dataclass(frozen=True, slots=True)
class Hold:
    """An active hold: on one aggregate, or on every event a user wrote."""

    hold_id: str
    subject_kind: str
    subject_id: str
    reason: str
    placed_at: datetime
    placed_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "hold_id": self.hold_id,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "reason": self.reason,
            "placed_at": self.placed_at.isoformat(),
            "placed_by": self.placed_by,
        }


def check_reason(reason: object) -> str:
    if (
        type(reason) is not str
        or not reason.strip()
        or len(reason) > MAX_REASON
        or not reason.isprintable()
    ):
        raise InvalidEventError(
            f"a reason is 1-{MAX_REASON} printable characters, got {reason!r:.60}"
        )
    return reason


def place_hold(
    store: Any, subject_kind: str, subject_id: str, reason: str, *, placed_by: str | None
) -> Hold:
    """Place a hold on an aggregate (``subject_kind="aggregate"``) or a user; the event and the
    guard's row are written in one transaction."""
    if subject_kind not in SUBJECT_KINDS:
        raise InvalidEventError(
            f"a hold is on an 'aggregate' or a 'user', not {subject_kind!r:.40}"
        )
    if subject_kind == "aggregate":
        check_name(subject_id, "the held aggregate id")
    else:
        check_user_id(subject_id)
        if not subject_id:
            raise InvalidEventError("the held user id is empty")
    check_reason(reason)
    check_user_id(placed_by)
    hold_id = f"hold-{uuid.uuid4().hex}"
    placed_at = now_utc()
    row = HoldRow(hold_id, subject_kind, subject_id, reason, placed_at)
    store.append(
        hold_id,
        [
            NewEvent(
                HOLD_PLACED,
                {"subject_kind": subject_kind, "subject_id": subject_id, "reason": reason},
            )
        ],
        expected_version=0,
        aggregate_type=HOLD_TYPE,
        user_id=placed_by,
        inline=store.hold_handler(row, None),
    )
    return Hold(hold_id, subject_kind, subject_id, reason, placed_at, placed_by)


def release_hold(store: Any, hold_id: str, reason: str, *, released_by: str | None) -> Hold:
    """Release an active hold (``HoldNotFoundError`` when there is none with this id)."""
    check_reason(reason)
    check_user_id(released_by)
    held = {hold.hold_id: hold for hold in active_holds(store)}
    hold = held.get(hold_id)
    if hold is None:
        raise HoldNotFoundError(hold_id)
    store.append(
        hold_id,
        [NewEvent(HOLD_RELEASED, {"reason": reason})],
        expected_version=1,
        aggregate_type=HOLD_TYPE,
        user_id=released_by,
        inline=store.hold_handler(None, hold_id),
    )
    return hold


def active_holds(store: Any) -> list[Hold]:
    """The holds placed and not released, folded from their events, oldest first."""
    placed: dict[str, Hold] = {}
    after: int | None = None
    while True:
        page: list[RecordedEvent] = store.search_events(
            aggregate_type=HOLD_TYPE, after=after, limit=500
        )
        for event in page:
            if event.event_type == HOLD_PLACED:
                placed[event.aggregate_id] = Hold(
                    event.aggregate_id,
                    str(event.data["subject_kind"]),
                    str(event.data["subject_id"]),
                    str(event.data["reason"]),
                    event.timestamp,
                    event.user_id,
                )
            elif event.event_type == HOLD_RELEASED:
                placed.pop(event.aggregate_id, None)
        if len(page) < 500:
            return list(placed.values())
        after = page[-1].position


def checked_holds(store: Any) -> list[Hold]:
    """The active holds, which the guard's table must list exactly: a retention run refuses to
    go on when a row was added or removed there behind the hold events' back."""
    holds = active_holds(store)
    table = {(row.hold_id, row.subject_kind, row.subject_id) for row in store.holds()}
    folded = {(hold.hold_id, hold.subject_kind, hold.subject_id) for hold in holds}
    if table != folded:
        raise RetentionRefusedError(
            "the database's table of legal holds differs from the hold events "
            f"({len(table)} rows, {len(folded)} active holds): it was changed behind "
            "Chronicle's back; run chronicle verify and restore the holds (nothing was removed)"
        )
    return holds
