"""Audit commands: ``chronicle history ID [--include-archive]`` and
``chronicle state ID [--version N | --at ISO]``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import typer
from rich.table import Table

from chronicle.chat.domain import CHAT_AGGREGATES
from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    console_err,
    fail,
    print_json,
    settings_for,
    store_for,
)
from chronicle.history import HistoryEntry, history, state_at, state_at_version


@command("history")
def history_command(
    aggregate_id: str = typer.Argument(..., help="The aggregate's id, e.g. message_3f2a…"),
    include_archive: bool = typer.Option(
        False,
        "--include-archive",
        help="Begin with the events retention moved to the archive folder "
        "(CHRONICLE_ARCHIVE_DIR), then the store's.",
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Every event of an aggregate: who, when, which event, which fields changed.

    With --include-archive the archived events come first, then those still in the store.

    Exits 1 when no event is stored (or archived) for AGGREGATE_ID.
    """
    if include_archive:
        _history_with_archive(aggregate_id, store_url, as_json)
        return
    with store_for(store_url) as store:
        entries = history(store, CHAT_AGGREGATES, aggregate_id)
    if as_json:
        print_json({"aggregate_id": aggregate_id, "events": [e.to_dict() for e in entries]})
        return
    _print_history(aggregate_id, entries)


def _history_with_archive(aggregate_id: str, store_url: str | None, as_json: bool) -> None:
    from chronicle.bootstrap import archive_root
    from chronicle.retention.archive import ArchiveError
    from chronicle.retention.history import whole_history

    root = archive_root(settings_for(store_url))[0]
    with store_for(store_url) as store:
        try:
            whole = whole_history(store, CHAT_AGGREGATES, aggregate_id, root)
        except ArchiveError as exc:
            fail(str(exc), code=2)
    if as_json:
        print_json(
            {
                "aggregate_id": aggregate_id,
                "archive": str(root),
                "archived_versions": whole.archived_to,
                "hot_from_version": whole.hot_from,
                "missing_versions": whole.missing,
                "events": [
                    {**entry.to_dict(), "source": source}
                    for entry, source in zip(whole.entries, whole.sources, strict=True)
                ],
            }
        )
        return
    _print_history(aggregate_id, whole.entries)
    archived_part = (
        f"versions 1-{whole.archived_to} from the archive {root}"
        if whole.archived_to
        else "nothing archived"
    )
    hot_part = (
        f"the store's history starts at version {whole.hot_from}"
        if whole.hot_from is not None
        else "the store keeps none of its events"
    )
    console.print(f"{archived_part}; {hot_part}", highlight=False)
    if whole.missing:
        console_err.print(
            f"warning: versions {', '.join(map(str, whole.missing))} are neither in the archive "
            "nor in the store",
            highlight=False,
        )


def _print_history(aggregate_id: str, entries: list[HistoryEntry]) -> None:
    table = Table(title=f"history of {aggregate_id}", title_justify="left")
    for column in ("version", "when (UTC)", "who", "event", "changes"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for entry in entries:
        changes = "\n".join(
            f"{change.field} = {_short(change.new)}"
            if entry.created
            else f"{change.field}: {_short(change.old)} → {_short(change.new)}"
            for change in entry.changes
        )
        table.add_row(
            str(entry.version),
            entry.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            entry.user_id or "-",
            f"{entry.event_type} (created)" if entry.created else entry.event_type,
            changes or "-",
        )
    console.print(table)


@command("state")
def state_command(
    aggregate_id: str = typer.Argument(..., help="The aggregate's id, e.g. message_3f2a…"),
    version: int | None = typer.Option(
        None, "--version", min=1, help="The state after the first N events."
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="The state at an ISO-8601 instant with a timezone, e.g. 2024-05-01T12:00:00Z.",
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """An aggregate's state: now, after its first N events, or at an instant.

    Exits 1 when no event is stored for AGGREGATE_ID, when it has fewer than N events, or when
    it did not exist yet at the instant; 2 on a malformed option.
    """
    if version is not None and at is not None:
        fail("give --version or --at, not both", code=2)
    instant = _instant(at) if at is not None else None
    with store_for(store_url) as store:
        if instant is not None:
            result = state_at(store, CHAT_AGGREGATES, aggregate_id, instant)
        else:
            result = state_at_version(store, CHAT_AGGREGATES, aggregate_id, version)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"[bold]{result.aggregate_id}[/] ({result.aggregate_type}) at version "
        f"[bold]{result.version}[/], recorded {result.timestamp.isoformat()}",
        highlight=False,
    )
    table = Table(show_header=True)
    table.add_column("field")
    table.add_column("value")
    for name, value in result.state.items():
        table.add_row(name, _short(value, 200))
    console.print(table)


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not an ISO-8601 date and time", code=2)
    if instant.utcoffset() is None:
        fail(f"--at {text!r} has no timezone: add Z or an offset such as +02:00", code=2)
    return instant


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
