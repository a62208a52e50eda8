"""A chat history written straight to a store: every chat event type, real-looking text."""

from __future__ import annotations

import random

from chronicle import EventStore, NewEvent

TEXT = (
    "the deploy is done please review the ticket before the launch meeting tomorrow we found "
    "a bug in the login page and fixed it can you check the numbers for the quarterly report"
)
WORDS = TEXT.split()
ALICE = "user_" + "a" * 32
PROJECT = "project_" + "b" * 32
TICKET = "ticket_" + "c" * 32


def sentence(rng: random.Random, words: list[str] = WORDS) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 30)))


def message_id(index: int) -> str:
    return f"message_{index:032x}"


def chat_history(store: EventStore, events: int = 600, seed: int = 1) -> None:
    """A user, a project, a ticket and ``events`` message events (created, edited, deleted)."""
    rng = random.Random(seed)

    def append(aggregate_id: str, kind: str, *events: NewEvent, user: str = ALICE) -> None:
        store.append(
            aggregate_id, list(events), expected_version=None, aggregate_type=kind, user_id=user
        )

    user = {"username": "alice", "email": "alice@example.com", "role": "member"}
    append(ALICE, "User", NewEvent("UserCreated", user), user="system:tests")
    project = {"name": "Launch", "description": sentence(rng), "owner_id": ALICE}
    append(
        PROJECT,
        "Project",
        NewEvent("ProjectCreated", project),
        NewEvent("ProjectUpdated", {"status": "active"}),
    )
    ticket = {
        "title": sentence(rng)[:80],
        "description": sentence(rng),
        "priority": "high",
        "project_id": PROJECT,
    }
    append(
        TICKET,
        "Ticket",
        NewEvent("TicketCreated", ticket),
        NewEvent("TicketAssigned", {"assignee_id": ALICE}),
    )
    for index in range(events):
        if index < 97:
            event_type = "MessageCreated"
            data = {
                "content": sentence(rng),
                "username": "alice",
                "project_id": PROJECT,
                "message_type": "text",
            }
        elif index % 50 == 0:
            event_type, data = "MessageDeleted", {}
        else:
            event_type, data = "MessageUpdated", {"content": sentence(rng)}
        metadata = {"correlation_id": f"{rng.getrandbits(128):032x}", "source": "api"}
        append(message_id(index % 97), "Message", NewEvent(event_type, data, metadata))
