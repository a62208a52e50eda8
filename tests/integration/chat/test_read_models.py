"""The chat read models equal what the log says, after many concurrent writers."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from chronicle.chat.domain import Message, Project, Ticket, User, new_id
from chronicle.chat.domain.events import chat_events
from chronicle.chat.read_models import READ_MODELS
from chronicle.chat.wiring import ChatContext, open_chat
from chronicle.config import load_settings
from chronicle.errors import ConcurrencyError, DomainError, UnknownAggregateError
from chronicle.projections.projection import Projection
from chronicle.projections.runner import ProjectionRunner

ADMIN = new_id("User")
WRITERS = 8
EVENTS = 10_000


def rows_of(chat: ChatContext, projection: Projection, table: str) -> list[tuple]:
    with chat.store.session() as session:
        return sorted(session.fetchall(f"SELECT * FROM {projection.t(table)}"))


def from_scratch(chat: ChatContext, cls: type[Projection]) -> Projection:
    """The read model computed from the whole log into fresh tables."""
    scratch = cls(chat_events, suffix="__scratch")
    with chat.store.session() as session:
        scratch.drop_tables(session)
        scratch.create_tables(session)
        for event in chat.store.get_all_events(limit=100_000):  # commit order, writers are done
            scratch.apply(session, event)
    return scratch


class ChatWriter:
    """Random chat commands through the repositories, like many clients at once."""

    def __init__(
        self, chat: ChatContext, seed: int, known: dict[str, list[str]], lock: threading.Lock
    ):
        self.chat = chat
        self.rng = random.Random(seed)
        self.known = known
        self.lock = lock
        self.events = 0

    def pick(self, kind: str) -> str | None:
        with self.lock:
            ids = self.known[kind]
            return self.rng.choice(ids) if ids else None

    def remember(self, kind: str, aggregate_id: str) -> None:
        with self.lock:
            self.known[kind].append(aggregate_id)

    def create(self, aggregate, kind: str) -> None:
        recorded = self.chat.repository(type(aggregate)).save(aggregate, user_id=ADMIN)
        self.events += len(recorded)
        self.remember(kind, aggregate.id)

    def change(self, cls, kind: str, command: Callable) -> None:
        target = self.pick(kind)
        if target is None:
            return
        try:
            result = self.chat.repository(cls).execute(target, command, attempts=5)
        except (DomainError, ConcurrencyError, UnknownAggregateError):
            return
        self.events += len(result.events)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            project = self.pick("project") if rng.random() < 0.5 else None
            self.create(
                Message.create(f"hello @bob {rng.random()}", "alice", project_id=project), "message"
            )
        elif roll < 0.50:
            self.change(Message, "message", lambda m: m.edit(f"edited {rng.random()}"))
        elif roll < 0.55:
            self.change(Message, "message", lambda m: m.delete())
        elif roll < 0.63:
            self.create(User.create(f"user{rng.randrange(10**9)}", "u@example.org"), "user")
        elif roll < 0.70:
            self.change(
                User, "user", lambda u: u.update(role=rng.choice(["member", "admin", "auditor"]))
            )
        elif roll < 0.75:
            owner = self.pick("user") or ADMIN
            self.create(Project.create(f"project {rng.random()}", owner, "about"), "project")
        elif roll < 0.80:
            self.change(
                Project,
                "project",
                lambda p: p.change_status(
                    rng.choice(["active", "on_hold", "completed", "archived"])
                ),
            )
        elif roll < 0.88:
            project = self.pick("project")
            if project:
                self.create(
                    Ticket.create(f"ticket {rng.random()}", project, "broken", priority="high"),
                    "ticket",
                )
        elif roll < 0.94:
            assignee = self.pick("user") or ADMIN
            self.change(Ticket, "ticket", lambda t: t.assign(assignee, ADMIN))
        else:
            self.change(
                Ticket,
                "ticket",
                lambda t: t.change_status(
                    rng.choice(["open", "in_progress", "resolved", "closed"])
                ),
            )

    def run(self, quota: int) -> None:
        while self.events < quota:
            self.step()


def test_after_ten_thousand_concurrent_events_every_read_model_equals_one_built_from_scratch(
    store_url: str,
) -> None:
    chat = open_chat(store_url, settings=load_settings(snapshot_interval=20))
    try:
        known: dict[str, list[str]] = {"message": [], "user": [], "project": [], "ticket": []}
        lock = threading.Lock()
        writers = [ChatWriter(chat, seed, known, lock) for seed in range(WRITERS)]
        threads = [threading.Thread(target=w.run, args=(EVENTS // WRITERS,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert chat.store.get_event_count() == sum(w.events for w in writers) >= EVENTS

        for projection in chat.async_projections():
            ProjectionRunner(chat.store, projection).catch_up()
        for cls in READ_MODELS:
            live = cls(chat_events)
            scratch = from_scratch(chat, cls)
            for table in cls.tables:
                expected = rows_of(chat, scratch, table.name)
                assert expected, f"{cls.name} should not be empty"
                assert rows_of(chat, live, table.name) == expected, f"{cls.name} differs"
    finally:
        chat.close()
