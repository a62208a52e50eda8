"""The SQLite schema, as numbered migrations. Append new steps; never edit a released one."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE chronicle_events (
            position       INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id       TEXT    NOT NULL,
            aggregate_id   TEXT    NOT NULL,
            aggregate_type TEXT    NOT NULL,
            event_type     TEXT    NOT NULL,
            version        INTEGER NOT NULL CHECK (version >= 1),
            schema_version INTEGER NOT NULL DEFAULT 1,
            partition      INTEGER NOT NULL,
            timestamp      TEXT    NOT NULL,
            user_id        TEXT,
            data           BLOB    NOT NULL,
            metadata       BLOB    NOT NULL,
            codec          INTEGER NOT NULL DEFAULT 0,
            hash           BLOB    NOT NULL,
            UNIQUE (aggregate_id, version),
            UNIQUE (aggregate_id, event_id)
        );
        CREATE INDEX chronicle_events_by_type ON chronicle_events (event_type, position);
        CREATE INDEX chronicle_events_by_time ON chronicle_events (timestamp);
        CREATE INDEX chronicle_events_by_user ON chronicle_events (user_id, position);
        CREATE INDEX chronicle_events_by_partition ON chronicle_events (partition, position);

        CREATE TRIGGER chronicle_events_refuse_update BEFORE UPDATE ON chronicle_events
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: stored events are immutable (UPDATE refused)');
        END;
        CREATE TRIGGER chronicle_events_refuse_delete BEFORE DELETE ON chronicle_events
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: stored events are immutable (DELETE refused)');
        END;

        CREATE TABLE chronicle_snapshots (
            aggregate_id         TEXT    NOT NULL,
            version              INTEGER NOT NULL,
            aggregate_type       TEXT    NOT NULL,
            state_schema_version INTEGER NOT NULL,
            state                BLOB    NOT NULL,
            created_at           TEXT    NOT NULL,
            PRIMARY KEY (aggregate_id, version)
        ) WITHOUT ROWID;

        CREATE TABLE chronicle_checkpoints (
            name       TEXT    PRIMARY KEY,
            position   INTEGER NOT NULL,
            updated_at TEXT    NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    (
        2,
        """
        CREATE TABLE chronicle_seals (
            number      INTEGER PRIMARY KEY,
            position    INTEGER NOT NULL,
            event_count INTEGER NOT NULL,
            head        BLOB    NOT NULL,
            last_hash   BLOB    NOT NULL,
            sealed_at   TEXT    NOT NULL,
            public_key  BLOB,
            signature   BLOB
        );

        CREATE TRIGGER chronicle_seals_refuse_update BEFORE UPDATE ON chronicle_seals
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: seals are immutable (UPDATE refused)');
        END;
        CREATE TRIGGER chronicle_seals_refuse_delete BEFORE DELETE ON chronicle_seals
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: seals are immutable (DELETE refused)');
        END;
        """,
    ),
]

# INSERT OR REPLACE deletes the row it collides with without firing DELETE triggers: refuse any
# insert that would collide, before SQLite gets to replace anything.
MIGRATIONS.append(
    (
        3,
        """
        CREATE TRIGGER chronicle_events_refuse_replace BEFORE INSERT ON chronicle_events
        WHEN EXISTS (
            SELECT 1 FROM chronicle_events
             WHERE (aggregate_id = NEW.aggregate_id
                    AND (version = NEW.version OR event_id = NEW.event_id))
                OR position = NEW.position
        )
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: stored events are immutable (REPLACE refused)');
        END;
        CREATE TRIGGER chronicle_seals_refuse_replace BEFORE INSERT ON chronicle_seals
        WHEN EXISTS (SELECT 1 FROM chronicle_seals WHERE number = NEW.number)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: seals are immutable (REPLACE refused)');
        END;
        """,
    )
)

# The Merkle log (RFC 9162) the sealer keeps over commit order, and seals as tree heads: leaves
# name their event (position, aggregate, version); nodes are the complete subtrees above them.
# Snapshot attestations. All immutable like the events; an existing store's leaves are built by
# `chronicle migrate` afterwards. Events are found by id alone, for proofs.
MIGRATIONS.append(
    (
        4,
        """
        CREATE TABLE chronicle_merkle_leaves (
            leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
            position     INTEGER NOT NULL UNIQUE,
            hash         BLOB    NOT NULL CHECK (length(hash) = 32),
            aggregate_id TEXT    NOT NULL,
            version      INTEGER NOT NULL
        );
        CREATE TABLE chronicle_merkle_nodes (
            level      INTEGER NOT NULL CHECK (level >= 1),
            node_index INTEGER NOT NULL CHECK (node_index >= 0),
            hash       BLOB    NOT NULL CHECK (length(hash) = 32),
            PRIMARY KEY (level, node_index)
        ) WITHOUT ROWID;
        CREATE TABLE chronicle_snapshot_attestations (
            aggregate_id TEXT    NOT NULL,
            version      INTEGER NOT NULL CHECK (version >= 1),
            state_digest BLOB    NOT NULL CHECK (length(state_digest) = 32),
            seal_number  INTEGER NOT NULL CHECK (seal_number >= 1),
            attested_at  TEXT    NOT NULL,
            PRIMARY KEY (aggregate_id, version)
        ) WITHOUT ROWID;
        CREATE INDEX chronicle_events_by_event_id ON chronicle_events (event_id);
        ALTER TABLE chronicle_seals ADD COLUMN root BLOB;
        ALTER TABLE chronicle_seals ADD COLUMN previous BLOB;
        ALTER TABLE chronicle_seals ADD COLUMN key_id TEXT;
        """
        + "".join(
            f"""
        CREATE TRIGGER chronicle_{table}_refuse_{action} BEFORE {action.upper()} ON chronicle_{table}
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: chronicle_{table} is immutable ({action.upper()} refused)');
        END;
        """
            for table in ("merkle_leaves", "merkle_nodes", "snapshot_attestations")
            for action in ("update", "delete")
        )
        + """
        CREATE TRIGGER chronicle_merkle_leaves_refuse_replace BEFORE INSERT ON chronicle_merkle_leaves
        WHEN EXISTS (SELECT 1 FROM chronicle_merkle_leaves
                      WHERE leaf_index = NEW.leaf_index OR position = NEW.position)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: the Merkle log is immutable (REPLACE refused)');
        END;
        CREATE TRIGGER chronicle_merkle_nodes_refuse_replace BEFORE INSERT ON chronicle_merkle_nodes
        WHEN EXISTS (SELECT 1 FROM chronicle_merkle_nodes
                      WHERE level = NEW.level AND node_index = NEW.node_index)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: the Merkle log is immutable (REPLACE refused)');
        END;
        CREATE TRIGGER chronicle_snapshot_attestations_refuse_replace
        BEFORE INSERT ON chronicle_snapshot_attestations
        WHEN EXISTS (SELECT 1 FROM chronicle_snapshot_attestations
                      WHERE aggregate_id = NEW.aggregate_id AND version = NEW.version)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: an attestation is immutable (REPLACE refused)');
        END;
        """,
    )
)

# Compression (see chronicle.store.payloads): a row's payload may be re-encoded, and nothing else
# about it changed: an UPDATE must change the codec and leave every other column but data and
# metadata as it was. Dictionaries are kept forever. (SQLite has no CHECK to add to an existing
# table, so the guard also refuses an unknown codec.)
_EVENT_COLUMNS_KEPT = (
    "position", "event_id", "aggregate_id", "aggregate_type", "event_type", "version",
    "schema_version", "partition", "timestamp", "user_id", "hash",
)  # fmt: skip
MIGRATIONS.append(
    (
        5,
        """
        CREATE TABLE chronicle_dictionaries (
            number     INTEGER PRIMARY KEY CHECK (number >= 1),
            digest     BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
            dictionary BLOB    NOT NULL,
            samples    INTEGER NOT NULL CHECK (samples >= 0),
            ratio      REAL    NOT NULL,
            trained_at TEXT    NOT NULL
        );
        CREATE TRIGGER chronicle_dictionaries_refuse_update BEFORE UPDATE ON chronicle_dictionaries
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: compression dictionaries are immutable (UPDATE refused)');
        END;
        CREATE TRIGGER chronicle_dictionaries_refuse_delete BEFORE DELETE ON chronicle_dictionaries
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: compression dictionaries are immutable (DELETE refused)');
        END;

        DROP TRIGGER chronicle_events_refuse_update;
        CREATE TRIGGER chronicle_events_refuse_update BEFORE UPDATE ON chronicle_events
        WHEN NOT (NEW.codec IS NOT OLD.codec AND NEW.codec IN (0, 1, 2) AND """
        + " AND ".join(f"NEW.{column} IS OLD.{column}" for column in _EVENT_COLUMNS_KEPT)
        + """)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: stored events are immutable (UPDATE refused)');
        END;
        CREATE INDEX chronicle_events_uncompressed ON chronicle_events (position)
            WHERE codec = 0;
        """,
    )
)

# Filtered audit pages walk commit order, which on SQLite is the position: the user and event
# type indexes already end in it; the aggregate type gets one too.
MIGRATIONS.append(
    (
        6,
        """
        CREATE INDEX chronicle_events_by_aggregate_type
            ON chronicle_events (aggregate_type, position);
        """,
    )
)

# Retention (see chronicle.retention and the PostgreSQL schema's migration 8): cuts, kept heads
# and the active legal holds; an event row may be deleted only when it is sealed, inside a cut,
# its aggregate's head is kept at or after it, and it is on no hold. (SQLite has no SHA-256, so
# the leaf is matched by position, aggregate and version; the verifier compares its hash.)
MIGRATIONS.append(
    (
        7,
        """
        CREATE TABLE chronicle_retention_cuts (
            number           INTEGER PRIMARY KEY CHECK (number >= 1),
            tree_size        INTEGER NOT NULL CHECK (tree_size >= 1),
            head             BLOB    NOT NULL CHECK (length(head) = 32),
            root             BLOB    NOT NULL CHECK (length(root) = 32),
            receipt_position INTEGER NOT NULL UNIQUE,
            max_position     INTEGER NOT NULL,
            max_transaction  INTEGER,
            recorded_at      TEXT    NOT NULL
        );
        CREATE TABLE chronicle_retention_heads (
            aggregate_id TEXT    NOT NULL,
            version      INTEGER NOT NULL CHECK (version >= 1),
            hash         BLOB    NOT NULL CHECK (length(hash) = 32),
            position     INTEGER NOT NULL,
            cut          INTEGER NOT NULL,
            timestamp    TEXT    NOT NULL,
            PRIMARY KEY (aggregate_id, version)
        ) WITHOUT ROWID;
        CREATE TABLE chronicle_holds (
            hold_id      TEXT PRIMARY KEY,
            subject_kind TEXT NOT NULL CHECK (subject_kind IN ('aggregate', 'user')),
            subject_id   TEXT NOT NULL,
            reason       TEXT NOT NULL,
            placed_at    TEXT NOT NULL
        );
        CREATE INDEX chronicle_holds_by_subject ON chronicle_holds (subject_kind, subject_id);
        """
        + "".join(
            f"""
        CREATE TRIGGER chronicle_retention_{table}_refuse_{action}
        BEFORE {action.upper()} ON chronicle_retention_{table}
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: chronicle_retention_{table} is immutable ({action.upper()} refused)');
        END;
        """
            for table in ("cuts", "heads")
            for action in ("update", "delete")
        )
        + """
        CREATE TRIGGER chronicle_retention_cuts_refuse_replace
        BEFORE INSERT ON chronicle_retention_cuts
        WHEN EXISTS (SELECT 1 FROM chronicle_retention_cuts WHERE number = NEW.number)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: chronicle_retention_cuts is immutable (REPLACE refused)');
        END;
        CREATE TRIGGER chronicle_retention_heads_refuse_replace
        BEFORE INSERT ON chronicle_retention_heads
        WHEN EXISTS (SELECT 1 FROM chronicle_retention_heads
                      WHERE aggregate_id = NEW.aggregate_id AND version = NEW.version)
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: chronicle_retention_heads is immutable (REPLACE refused)');
        END;
        DROP TRIGGER chronicle_events_refuse_delete;
        CREATE TRIGGER chronicle_events_refuse_delete BEFORE DELETE ON chronicle_events
        WHEN NOT (
            OLD.aggregate_type NOT IN ('ChronicleRetention', 'LegalHold')
            AND EXISTS (
                SELECT 1 FROM chronicle_merkle_leaves l
                 WHERE l.position = OLD.position AND l.aggregate_id = OLD.aggregate_id
                   AND l.version = OLD.version
                   AND l.leaf_index < (SELECT max(c.tree_size) FROM chronicle_retention_cuts c))
            AND EXISTS (
                SELECT 1 FROM chronicle_retention_heads h
                 WHERE h.aggregate_id = OLD.aggregate_id AND h.version >= OLD.version)
            AND NOT EXISTS (
                SELECT 1 FROM chronicle_holds d
                 WHERE (d.subject_kind = 'aggregate' AND d.subject_id = OLD.aggregate_id)
                    OR (d.subject_kind = 'user' AND d.subject_id = OLD.user_id))
        )
        BEGIN
            SELECT RAISE(ABORT, 'chronicle: stored events are immutable (DELETE refused)');
        END;
        """,
    )
)

ANALYZE = "ANALYZE chronicle_events"
EVENTS_EXIST = "SELECT EXISTS (SELECT 1 FROM chronicle_events)"
"""Whether there are events to take statistics of (never ANALYZE an empty table)."""
"""Refresh the planner's statistics of the events (after migrating and after bulk work)."""

ANALYSIS_LIMIT = "PRAGMA analysis_limit = 10000"
"""Run before ``ANALYZE``: sample about this many rows of each index instead of reading it whole,
so refreshing the statistics of a large store takes moments, not a scan of every index."""

LATEST = MIGRATIONS[-1][0]

CREATE_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS chronicle_schema "
    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)


def split_script(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    import sqlite3

    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
