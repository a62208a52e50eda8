"""A year of chat history made the way an operator would: imported with its recorded instants
(``import_events``, the path ``chronicle import`` takes), never by editing rows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from chronicle import EventStore, NewEvent
from tests.support.chat_history import sentence

USERS = [f"user_{index:032x}" for index in range(1, 6)]
PROJECT = "project_" + "e" * 32


def ticket_id(index: int) -> str:
    return f"ticket_{index:032x}"


def message_id(index: int) -> str:
    return f"message_{index:032x}"


def a_year_of_chat(
    store: EventStore, start: datetime, *, messages: int = 120, seed: int = 3
) -> None:
    """Users, a project, tickets and messages recorded over the 365 days after ``start``;
    some messages edited months after they were written."""
    rng = random.Random(seed)
    step = timedelta(days=365) / (messages * 3 // 2 + 20)  # more than the imports made
    clock = start

    def imported(aggregate_id: str, kind: str, events: list[NewEvent], user: str) -> None:
        nonlocal clock
        clock += step
        store.import_events(
            aggregate_id,
            events,
            expected_version=store.get_aggregate_version(aggregate_id),
            aggregate_type=kind,
            user_id=user,
            recorded_at=clock,
        )

    for index, user in enumerate(USERS):
        data = {"username": f"user{index}", "email": f"user{index}@example.com", "role": "member"}
        imported(user, "User", [NewEvent("UserCreated", data)], "system:import")
    project = {"name": "Archive", "description": sentence(rng), "owner_id": USERS[0]}
    imported(PROJECT, "Project", [NewEvent("ProjectCreated", project)], USERS[0])
    for index in range(5):
        ticket = {"title": sentence(rng)[:80], "description": sentence(rng),
                  "priority": "low", "project_id": PROJECT}  # fmt: skip
        imported(ticket_id(index), "Ticket", [NewEvent("TicketCreated", ticket),
                 NewEvent("TicketAssigned", {"assigned_to": USERS[index],
                                             "assigned_by": USERS[0]})], USERS[0])  # fmt: skip
    for index in range(messages):
        author = USERS[index % len(USERS)]
        created = {"content": sentence(rng), "username": f"user{index % len(USERS)}",
                   "project_id": PROJECT, "message_type": "text"}  # fmt: skip
        imported(message_id(index), "Message", [NewEvent("MessageCreated", created)], author)
        if index >= 10 and rng.random() < 0.4:
            edited = rng.randrange(index - 10, index)
            imported(
                message_id(edited),
                "Message",
                [NewEvent("MessageUpdated", {"content": sentence(rng)})],
                USERS[edited % len(USERS)],
            )


def sealed_whole(store: EventStore, timeout: float = 30.0) -> None:
    """Seal until a seal covers every stored event. On PostgreSQL the sealer waits for every
    Chronicle writer of the database (those of other schemas too: another test session), so
    one pass may stop short."""
    import time

    from chronicle.integrity import Sealer

    deadline = time.monotonic() + timeout
    sealer = Sealer(store)
    while True:
        sealer.run_once()
        seal = store.latest_seal()
        if seal is not None and store.lag(seal.position)[0] == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the log was not sealed whole in time")
        time.sleep(0.1)
