"""``chronicle hold``: legal holds, which keep an aggregate (or everything a user wrote) out of
retention until released (see :mod:`chronicle.retention.holds`).

Placing and releasing a hold are events in the log, recorded as the operator's command
(``system:cli``) with the reason given; the database's guard refuses to delete a held row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table
from rich.text import Text

from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    app,
    console,
    console_err,
    fail,
    print_json,
    store_for,
)
from chronicle.errors import InvalidEventError, RetentionRefusedError
from chronicle.retention.holds import (
    Hold,
    active_holds,
    check_reason,
    checked_holds,
    place_hold,
    release_hold,
    subject_is_known,
)
from chronicle.store.ports import EventStore
from chronicle.store.prepare import check_name, check_user_id

hold_app = typer.Typer(
    help="Legal holds: keep an aggregate, or everything a user wrote, out of retention.",
    no_args_is_help=True,
)
app.add_typer(hold_app, name="hold")

ReasonOption = typer.Option(
    ...,
    "--reason",
    help="Why (1-500 printable characters): recorded in the hold's event, for the audit trail.",
    show_default=False,
)


@contextmanager
def _input_checked() -> Iterator[None]:
    """Exit 2 naming what is wrong with the input (checked before the store is opened)."""
    try:
        yield
    except InvalidEventError as exc:
        fail(str(exc), code=2)


def _cli_actor() -> str:
    """Who a hold placed or released from the command line is recorded as (as ``users create``
    records the users it creates)."""
    from chronicle.chat.service.accounts import CLI_ACTOR

    return CLI_ACTOR


def _holding(store: EventStore) -> EventStore:
    if not store.capabilities.has("retention"):
        fail(
            f"the {store.backend} store keeps no legal holds: it never archives nor removes "
            "events (holds apply to SQLite and PostgreSQL stores)",
            code=2,
        )
    return store


@hold_app.command("add")
def add(
    subject_id: str = typer.Argument(
        ..., help="The aggregate id to hold, or with --user the user id whose events to hold."
    ),
    reason: str = ReasonOption,
    user: bool = typer.Option(
        False, "--user", help="Hold every aggregate with an event written by this user."
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Place a legal hold on an aggregate, or on a user; prints the hold's id.

    Retention keeps every event of a held aggregate, and of each aggregate a held user wrote
    in, until the hold is removed. Exit 2 on bad input, 1 for an id the store does not know.
    """
    kind = "user" if user else "aggregate"
    with _input_checked():
        check_reason(reason)
        if not user:
            check_name(subject_id, "the aggregate id")
        elif not subject_id:
            raise InvalidEventError("the user id is empty")
        else:
            check_user_id(subject_id)
    with store_for(store_url) as store:
        _holding(store)
        if not subject_is_known(store, kind, subject_id):
            fail(
                f"no {kind} {subject_id!r} is known to this store "
                f"({'it wrote no event' if user else 'it has no event'}): nothing was held"
            )
        hold = place_hold(store, kind, subject_id, reason, placed_by=_cli_actor())
    if as_json:
        print_json(hold.to_dict())
        return
    console_err.print(
        f"placed legal hold on {_subject(hold)}: {hold.reason}", highlight=False, markup=False
    )
    console.print(hold.hold_id, highlight=False, markup=False)


@hold_app.command("remove")
def remove(
    hold_id: str = typer.Argument(..., help="The hold's id (chronicle hold list)."),
    reason: str = ReasonOption,
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Release a legal hold: the next retention run may remove what it kept.

    Exit 1 when there is no active hold with this id, 2 on bad input.
    """
    with _input_checked():
        check_reason(reason)
    actor = _cli_actor()
    with store_for(store_url) as store:
        _holding(store)
        hold = release_hold(store, hold_id, reason, released_by=actor)
    if as_json:
        print_json({**hold.to_dict(), "released_by": actor, "release_reason": reason})
        return
    console.print(
        f"released legal hold {hold.hold_id} on {_subject(hold)}: {reason}",
        highlight=False,
        markup=False,
    )


@hold_app.command("list")
def list_holds(store_url: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """The active legal holds, oldest first.

    Exit 1 (after the list) when the database's table of holds differs from the hold events:
    it was changed behind Chronicle's back, and retention refuses to run until it is restored.
    """
    refused: RetentionRefusedError | None = None
    with store_for(store_url) as store:
        _holding(store)
        try:
            holds = checked_holds(store)
        except RetentionRefusedError as exc:
            refused, holds = exc, active_holds(store)
    if as_json:
        print_json([hold.to_dict() for hold in holds])
    else:
        _print(holds)
    if refused is not None:
        fail(str(refused))


def _subject(hold: Hold) -> str:
    return f"{hold.subject_kind} {hold.subject_id}"


def _print(holds: list[Hold]) -> None:
    if not holds:
        console.print("no legal holds: retention may archive and remove any old event")
        return
    title = "1 legal hold" if len(holds) == 1 else f"{len(holds)} legal holds"
    table = Table(title=title, title_justify="left")
    for column in ("hold id", "on", "subject", "placed at", "placed by", "reason"):
        table.add_column(column)
    for hold in holds:
        table.add_row(
            hold.hold_id,
            hold.subject_kind,
            Text(hold.subject_id),
            f"{hold.placed_at:%Y-%m-%d %H:%M:%S} UTC",
            Text(hold.placed_by or ""),
            Text(hold.reason),  # as written: never read as rich markup
        )
    console.print(table)
