"""``chronicle keys``: the key-encryption key and the data keys of personal data."""

from __future__ import annotations

from typing import Any

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

keys_app = typer.Typer(
    help="The keys that seal personal data (see 'Erasure of personal data').",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@keys_app.command("new-kek")
def new_kek() -> None:
    """Print a new key-encryption key (32 random bytes, base64) for CHRONICLE_KEY_ENCRYPTION_KEY.

    Keep it in your secret store, never beside a backup of the key store. Changing it on a store
    that holds keys makes them unreadable: it is set once.
    """
    from chronicle.personal.kek import new_kek_text

    print(new_kek_text())


@keys_app.command("show")
def show(
    subject: str = typer.Argument(..., help="A user id (or snapshot:AGGREGATE_ID)."),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """The data keys of a subject: id, made when, and for an erased one when, by whom and why
    (never the key itself)."""
    from chronicle.bootstrap import key_store_for
    from chronicle.errors import ChronicleError

    settings = settings_for(store_url)
    keys = key_store_for(settings.store_url, settings)
    try:
        states = keys.keys_of(subject)
    except ChronicleError as exc:
        fail(str(exc))
    finally:
        keys.close()
    rows = [_described(state) for state in states]
    if as_json:
        print_json({"subject": subject, "keys": rows})
        return
    table = Table(title=f"{len(rows)} data key(s) of {subject}", title_justify="left")
    for column in ("key_id", "state", "erased_at", "erased_by", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column) or "") for column in
                        ("key_id", "state", "erased_at", "erased_by", "reason")))  # fmt: skip
    console.print(table)


def _described(state: Any) -> dict[str, Any]:
    from chronicle.personal.keystore import DataKey, ErasedKey

    if isinstance(state, DataKey):
        return {"key_id": state.key_id, "state": "live"}
    if isinstance(state, ErasedKey):
        return {
            "key_id": state.key_id,
            "state": "erased",
            "erased_at": state.erased_at.isoformat(),
            "erased_by": state.erased_by,
            "reason": state.reason,
        }
    return {"key_id": state.key_id, "state": "unusable", "reason": state.problem}
