"""The least-privilege roles on PostgreSQL: the application's, and the sealer's.

The application may append and read events, write snapshots (caches, used only once attested)
and read the evidence, but never write it: a stolen application login cannot sign, seal, add to
the Merkle log or vouch for a snapshot. The sealer may read what it seals and checks and write
only the evidence (seals, the Merkle log, snapshot attestations); it cannot write an event.
Neither owns anything, so neither can drop or disable the guard triggers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from chronicle.errors import InvalidEventError, StoreUnavailableError
from chronicle.store.ports import SessionFactory

_ROLE_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What the application role may write into an event row (never transaction_id, position, codec).
_APP_INSERT_COLUMNS = (
    "event_id", "aggregate_id", "aggregate_type", "event_type", "version", "schema_version",
    "partition", "timestamp", "user_id", "data", "metadata", "hash",
)  # fmt: skip
_EVIDENCE = (
    "chronicle_seals",
    "chronicle_merkle_leaves",
    "chronicle_merkle_nodes",
    "chronicle_snapshot_attestations",
)
"""Written by the sealer only; read by everyone who verifies."""
_RETENTION = ("chronicle_retention_cuts", "chronicle_retention_heads", "chronicle_holds")
"""Written by retention (run as the owner), holds also by the application; read by every append
(an aggregate whose events were all archived chains onto its kept head)."""
_PAYLOAD_COLUMNS = ("data", "metadata", "codec")
"""What the application role may rewrite in an event row: its payload's encoding (the worker
compresses old events); the guard trigger refuses any such UPDATE that touches anything else."""
_TABLES = (
    "chronicle_events",
    "chronicle_dictionaries",
    "chronicle_snapshots",
    "chronicle_checkpoints",
    "chronicle_schema",
    *_RETENTION,
    *_EVIDENCE,
)


def create_app_role(pool: ConnectionPool, role: str) -> list[str]:
    """A NOLOGIN group role for the application; returns the SQL run.

    It may INSERT (chosen columns) and SELECT events, re-encode their payloads (compression),
    INSERT and SELECT compression dictionaries and snapshots, keep its checkpoints and SELECT
    the evidence; it may not write seals, the Merkle log or attestations.
    Login roles join it (``CREATE ROLE app LOGIN PASSWORD '…' IN ROLE <role>``).
    """
    name = _identifier(role)
    done: list[str] = []
    try:
        with pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT current_schema()").fetchone()
            schema = str(row[0]) if row else "public"
            for statement in _app_grants(name, schema):
                conn.execute(statement)
                done.append(statement.as_string(conn))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _not_owner(role, exc) from exc
    return done


def create_sealer_role(store: SessionFactory, role: str) -> list[str]:
    """A NOLOGIN group role for the sealer and the snapshot attestor; returns the SQL run.

    It may SELECT events, snapshots, checkpoints and the evidence, and INSERT seals, Merkle
    leaves and nodes, and snapshot attestations; nothing else (no event, no snapshot, no
    checkpoint). Run in one transaction of ``store``, which must be a PostgreSQL store opened
    by the schema's owner. Login roles join it as for the application role.
    """
    name = _identifier(role)
    done: list[str] = []
    try:
        with store.session() as session:
            (schema,) = session.fetchone("SELECT current_schema()") or ("public",)
            for statement in _sealer_grants(name, str(schema)):
                text = statement.as_string(None)
                session.execute(text)
                done.append(text)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _not_owner(role, exc) from exc
    return done


def _identifier(role: str) -> sql.Identifier:
    if type(role) is not str or _ROLE_PATTERN.fullmatch(role) is None:
        raise InvalidEventError(
            f"a role name is 1-63 characters of a-z, 0-9 and '_', not starting with a "
            f"digit; got {role!r:.80}"
        )
    return sql.Identifier(role)


def _not_owner(role: str, exc: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"cannot create the role {role!r}: {exc}; run this as the schema's owner"
    )


def _tables(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _base(name: sql.Identifier, schema: str) -> list[sql.Composed]:
    """The role, its way into the schema, and nothing else: every earlier grant revoked, so
    running this again on a role of an older version takes away what it no longer may do."""
    return [
        sql.SQL(
            "DO $$ BEGIN CREATE ROLE {} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ).format(name),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), name),
        sql.SQL("REVOKE ALL ON {} FROM {}").format(_tables(_TABLES), name),
        sql.SQL("GRANT SELECT ON chronicle_schema TO {}").format(name),
    ]


def _app_grants(name: sql.Identifier, schema: str) -> list[sql.Composed]:
    return [
        *_base(name, schema),
        sql.SQL("GRANT SELECT ON chronicle_events, {} TO {}").format(_tables(_EVIDENCE), name),
        # Column by column: the role cannot choose a row's transaction id or position, so a
        # row it writes can never hide behind the commit-order cursor of log followers.
        sql.SQL("GRANT INSERT ({}) ON chronicle_events TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, _APP_INSERT_COLUMNS)), name
        ),
        sql.SQL("GRANT UPDATE ({}) ON chronicle_events TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, _PAYLOAD_COLUMNS)), name
        ),
        sql.SQL("GRANT SELECT ON {} TO {}").format(_tables(_RETENTION), name),
        # The admin API places and releases legal holds: the hold's event and its row go in
        # one transaction. A row added or removed behind the events' back makes retention
        # refuse to run (it folds the events itself), so this can stop removals, never cause one.
        sql.SQL("GRANT INSERT, DELETE ON chronicle_holds TO {}").format(name),
        sql.SQL("GRANT SELECT, INSERT ON chronicle_dictionaries TO {}").format(name),
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


def _sealer_grants(name: sql.Identifier, schema: str) -> list[sql.Composed]:
    return [
        *_base(name, schema),
        # chronicle_append runs with its caller's rights, so the sealer calling it still may
        # not insert an event.
        sql.SQL(
            "GRANT SELECT ON chronicle_events, chronicle_dictionaries, chronicle_snapshots, "
            "chronicle_checkpoints TO {}"
        ).format(name),
        sql.SQL("GRANT SELECT ON {} TO {}").format(_tables(_RETENTION), name),
        sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(_tables(_EVIDENCE), name),
    ]
