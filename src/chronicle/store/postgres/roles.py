"""The application's least-privilege role on PostgreSQL."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from chronicle.errors import InvalidEventError, StoreUnavailableError

_ROLE_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What the application role may write into an event row (never transaction_id, position, codec).
_APP_INSERT_COLUMNS = (
    "event_id", "aggregate_id", "aggregate_type", "event_type", "version", "schema_version",
    "partition", "timestamp", "user_id", "data", "metadata", "hash",
)  # fmt: skip


def create_app_role(pool: ConnectionPool, role: str) -> list[str]:
    """A NOLOGIN group role for the application: INSERT and SELECT on events and seals only.

    Login roles join it (``CREATE ROLE app LOGIN PASSWORD '…' IN ROLE <role>``). It owns
    nothing, so it cannot drop or disable the guard triggers either. Returns the SQL run.
    """
    if type(role) is not str or _ROLE_PATTERN.fullmatch(role) is None:
        raise InvalidEventError(
            f"a role name is 1-63 characters of a-z, 0-9 and '_', not starting with a "
            f"digit; got {role!r:.80}"
        )
    name = sql.Identifier(role)
    done = []
    try:
        with pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT current_schema()").fetchone()
            schema = str(row[0]) if row else "public"
            for statement in _grants(name, schema):
                conn.execute(statement)
                done.append(statement.as_string(conn))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreUnavailableError(
            f"cannot create the role {role!r}: {exc}; run this as the schema's owner"
        ) from exc
    return done


def _grants(name: sql.Identifier, schema: str) -> list[sql.Composed]:
    return [
        sql.SQL(
            "DO $$ BEGIN CREATE ROLE {} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ).format(name),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), name),
        sql.SQL(
            "REVOKE ALL ON chronicle_events, chronicle_seals, chronicle_snapshots, "
            "chronicle_checkpoints, chronicle_schema FROM {}"
        ).format(name),
        sql.SQL("GRANT SELECT ON chronicle_events, chronicle_seals TO {}").format(name),
        # Column by column: the role cannot choose a row's transaction id or position, so a
        # row it writes can never hide behind the commit-order cursor of log followers.
        sql.SQL("GRANT INSERT ({}) ON chronicle_events TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, _APP_INSERT_COLUMNS)), name
        ),
        sql.SQL("GRANT INSERT ON chronicle_seals TO {}").format(name),
        sql.SQL("GRANT SELECT ON chronicle_schema TO {}").format(name),
        sql.SQL("GRANT SELECT, INSERT ON chronicle_snapshots TO {}").format(name),
        sql.SQL("GRANT SELECT, INSERT, UPDATE ON chronicle_checkpoints TO {}").format(name),
        sql.SQL(
            "GRANT EXECUTE ON FUNCTION chronicle_append(text, text, bigint, text, smallint, "
            "timestamptz, uuid[], text[], smallint[], bytea[], bytea[], bytea[]) TO {}"
        ).format(name),
        sql.SQL("GRANT EXECUTE ON FUNCTION chronicle_chain(bytea, bigint, bytea) TO {}").format(
            name
        ),
    ]
