"""Demo data for ``chronicle serve --demo``: four users, a project, messages and a ticket."""

from __future__ import annotations

from chronicle.chat.domain import Message, Project, Ticket
from chronicle.chat.service.accounts import DEMO_ACTOR, create_user
from chronicle.chat.service.credentials import Credentials
from chronicle.chat.service.writer import Writer

DEMO_USERS = (("admin", "admin"), ("auditor", "auditor"), ("alice", "member"), ("bob", "member"))
"""Each demo user's name and role; the password is ``<username>-demo``."""


def seed_demo(writer: Writer, credentials: Credentials) -> bool:
    """Create the demo users and content unless they exist; True when something was created."""
    ids: dict[str, str] = {}
    for username, role in DEMO_USERS:
        if credentials.exists(username):
            continue
        result = create_user(
            writer,
            credentials,
            username=username,
            email=f"{username}@example.com",
            role=role,
            password=f"{username}-demo",
            created_by=DEMO_ACTOR,
        )
        ids[username] = result.aggregate.id
    if set(ids) != {name for name, _ in DEMO_USERS}:
        return bool(ids)
    admin, alice, bob = ids["admin"], ids["alice"], ids["bob"]
    project = writer.create(
        Project.create("Launch", admin, "Everything about the launch"), user_id=admin
    ).aggregate
    hello = writer.create(
        Message.create("Hello @bob, the launch plan is ready", "alice", project_id=project.id),
        user_id=alice,
    ).aggregate
    writer.change(
        Message, hello.id, lambda m: m.edit("Hello @bob, the launch plan is ready for review"),
        user_id=alice,
    )  # fmt: skip
    writer.create(
        Message.create("Thanks @alice, reading it now", "bob", project_id=project.id),
        user_id=bob,
    )
    ticket = writer.create(
        Ticket.create("Review the launch plan", project.id, "Two pages", "high"), user_id=alice
    ).aggregate
    writer.change(Ticket, ticket.id, lambda t: t.assign(bob, alice), user_id=alice)
    writer.change(Ticket, ticket.id, lambda t: t.change_status("in_progress"), user_id=bob)
    writer.change(Ticket, ticket.id, lambda t: t.change_status("resolved"), user_id=bob)
    return True
