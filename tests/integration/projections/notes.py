"""A small domain and two projections used by the projection tests."""

from __future__ import annotations

from dataclasses import dataclass

from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection, Table, handles
from chronicle.registry import DomainEvent, EventRegistry
from chronicle.store.ports import Session

notes_registry = EventRegistry()


@notes_registry.register("NoteAdded")
@dataclass(frozen=True)
class NoteAdded(DomainEvent):
    text: str


@notes_registry.register("NoteEdited")
@dataclass(frozen=True)
class NoteEdited(DomainEvent):
    text: str


class PoisonError(Exception):
    pass


# Tests flip this to make "poison" notes fail, then heal them.
POISON = {"active": True}


class Notes(Projection):
    """Per-aggregate read model with version-guarded writes."""

    name = "notes"
    idempotent = True
    tables = (
        Table(
            "notes",
            "id TEXT PRIMARY KEY, text TEXT NOT NULL, edits INTEGER NOT NULL, "
            "version BIGINT NOT NULL",
            indexes=(("by_text", "text"),),
        ),
    )

    @handles(NoteAdded)
    def added(self, session: Session, event: NoteAdded, recorded: RecordedEvent) -> None:
        self._check(event.text)
        table = self.t("notes")
        session.execute(
            f"INSERT INTO {table} (id, text, edits, version) VALUES (:id, :text, 0, :version) "
            f"ON CONFLICT (id) DO NOTHING",
            {"id": recorded.aggregate_id, "text": event.text, "version": recorded.version},
        )

    @handles(NoteEdited)
    def edited(self, session: Session, event: NoteEdited, recorded: RecordedEvent) -> None:
        self._check(event.text)
        session.execute(
            f"UPDATE {self.t('notes')} SET text = :text, edits = edits + 1, version = :version "
            "WHERE id = :id AND version < :version",
            {"id": recorded.aggregate_id, "text": event.text, "version": recorded.version},
        )

    @staticmethod
    def _check(text: str) -> None:
        if POISON["active"] and "poison" in text:
            raise PoisonError(f"cannot digest {text!r}")


class NoteCounts(Projection):
    """Counts applications per aggregate: applying an event twice shows up as a wrong count."""

    name = "note_counts"
    tables = (Table("note_counts", "id TEXT PRIMARY KEY, applied INTEGER NOT NULL"),)

    @handles(NoteAdded, NoteEdited)
    def count(self, session: Session, event: DomainEvent, recorded: RecordedEvent) -> None:
        session.execute(
            f"INSERT INTO {self.t('note_counts')} (id, applied) VALUES (:id, 1) "
            f"ON CONFLICT (id) DO UPDATE SET applied = {self.t('note_counts')}.applied + 1",
            {"id": recorded.aggregate_id},
        )


def expected_notes(events: list[RecordedEvent]) -> dict[str, tuple[str, int, int]]:
    """The notes read model computed from scratch: id -> (text, edits, version)."""
    state: dict[str, tuple[str, int, int]] = {}
    for recorded in events:
        match notes_registry.to_domain(recorded):
            case NoteAdded(text=text):
                state[recorded.aggregate_id] = (text, 0, recorded.version)
            case NoteEdited(text=text):
                _, edits, _ = state[recorded.aggregate_id]
                state[recorded.aggregate_id] = (text, edits + 1, recorded.version)
    return state


def read_notes(store, table: str = "notes") -> dict[str, tuple[str, int, int]]:
    with store.session() as session:
        rows = session.fetchall(f"SELECT id, text, edits, version FROM {table}")
    return {row[0]: (row[1], int(row[2]), int(row[3])) for row in rows}
