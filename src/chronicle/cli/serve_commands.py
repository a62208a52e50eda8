"""``chronicle serve`` (the chat service) and ``chronicle users create``."""

from __future__ import annotations

import sys

import typer

from chronicle.cli.app import app, command, console, fail
from chronicle.config import get_settings
from chronicle.errors import (
    ChronicleError,
    ConfigurationError,
    DomainError,
    StoreUnavailableError,
)

users_app = typer.Typer(help="Manage the chat service's users.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="First create, if absent, the users admin, auditor, alice and bob (password "
        "<username>-demo), a project, messages and a ticket.",
    ),
) -> None:
    """Run the chat service (OpenAPI docs at /docs) on the configured store until Ctrl-C."""
    import uvicorn

    from chronicle.chat.api import create_app
    from chronicle.chat.api.app import open_services
    from chronicle.chat.service.demo import DEMO_USERS, seed_demo

    settings = get_settings()
    if demo:
        try:
            services = open_services(settings)
        except (ConfigurationError, StoreUnavailableError) as exc:
            fail(str(exc), code=2 if isinstance(exc, ConfigurationError) else 1)
        try:
            created = seed_demo(services.writer, services.credentials)
        except ChronicleError as exc:
            fail(f"cannot create the demo data: {exc}")
        finally:
            services.chat.close()
        console.print("demo data " + ("created" if created else "already present"))
        console.print(
            "log in as " + ", ".join(f"{name} ({role})" for name, role in DEMO_USERS)
            + " with the password <username>-demo, e.g.:", highlight=False, soft_wrap=True,
        )  # fmt: skip
        console.print(
            f"  curl -s -X POST http://{host}:{port}/auth/token "
            "-d username=alice -d password=alice-demo",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"Chronicle chat service on http://{host}:{port} "
        f"(audit page: http://{host}:{port}/ui, API docs: /docs)"
    )
    try:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
    except (ConfigurationError, StoreUnavailableError) as exc:
        fail(str(exc))


@users_app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name: 3-32 characters of a-z 0-9 _ . -"),
    role: str = typer.Option(..., "--role", help="member, auditor or admin."),
    email: str | None = typer.Option(None, "--email", help="Default: <username>@localhost.local"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input, not a prompt."
    ),
) -> None:
    """Create a user of the chat service who can log in. Exit 1 if refused, 2 on bad input."""
    from chronicle.chat.api.app import open_services
    from chronicle.chat.service import UsernameTakenError
    from chronicle.chat.service.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        services = open_services(get_settings())
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    except StoreUnavailableError as exc:
        fail(str(exc))
    try:
        result = create_user(
            services.writer,
            services.credentials,
            username=username,
            email=email or f"{username}@localhost.local",
            role=role,
            password=password,
        )
    except UsernameTakenError as exc:
        fail(str(exc))
    except DomainError as exc:
        fail(str(exc), code=2)
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        services.chat.close()
    console.print(f"created {role} {username} ({result.aggregate.id})", highlight=False)
