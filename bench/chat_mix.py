"""A chat system's log at any size: users, projects, tickets and messages in a steady mix.

The scale case needs millions of events that look like what the service stores: every aggregate
of the chat domain, about seven events each, authors drawn from a growing pool of users, one
*rare* user who wrote three one-event messages at the very start and nothing since, and timestamps a
steady ``STEP`` apart (history imported with its recorded instant). Events go in through
``import_events``, Chronicle's append path with a recorded instant: valid hash chains, real
commit order. The mix is drawn from a seeded generator, so two runs store the same log.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import chat_events
from chronicle.chat.domain.events import (
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ProjectCreated,
    ProjectStatusChanged,
    TicketAssigned,
    TicketCreated,
    TicketStatusChanged,
    UserCreated,
    UserUpdated,
)
from chronicle.registry import DomainEvent

RARE_USER = "user_" + "0" * 31 + "1"
STEP = timedelta(seconds=5)  # between two events' recorded instants
START = datetime(2020, 1, 1, tzinfo=UTC)  # the first event's (5M events end in October 2020)
WORDS = [
    "release",
    "review",
    "latency",
    "figures",
    "incidents",
    "retention",
    "archive",
    "format",
    "deploy",
    "rollback",
    "staging",
    "queue",
    "index",
    "migration",
    "budget",
    "roadmap",
    "customer",
    "ticket",
    "meeting",
    "notes",
    "draft",
]


@dataclass(frozen=True)
class Batch:
    """One aggregate's events, appended in one transaction."""

    aggregate_id: str
    aggregate_type: str
    user_id: str
    events: list[NewEvent]


class ChatMix:
    """The chat mix as one stream of batches; ``loaded``: how many of its events are stored."""

    def __init__(self, seed: int = 2026) -> None:
        self._random = random.Random(seed)
        self._users: list[str] = []
        self._projects: list[str] = []
        self._stream = self._batches()
        self.loaded = 0

    def _id(self, kind: str) -> str:
        return f"{kind}_{self._random.getrandbits(128):032x}"

    def _text(self, words: int) -> str:
        return " ".join(self._random.choices(WORDS, k=words))

    def _author(self) -> str:
        return self._random.choice(self._users)

    def _batch(self, aggregate_id: str, kind: str, author: str, events: list[DomainEvent]) -> Batch:
        to_new = chat_events.to_new_event
        new = [to_new(event, metadata={"correlation_id": self._id("req")}) for event in events]
        return Batch(aggregate_id, kind, author, new)

    def _user(self, user_id: str | None = None) -> Batch:
        user_id = user_id or self._id("user")
        name = f"{self._random.choice(WORDS)}.{len(self._users)}"
        events: list[DomainEvent] = [UserCreated(name, f"{name}@example.com", "member")]
        events += [
            UserUpdated({"email": f"{name}+{n}@example.com"})
            for n in range(self._random.randint(0, 2))
        ]
        self._users.append(user_id)
        return self._batch(user_id, "User", "system:import", events)

    def _message(self, author: str, *, edits: int | None = None) -> Batch:
        username = author.removeprefix("user_")[:12]
        project = self._random.choice(self._projects) if self._projects else None
        events: list[DomainEvent] = [
            MessageCreated(self._text(20), username, "text", project_id=project)
        ]
        edits = self._random.randint(0, 12) if edits is None else edits
        events += [MessageUpdated(self._text(20)) for _ in range(edits)]
        if edits and self._random.random() < 0.05:
            events.append(MessageDeleted())
        return self._batch(self._id("message"), "Message", author, events)

    def _project(self, author: str) -> Batch:
        project_id = self._id("project")
        events: list[DomainEvent] = [ProjectCreated(self._text(3), self._text(12), author)]
        if self._random.random() < 0.5:
            events.append(ProjectStatusChanged("active", "archived"))
        self._projects.append(project_id)
        return self._batch(project_id, "Project", author, events)

    def _ticket(self, author: str) -> Batch:
        events: list[DomainEvent] = [
            TicketCreated(self._text(6), self._text(30), self._random.choice(self._projects), "p2"),
            TicketAssigned(self._author(), author),
        ]
        steps = list(itertools.pairwise(["open", "in_progress", "review", "closed"]))
        events += [
            TicketStatusChanged(old, new) for old, new in steps[: self._random.randint(0, 3)]
        ]
        return self._batch(self._id("ticket"), "Ticket", author, events)

    def next_batch(self) -> Batch:
        return next(self._stream)

    def _batches(self) -> Iterator[Batch]:
        """The mix, without end: a first pool of users, the rare user's three messages, then
        about 1 user, 3 projects and 30 tickets for every 170 messages."""
        for _ in range(200):
            yield self._user()
        yield self._user(RARE_USER)
        self._users.pop()  # the rare user writes these three messages and nothing after
        for _ in range(3):
            yield self._message(RARE_USER, edits=0)
        yield self._project(self._author())
        while True:
            draw = self._random.random()
            if draw < 0.005:
                yield self._user()
            elif draw < 0.02:
                yield self._project(self._author())
            elif draw < 0.17:
                yield self._ticket(self._author())
            else:
                yield self._message(self._author())


def load(
    store: EventStore,
    mix: ChatMix,
    events: int,
    *,
    writers: int = 1,
) -> None:
    """Append batches of ``mix`` to ``store`` until it holds ``events`` of the mix (or a few
    more: a batch is never cut), each event recorded ``STEP`` after the one before, by
    ``writers`` threads (the mix is drawn in order; the appends overlap their round trips)."""

    def append(batch: Batch, recorded_at: datetime) -> None:
        store.import_events(
            batch.aggregate_id,
            batch.events,
            expected_version=0,
            aggregate_type=batch.aggregate_type,
            user_id=batch.user_id,
            recorded_at=recorded_at,
        )

    with ThreadPoolExecutor(max_workers=writers) as pool:
        while mix.loaded < events:
            chunk: list[tuple[Batch, datetime]] = []
            while mix.loaded < events and len(chunk) < 200:
                batch = mix.next_batch()
                chunk.append((batch, START + STEP * mix.loaded))
                mix.loaded += len(batch.events)
            for done in [pool.submit(append, *item) for item in chunk]:
                done.result()  # an append that failed fails the load
