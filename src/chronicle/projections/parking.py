"""Parked events (dead letters): events a projection could not apply after its retries.

An event is parked with the error and the number of attempts; every later event of the same
aggregate is parked behind it, so a read model never applies an aggregate's events out of order.
``retry`` re-applies parked events in log order and unparks those that now succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

from chronicle.events import RecordedEvent
from chronicle.store.ports import Session

_TABLE = """
CREATE TABLE IF NOT EXISTS chronicle_parked_events (
    projection   TEXT    NOT NULL,
    position     BIGINT  NOT NULL,
    event_id     TEXT    NOT NULL,
    aggregate_id TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    error        TEXT    NOT NULL,
    parked_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (projection, position)
)
"""


@dataclass(frozen=True)
class ParkedEvent:
    projection: str
    position: int
    event_id: str
    aggregate_id: str
    event_type: str
    attempts: int
    error: str


def ensure_table(session: Session) -> None:
    session.execute(_TABLE)


def park(
    session: Session, projection: str, event: RecordedEvent, attempts: int, error: str
) -> None:
    session.execute(
        "INSERT INTO chronicle_parked_events (projection, position, event_id, aggregate_id, "
        "event_type, attempts, error) VALUES (:projection, :position, :event_id, :aggregate_id, "
        ":event_type, :attempts, :error) ON CONFLICT (projection, position) DO NOTHING",
        {
            "projection": projection,
            "position": event.position,
            "event_id": event.event_id,
            "aggregate_id": event.aggregate_id,
            "event_type": event.event_type,
            "attempts": attempts,
            "error": error[:2000],
        },
    )


def unpark(session: Session, projection: str, position: int) -> None:
    session.execute(
        "DELETE FROM chronicle_parked_events WHERE projection = :projection AND position = :position",
        {"projection": projection, "position": position},
    )


def parked(session: Session, projection: str | None = None) -> list[ParkedEvent]:
    sql = (
        "SELECT projection, position, event_id, aggregate_id, event_type, attempts, error "
        "FROM chronicle_parked_events"
    )
    params: dict[str, object] = {}
    if projection is not None:
        sql += " WHERE projection = :projection"
        params["projection"] = projection
    rows = session.fetchall(sql + " ORDER BY projection, position", params)
    return [ParkedEvent(*row) for row in rows]


def parked_aggregates(session: Session, projection: str) -> set[str]:
    rows = session.fetchall(
        "SELECT DISTINCT aggregate_id FROM chronicle_parked_events WHERE projection = :projection",
        {"projection": projection},
    )
    return {row[0] for row in rows}
