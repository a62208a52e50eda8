"""The Typer application every command module registers on, and shared CLI helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chronicle import __version__
from chronicle.bootstrap import open_store
from chronicle.config import EventConfig, get_settings
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

PIPE_WIDTH = 100_000
"""The width tables are laid out in when output goes to a pipe or a file: wide enough that no
line is ever broken (rich would otherwise break at 80 columns, or the terminal's width)."""

StoreOption = typer.Option(
    None,
    "--store-url",
    help="Event store URL (sqlite:///path or postgresql://…); default: EVENT_STORE_URL.",
    show_default=False,
)


JsonOption = typer.Option(False, "--json", help="Print JSON instead of text and tables.")


def _unwrapped_when_piped() -> None:
    """Lines and tables are never broken when stdout (or stderr) is not a terminal."""
    for target in (console, console_err):
        if not target.is_terminal:
            target.width = PIPE_WIDTH
            target.soft_wrap = True


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"chronicle {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print Chronicle's version and exit.",
    ),
) -> None:
    """Chronicle: an event-sourced, tamper-evident audit trail. Operator commands."""
    _unwrapped_when_piped()


def settings_for(store_url: str | None) -> EventConfig:
    """The process's settings, with ``--store-url`` (when given) in place of EVENT_STORE_URL."""
    settings = get_settings()
    return settings.model_copy(update={"store_url": store_url}) if store_url else settings


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
    """Open the store for a command, the chat's personal fields opened as the service opens
    them (keys from CHRONICLE_KEY_STORE_URL, looked up only when a sealed field is read or
    written); translate Chronicle's errors into exit codes."""
    return opened(_store_with_personal_data, url)


def _store_with_personal_data(url: str | None) -> EventStore:
    from chronicle.bootstrap import personal_data_for
    from chronicle.chat.wiring import chat_personal_policy

    settings = get_settings()
    return open_store(
        url, settings=settings, personal=personal_data_for(chat_personal_policy(), url, settings)
    )


@contextmanager
def progress_bar(
    label: str, total: int | None, *, shown: bool = True
) -> Iterator[Callable[[int], None]]:
    """A bar on stderr, cleared when done, for long work; yields the function that advances it
    by a count. Hidden unless ``shown`` and stderr is a terminal (``--json``, pipes, CI)."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console_err,
        transient=True,
        disable=not (shown and console_err.is_terminal),
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def command(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a top-level command on the shared app."""
    return app.command(name, **kwargs)
