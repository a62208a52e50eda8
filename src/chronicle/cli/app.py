"""The Typer application every command module registers on, and shared CLI helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar

import orjson
import typer
from rich.console import Console

from chronicle.bootstrap import open_store
from chronicle.errors import ChronicleError, ConfigurationError, StoreUnavailableError
from chronicle.store.ports import EventStore

app = typer.Typer(
    name="chronicle",
    help="Chronicle: an event-sourced, tamper-evident audit trail. Operator commands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
console_err = Console(stderr=True, soft_wrap=True)

StoreOption = typer.Option(
    None,
    "--store-url",
    help="Event store URL (sqlite:///path or postgresql://…); default: EVENT_STORE_URL.",
    show_default=False,
)


def fail(message: str, code: int = 1) -> None:
    """Print an error to stderr and exit with ``code``."""
    console_err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


class _Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=_Closable)


@contextmanager
def opened(open_it: Callable[[str | None], T], url: str | None) -> Iterator[T]:
    """Open something for a command (a store, the chat context) and close it afterwards,
    translating Chronicle's errors into exit codes: 2 for a bad setting, 1 otherwise."""
    try:
        thing = open_it(url)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    except StoreUnavailableError as exc:
        fail(str(exc))
    try:
        yield thing
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        thing.close()


def store_for(url: str | None) -> AbstractContextManager[EventStore]:
    """Open the store for a command; translate Chronicle's errors into exit codes."""
    return opened(open_store, url)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def command(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a top-level command on the shared app."""
    return app.command(name, **kwargs)
