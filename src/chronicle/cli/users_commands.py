"""``chronicle users``: the chat service's accounts, created and listed from the command line."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    app,
    console,
    fail,
    print_json,
    settings_for,
)
from chronicle.cli.serve_commands import open_services_or_exit
from chronicle.errors import ChronicleError, ConfigurationError, DomainError, StoreUnavailableError

users_app = typer.Typer(help="Manage the chat service's users.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name: 3-32 characters of a-z 0-9 _ . -"),
    role: str = typer.Option(..., "--role", help="member, auditor or admin."),
    email: str | None = typer.Option(None, "--email", help="Default: <username>@localhost.local"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input, not a prompt."
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a user of the chat service who can log in. Exit 1 if refused, 2 on bad input."""
    from chronicle.chat.service import UsernameTakenError
    from chronicle.chat.service.accounts import CLI_ACTOR, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        settings = settings_for(store_url)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    services = open_services_or_exit(settings)
    try:
        result = create_user(
            services.writer,
            services.credentials,
            username=username,
            email=email or f"{username}@localhost.local",
            role=role,
            password=password,
            created_by=CLI_ACTOR,
        )
    except UsernameTakenError as exc:
        fail(str(exc))
    except DomainError as exc:
        fail(str(exc), code=2)
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        services.chat.close()
    if as_json:
        print_json({"id": result.aggregate.id, "username": username, "role": role})
        return
    console.print(f"created {role} {username} ({result.aggregate.id})", highlight=False)


@users_app.command("list")
def list_users(store_url: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Every user of the chat service: id, username and role, by username."""
    from chronicle.chat.domain.events import chat_events
    from chronicle.chat.read_models import UsersReadModel
    from chronicle.chat.wiring import open_chat

    try:
        settings = settings_for(store_url)
        chat = open_chat(settings=settings)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    except StoreUnavailableError as exc:
        fail(str(exc))
    try:
        model = UsersReadModel(chat_events)
        with chat.store.session() as session:
            model.create_tables(session)  # absent only when the read model is async and new
            rows = session.fetchall(
                f"SELECT id, username, role FROM {model.t('users')} ORDER BY username, id"
            )
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        chat.close()
    users = [{"id": row[0], "username": row[1], "role": row[2]} for row in rows]
    if as_json:
        print_json(users)
        return
    table = Table(title=f"{len(users)} users", title_justify="left")
    for column in ("id", "username", "role"):
        table.add_column(column)
    for user in users:
        table.add_row(user["id"], user["username"], user["role"])
    console.print(table)


@users_app.command("erase")
def erase(
    user_id: str = typer.Argument(..., help="The id of the user whose personal data to erase."),
    reason: str = typer.Option(
        ..., "--reason", help="Why (recorded in the log): a request reference, never personal data."
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Erase a user's personal data: destroy their data keys, so their username, email and
    messages read as "[erased on DATE]" everywhere; every hash, seal and proof still verifies.

    Exit 1 when refused (already erased, a legal hold, the key store down), 2 on bad input.
    Run it again to complete an erasure that was cut short.
    """
    from chronicle.chat.service.accounts import CLI_ACTOR
    from chronicle.chat.service.erasure import erase_user
    from chronicle.chat.wiring import open_chat
    from chronicle.errors import UnknownAggregateError

    try:
        chat = open_chat(settings=settings_for(store_url))
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    except StoreUnavailableError as exc:
        fail(str(exc))
    try:
        result = erase_user(chat, user_id, reason=reason, erased_by=CLI_ACTOR)
    except UnknownAggregateError:
        fail(f"no user has the id {user_id!r} (chronicle users list)", code=2)
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        chat.close()
    if as_json:
        print_json(result.to_dict())
        return
    done = "completed the erasure of" if result.completed_earlier_run else "erased"
    console.print(
        f"{done} {result.subject}: {len(result.key_ids)} key(s) destroyed, "
        f"{len(result.aggregates)} aggregate(s) hold only placeholders now "
        f"(event at position {result.recorded.position if result.recorded else '?'})",
        highlight=False,
    )
