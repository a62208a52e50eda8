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
from chronicle.events import NewEvent
from chronicle.store.prepare import NAME_PATTERN, check_name, check_user_id, now_utc
from chronicle.store.records import HoldRow

HOLD_TYPE = "LegalHold"
HOLD_PLACED = "LegalHoldPlaced"
HOLD_RELEASED = "LegalHoldReleased"
SUBJECT_KINDS = ("aggregate", "user")
MAX_REASON = 500
MAX_HOLDS = 10_000

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
    row = HoldRow(hold_id, subject_kind, subject_id, reason, now_utc())
    [placed] = store.append(
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
    return Hold(hold_id, subject_kind, subject_id, reason, placed.timestamp, placed_by)


def subject_is_known(store: Any, subject_kind: str, subject_id: str) -> bool:
    """An aggregate with events (or whose events retention archived), or a user who is an
    aggregate or wrote an event: a hold on a mistyped id would keep nothing."""
    if subject_kind == "user" and store.search_events(user_id=subject_id, limit=1):
        return True
    return NAME_PATTERN.fullmatch(subject_id) is not None and (
        store.get_aggregate_version(subject_id) > 0
    )


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
    """The holds placed and not released, folded from their events, oldest first.

    Read by event type, newest first, which waits for no other writer (a hold placed is seen at
    once); holds are few, and more than :data:`MAX_HOLDS` events of a kind is refused."""
    placed = store.get_events_by_type(HOLD_PLACED, limit=MAX_HOLDS + 1)
    released = store.get_events_by_type(HOLD_RELEASED, limit=MAX_HOLDS + 1)
    if len(placed) > MAX_HOLDS or len(released) > MAX_HOLDS:
        raise RetentionRefusedError(
            f"more than {MAX_HOLDS} legal holds were placed or released: this version reads at "
            "most that many"
        )
    gone = {event.aggregate_id for event in released if event.aggregate_type == HOLD_TYPE}
    return [
        Hold(
            event.aggregate_id,
            str(event.data["subject_kind"]),
            str(event.data["subject_id"]),
            str(event.data["reason"]),
            event.timestamp,
            event.user_id,
        )
        for event in sorted(placed, key=lambda event: event.position)
        if event.aggregate_type == HOLD_TYPE and event.aggregate_id not in gone
    ]


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
