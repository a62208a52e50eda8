"""Shared shape of the chat read models: one row per aggregate, guarded by its version."""

from __future__ import annotations

from typing import Any

from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection
from chronicle.store.integrity import format_timestamp
from chronicle.store.ports import Session


class AggregateReadModel(Projection):
    """A read model with one row per aggregate in ``table``, keyed by ``id``.

    Every row carries the aggregate ``version`` it reflects. Creation inserts (ignored when the
    row exists); later events update only rows at an older version. Applying an event twice, or
    an older one after a newer one, therefore changes nothing.
    """

    idempotent = True
    table: str

    def insert(self, session: Session, recorded: RecordedEvent, **columns: Any) -> None:
        columns = {
            "id": recorded.aggregate_id,
            **columns,
            "created_at": format_timestamp(recorded.timestamp),
            "updated_at": format_timestamp(recorded.timestamp),
            "version": recorded.version,
        }
        names = ", ".join(columns)
        values = ", ".join(f":{name}" for name in columns)
        session.execute(
            f"INSERT INTO {self.t(self.table)} ({names}) VALUES ({values}) "
            "ON CONFLICT (id) DO NOTHING",
            columns,
        )

    def update(self, session: Session, recorded: RecordedEvent, **columns: Any) -> None:
        assignments = "".join(f"{name} = :{name}, " for name in columns)
        session.execute(
            f"UPDATE {self.t(self.table)} SET {assignments}updated_at = :updated_at, "
            "version = :version WHERE id = :id AND version < :version",
            {
                **columns,
                "id": recorded.aggregate_id,
                "updated_at": format_timestamp(recorded.timestamp),
                "version": recorded.version,
            },
        )

    def touch(self, session: Session, recorded: RecordedEvent) -> None:
        """Move the row to this event's version without changing a field."""
        self.update(session, recorded)


COMMON_COLUMNS = "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version BIGINT NOT NULL"
