"""Laws that hold for any valid command sequence, on every backend (hypothesis).

For a random sequence of valid commands saved in random batches: a full replay, a snapshot plus
the tail, and the in-memory aggregate agree; time travel at every version agrees with replaying
that prefix; storing ``MessageCreated`` as v1 and loading it equals storing it as v2.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronicle import EventStore, NewEvent
from chronicle.chat.domain import CHAT_AGGREGATES, Message, Ticket, chat_events, new_id
from chronicle.chat.domain.events import MessageCreated, mentions_in
from chronicle.chat.domain.ticket import TRANSITIONS
from chronicle.history import state_at_version
from chronicle.repository import Repository, load_aggregate

LAWS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USERS = [new_id("User") for _ in range(3)]
words = st.text(alphabet=st.sampled_from("ab @c."), min_size=1, max_size=12).filter(str.strip)


@st.composite
def ticket_commands(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A valid sequence of ticket commands (each allowed by the state machine when it runs)."""
    status, assignee, commands = "open", None, []
    for _ in range(draw(st.integers(0, 14))):
        options = [("status", new) for new in sorted(TRANSITIONS[status])]
        if status != "closed":
            options += [("assign", user) for user in USERS if user != assignee]
        command = draw(st.sampled_from(options))
        if command[0] == "status":
            status = command[1]
        else:
            assignee = command[1]
        commands.append(command)
    return commands


def run(ticket: Ticket, command: tuple[str, str]) -> None:
    if command[0] == "status":
        ticket.change_status(command[1])
    else:
        ticket.assign(command[1], USERS[0])


@LAWS
@given(commands=ticket_commands(), interval=st.integers(1, 4), batch=st.integers(1, 3))
def test_full_replay_snapshot_plus_tail_and_memory_agree(
    store: EventStore, commands: list[tuple[str, str]], interval: int, batch: int
) -> None:
    repository = Repository(store, Ticket, snapshot_interval=interval)
    ticket = Ticket.create("Bug", new_id("Project"))
    memory = [ticket.state()]
    for index, command in enumerate(commands, start=1):
        run(ticket, command)
        memory.append(ticket.state())
        if index % batch == 0:
            repository.save(ticket)
    repository.save(ticket)
    replayed = load_aggregate(store, Ticket, ticket.id, use_snapshots=False)
    from_snapshot = repository.load(ticket.id)
    assert replayed.state() == from_snapshot.state() == ticket.state()
    assert replayed.version == from_snapshot.version == ticket.version == len(commands) + 1
    # Time travel at every version equals the in-memory state after that many commands.
    for version, expected in enumerate(memory, start=1):
        assert state_at_version(store, CHAT_AGGREGATES, ticket.id, version).state == expected


@LAWS
@given(
    content=words,
    edits=st.lists(words, max_size=4),
    message_type=st.sampled_from(["text", "code"]),
)
def test_loading_a_message_stored_as_v1_equals_loading_it_stored_as_v2(
    store: EventStore, content: str, edits: list[str], message_type: str
) -> None:
    v1 = {"content": content, "username": "alice", "message_type": message_type}
    # The v2 event exactly as today's code records it.
    v2 = chat_events.to_new_event(
        MessageCreated(
            content=content,
            username="alice",
            message_type=message_type,
            project_id=None,
            mentions=mentions_in(content),
        )
    )
    assert v2.schema_version == MessageCreated.schema_version == 2
    loaded = []
    for created in (NewEvent("MessageCreated", v1, schema_version=1), v2):
        message_id = new_id("Message")
        tail = [NewEvent("MessageUpdated", {"content": text}) for text in edits]
        store.append(message_id, [created, *tail], expected_version=0, aggregate_type="Message")
        loaded.append(Repository(store, Message).load(message_id))
    assert loaded[0].state() == loaded[1].state()
    assert loaded[0].version == loaded[1].version == len(edits) + 1
