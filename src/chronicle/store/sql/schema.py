"""Bringing a SQL schema up to date: numbered migrations, applied in order, recorded once each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chronicle.errors import SchemaVersionError
from chronicle.store.ports import Session
from chronicle.store.prepare import now_utc
from chronicle.store.sql.statements import Statements

Migration = tuple[int, str]

_SCHEMA_VERSION = Statements().schema_version
_RECORD = "INSERT INTO chronicle_schema (version, applied_at) VALUES (:version, :applied_at)"


def upgrade(
    session: Session,
    migrations: Sequence[Migration],
    *,
    create_table: str,
    run_script: Callable[[str], object],
    instant: Callable[[Any], Any],
) -> int:
    """Apply every migration newer than the schema's version, in ``session``'s transaction.

    Returns the version now in force. A schema newer than the newest migration stops with
    ``SchemaVersionError``: this Chronicle is older than the store.
    """
    session.execute(create_table)
    row = session.fetchone(_SCHEMA_VERSION, {})
    current = int(row[0]) if row else 0
    latest = migrations[-1][0]
    if current > latest:
        raise SchemaVersionError(
            f"the store has schema version {current}; this Chronicle knows up to {latest}: "
            "upgrade Chronicle"
        )
    for version, script in migrations:
        if version > current:
            run_script(script)
            session.execute(_RECORD, {"version": version, "applied_at": instant(now_utc())})
            current = version
    return current
