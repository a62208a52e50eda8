"""The ``activity`` read model: per aggregate, how many events and the latest one (who, when).

It feeds "what changed recently" lists for auditors. It is async: nothing a writer does depends
on it, so the append path does not pay for it.
"""

from __future__ import annotations

from chronicle.chat.domain import events as chat
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection, Table, handles
from chronicle.registry import DomainEvent
from chronicle.store.integrity import format_timestamp
from chronicle.store.ports import Session

_ALL_CHAT_EVENTS = (
    chat.MessageCreated, chat.MessageUpdated, chat.MessageDeleted,
    chat.UserCreated, chat.UserUpdated,
    chat.ProjectCreated, chat.ProjectStatusChanged,
    chat.TicketCreated, chat.TicketAssigned, chat.TicketStatusChanged,
)  # fmt: skip


class ActivityReadModel(Projection):
    name = "activity"
    default_mode = "async"
    idempotent = True
    tables = (
        Table(
            "activity",
            "id TEXT PRIMARY KEY, aggregate_type TEXT NOT NULL, events BIGINT NOT NULL, "
            "last_event_type TEXT NOT NULL, last_user_id TEXT, last_timestamp TEXT NOT NULL, "
            "last_position BIGINT NOT NULL, version BIGINT NOT NULL",
            indexes=(("by_time", "last_timestamp"), ("by_type", "aggregate_type, last_timestamp")),
        ),
    )

    @handles(*_ALL_CHAT_EVENTS)
    def touched(self, session: Session, event: DomainEvent, recorded: RecordedEvent) -> None:
        table = self.t("activity")
        session.execute(
            f"INSERT INTO {table} (id, aggregate_type, events, last_event_type, last_user_id, "
            "last_timestamp, last_position, version) VALUES (:id, :aggregate_type, :version, "
            ":event_type, :user_id, :timestamp, :position, :version) "
            "ON CONFLICT (id) DO UPDATE SET events = excluded.events, "
            "last_event_type = excluded.last_event_type, last_user_id = excluded.last_user_id, "
            "last_timestamp = excluded.last_timestamp, last_position = excluded.last_position, "
            f"version = excluded.version WHERE {table}.version < excluded.version",
            {
                "id": recorded.aggregate_id,
                "aggregate_type": recorded.aggregate_type,
                "version": recorded.version,
                "event_type": recorded.event_type,
                "user_id": recorded.user_id,
                "timestamp": format_timestamp(recorded.timestamp),
                "position": recorded.position,
            },
        )
