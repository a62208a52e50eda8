"""The ``messages`` read model: current content of every message, for lists and lookups."""

from __future__ import annotations

import orjson

from chronicle.chat.domain.events import (
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    PersonalDataErased,
    mentions_in,
)
from chronicle.chat.read_models.base import COMMON_COLUMNS, AggregateReadModel
from chronicle.events import RecordedEvent
from chronicle.personal.declarations import erased_text
from chronicle.projections.projection import Table, handles
from chronicle.store.ports import Session


class MessagesReadModel(AggregateReadModel):
    name = "messages"
    table = "messages"
    default_mode = "inline"
    tables = (
        Table(
            "messages",
            "id TEXT PRIMARY KEY, content TEXT NOT NULL, username TEXT NOT NULL, "
            "message_type TEXT NOT NULL, project_id TEXT, mentions TEXT NOT NULL, "
            "author_id TEXT, deleted INTEGER NOT NULL DEFAULT 0, "
            "created_position BIGINT NOT NULL, " + COMMON_COLUMNS,
            indexes=(
                ("by_position", "created_position"),
                ("by_project", "project_id, created_position"),
            ),
        ),
    )

    @handles(MessageCreated)
    def created(self, session: Session, event: MessageCreated, recorded: RecordedEvent) -> None:
        self.insert(
            session,
            recorded,
            content=event.content,
            username=event.username,
            message_type=event.message_type,
            project_id=event.project_id,
            mentions=orjson.dumps(event.mentions).decode(),
            author_id=recorded.user_id,
            deleted=0,
            created_position=recorded.position,
        )

    @handles(MessageUpdated)
    def updated(self, session: Session, event: MessageUpdated, recorded: RecordedEvent) -> None:
        self.update(
            session,
            recorded,
            content=event.content,
            mentions=orjson.dumps(mentions_in(event.content)).decode(),
        )

    @handles(MessageDeleted)
    def deleted(self, session: Session, event: MessageDeleted, recorded: RecordedEvent) -> None:
        self.update(session, recorded, deleted=1)

    @handles(PersonalDataErased)
    def erased(self, session: Session, event: PersonalDataErased, recorded: RecordedEvent) -> None:
        """The erased user's messages read as erased; so does the text of a message they
        edited last (the row does not say whose words it holds now: it errs on erasing)."""
        erased = erased_text(event.erased_on)
        table = self.t(self.table)
        session.execute(
            f"UPDATE {table} SET content = :erased, username = :erased, mentions = '[]' "
            "WHERE author_id = :subject",
            {"erased": erased, "subject": recorded.aggregate_id},
        )
        for message_id in event.aggregates:
            session.execute(
                f"UPDATE {table} SET content = :erased, mentions = '[]' WHERE id = :id",
                {"erased": erased, "id": message_id},
            )
