"""The PostgreSQL schema, as numbered migrations. Append new steps; never edit a released one.

Commit order: each row records the id of the transaction that wrote it (``xid8``). Readers walk
``(transaction_id, position)`` and stop below the oldest event writer still running (see
``horizon``), so an event whose position was taken early but committed late is never skipped,
and writers never take a table lock.

Appends go through ``chronicle_append`` (a batch) or one ``INSERT … SELECT`` (a single event):
one round trip that checks the expected version before taking positions, chains the integrity
hashes with ``chronicle_chain`` and inserts the whole batch in one statement.
Concurrent writers that pass the version check together are settled by the unique
``(aggregate_id, version)`` index: the loser's transaction fails and writes nothing.
"""

from __future__ import annotations

from .horizon import WRITER_LOCK

_APPEND_FUNCTION_V5 = r"""
        CREATE OR REPLACE FUNCTION chronicle_append(
            p_aggregate_id   text,
            p_aggregate_type text,
            p_expected       bigint,
            p_user_id        text,
            p_partition      smallint,
            p_timestamp      timestamptz,
            p_event_ids      uuid[],
            p_event_types    text[],
            p_schema_versions smallint[],
            p_data           bytea[],
            p_metadata       bytea[],
            p_digests        bytea[]
        ) RETURNS TABLE (out_position bigint, out_version bigint, out_hash bytea)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_current bigint;
            v_previous bytea;
            v_hashes bytea[] := '{}';
            v_count integer := cardinality(p_event_ids);
        BEGIN
            PERFORM {writer_lock};
            SELECT e.version, e.hash INTO v_current, v_previous
              FROM chronicle_events e
             WHERE e.aggregate_id = p_aggregate_id
             ORDER BY e.version DESC
             LIMIT 1;
            v_current := coalesce(v_current, 0);
            v_previous := coalesce(v_previous, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

            IF p_expected IS NULL OR p_expected <> v_current THEN
                -- Only a batch that does not fit the current version can be a retry.
                IF EXISTS (SELECT 1 FROM chronicle_events e
                            WHERE e.aggregate_id = p_aggregate_id
                              AND e.event_id = ANY (p_event_ids)) THEN
                    RAISE EXCEPTION 'already stored' USING ERRCODE = 'CH200';
                END IF;
                IF p_expected IS NOT NULL THEN
                    RAISE EXCEPTION '%', v_current USING ERRCODE = 'CH409';
                END IF;
            END IF;

            FOR i IN 1 .. v_count LOOP
                v_previous := chronicle_chain(v_previous, v_current + i, p_digests[i]);
                v_hashes := array_append(v_hashes, v_previous);
            END LOOP;

            RETURN QUERY
            INSERT INTO chronicle_events AS e (
                event_id, aggregate_id, aggregate_type, event_type, version, schema_version,
                partition, timestamp, user_id, data, metadata, hash)
            SELECT t.event_id, p_aggregate_id, p_aggregate_type, t.event_type, v_current + t.n,
                   t.schema_version, p_partition, p_timestamp, p_user_id, t.data, t.metadata,
                   t.hash
              FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata,
                          v_hashes)
                   WITH ORDINALITY AS t(event_id, event_type, schema_version, data, metadata,
                                        hash, n)
             ORDER BY t.n
            RETURNING e.position, e.version, e.hash;
        END
        $$;
""".replace("{writer_lock}", WRITER_LOCK)
"""Migration 5 as released: one call appends a batch (see the module's docstring). It takes the
writer lock first, before its insert gives the transaction an id (see ``horizon``)."""

_HEAD_DEFAULT = "            v_current := coalesce(v_current, 0);\n"
APPEND_FUNCTION = _APPEND_FUNCTION_V5.replace(
    _HEAD_DEFAULT,
    """            IF NOT FOUND THEN  -- its events may all be archived: chain onto the kept head
                SELECT h.version, h.hash INTO v_current, v_previous
                  FROM chronicle_retention_heads h
                 WHERE h.aggregate_id = p_aggregate_id
                 ORDER BY h.version DESC
                 LIMIT 1;
            END IF;
"""
    + _HEAD_DEFAULT,
)
"""``chronicle_append`` as it is now (migration 8): as in 5, and an aggregate whose events were all
archived by retention chains onto the head kept for it in ``chronicle_retention_heads``."""

# Migrations 1 and 3 as released: the same function without the writer lock.
_APPEND_FUNCTION_V3 = _APPEND_FUNCTION_V5.replace(f"            PERFORM {WRITER_LOCK};\n", "")

# Migration 1 as released: the same function, with the chain rule spelled out in place.
_APPEND_FUNCTION_V1 = _APPEND_FUNCTION_V3.replace("CREATE OR REPLACE", "CREATE").replace(
    "chronicle_chain(v_previous, v_current + i, p_digests[i])",
    "sha256(v_previous || int8send(v_current + i) || p_digests[i])",
)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        r"""
        CREATE TABLE chronicle_events (
            position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
            event_id       uuid        NOT NULL,
            aggregate_id   text        NOT NULL,
            aggregate_type text        NOT NULL,
            event_type     text        NOT NULL,
            version        bigint      NOT NULL CHECK (version >= 1),
            schema_version smallint    NOT NULL DEFAULT 1,
            partition      smallint    NOT NULL,
            timestamp      timestamptz NOT NULL,
            user_id        text,
            data           bytea       NOT NULL,
            metadata       bytea       NOT NULL,
            codec          smallint    NOT NULL DEFAULT 0,
            hash           bytea       NOT NULL,
            CONSTRAINT chronicle_events_aggregate_version UNIQUE (aggregate_id, version),
            CONSTRAINT chronicle_events_aggregate_event_id UNIQUE (aggregate_id, event_id)
        );
        CREATE INDEX chronicle_events_commit_order ON chronicle_events (transaction_id, position);
        CREATE INDEX chronicle_events_by_type ON chronicle_events (event_type, position);
        CREATE INDEX chronicle_events_by_time ON chronicle_events (timestamp);
        CREATE INDEX chronicle_events_by_user ON chronicle_events (user_id, position);
        CREATE INDEX chronicle_events_by_partition
            ON chronicle_events (partition, transaction_id, position);

        CREATE FUNCTION chronicle_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'chronicle: stored events are immutable (% refused)', TG_OP
                USING ERRCODE = 'CH403',
                      HINT = 'Events change only through Chronicle''s maintenance commands.';
        END
        $$;
        CREATE TRIGGER chronicle_events_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_events
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_change();
        CREATE TRIGGER chronicle_events_refuse_truncate
            BEFORE TRUNCATE ON chronicle_events
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_change();
        -- ALWAYS: the guards fire even under session_replication_role = replica.
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_refuse_change;
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_refuse_truncate;

        CREATE TABLE chronicle_snapshots (
            aggregate_id         text        NOT NULL,
            version              bigint      NOT NULL,
            aggregate_type       text        NOT NULL,
            state_schema_version integer     NOT NULL,
            state                bytea       NOT NULL,
            created_at           timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (aggregate_id, version)
        );

        CREATE TABLE chronicle_checkpoints (
            name       text        PRIMARY KEY,
            position   bigint      NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );

        """
        + _APPEND_FUNCTION_V1,
    ),
    (
        2,
        r"""
        -- Integrity checkpoints ("seals") recorded by the sealer: numbered, each with the head of
        -- the log chain over every event in commit order up to its position, optionally signed.
        CREATE TABLE chronicle_seals (
            number      bigint      PRIMARY KEY CHECK (number >= 1),
            position    bigint      NOT NULL,
            event_count bigint      NOT NULL,
            head        bytea       NOT NULL,
            last_hash   bytea       NOT NULL,
            sealed_at   timestamptz NOT NULL,
            public_key  bytea,
            signature   bytea
        );
        CREATE FUNCTION chronicle_refuse_seal_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'chronicle: seals are immutable (% refused)', TG_OP
                USING ERRCODE = 'CH403';
        END
        $$;
        CREATE TRIGGER chronicle_seals_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_seals
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_seal_change();
        CREATE TRIGGER chronicle_seals_refuse_truncate
            BEFORE TRUNCATE ON chronicle_seals
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_seal_change();
        ALTER TABLE chronicle_seals ENABLE ALWAYS TRIGGER chronicle_seals_refuse_change;
        ALTER TABLE chronicle_seals ENABLE ALWAYS TRIGGER chronicle_seals_refuse_truncate;
        """,
    ),
]

# The hash-chain rule of chronicle.store.integrity.chain, as the one SQL definition both append
# paths call (the planner inlines it: a one-line IMMUTABLE SQL function). Migration 1 spelled it
# out inside chronicle_append; from here on that function calls this one.
MIGRATIONS.append(
    (
        3,
        r"""
        CREATE FUNCTION chronicle_chain(previous bytea, version bigint, digest bytea)
        RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT sha256(previous || int8send(version) || digest)';

        """
        + _APPEND_FUNCTION_V3,
    )
)

# The Merkle log (RFC 9162) the sealer keeps over commit order, seals as tree heads, snapshot
# attestations; all immutable like the events. An existing store's leaves are built by
# `chronicle migrate` afterwards. Events are found by id alone, for proofs.
MIGRATIONS.append(
    (
        4,
        r"""
        CREATE TABLE chronicle_merkle_leaves (
            leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
            position     bigint NOT NULL UNIQUE,
            hash         bytea  NOT NULL CHECK (length(hash) = 32),
            aggregate_id text   NOT NULL,
            version      bigint NOT NULL
        );
        CREATE TABLE chronicle_merkle_nodes (
            level      smallint NOT NULL CHECK (level >= 1),
            node_index bigint   NOT NULL CHECK (node_index >= 0),
            hash       bytea    NOT NULL CHECK (length(hash) = 32),
            PRIMARY KEY (level, node_index)
        );
        CREATE TABLE chronicle_snapshot_attestations (
            aggregate_id text        NOT NULL,
            version      bigint      NOT NULL CHECK (version >= 1),
            state_digest bytea       NOT NULL CHECK (length(state_digest) = 32),
            seal_number  bigint      NOT NULL CHECK (seal_number >= 1),
            attested_at  timestamptz NOT NULL,
            PRIMARY KEY (aggregate_id, version)
        );
        CREATE INDEX chronicle_events_by_event_id ON chronicle_events (event_id);
        ALTER TABLE chronicle_seals ADD COLUMN root bytea, ADD COLUMN previous bytea,
            ADD COLUMN key_id text;
        CREATE FUNCTION chronicle_refuse_merkle_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'chronicle: the Merkle log is immutable (% refused)', TG_OP
                USING ERRCODE = 'CH403';
        END
        $$;
        """
        + "".join(
            f"""
        CREATE TRIGGER chronicle_{table}_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_{table}
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_merkle_change();
        CREATE TRIGGER chronicle_{table}_refuse_truncate
            BEFORE TRUNCATE ON chronicle_{table}
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_merkle_change();
        ALTER TABLE chronicle_{table} ENABLE ALWAYS TRIGGER chronicle_{table}_refuse_change;
        ALTER TABLE chronicle_{table} ENABLE ALWAYS TRIGGER chronicle_{table}_refuse_truncate;
        """
            for table in ("merkle_leaves", "merkle_nodes", "snapshot_attestations")
        ),
    )
)

# Followers wait only for Chronicle's own writers: both append paths take the writer lock (see
# ``horizon``); the single-event statement does so in its own text, the function from here on.
MIGRATIONS.append((5, _APPEND_FUNCTION_V5))

# Compression (see chronicle.store.payloads): a row's payload may be re-encoded, and nothing else
# about it changed. The guard lets an UPDATE through only when it changes the codec and leaves
# every column but the payload (data, metadata) and the codec as it was; the integrity hash is
# over the decoded content, so a re-encoding that changed the content fails verification.
# Dictionaries are kept forever, like the events whose payloads need them.
MIGRATIONS.append(
    (
        6,
        r"""
        CREATE TABLE chronicle_dictionaries (
            number     integer          PRIMARY KEY CHECK (number >= 1),
            digest     bytea            NOT NULL UNIQUE CHECK (length(digest) = 32),
            dictionary bytea            NOT NULL,
            samples    integer          NOT NULL CHECK (samples >= 0),
            ratio      double precision NOT NULL,
            trained_at timestamptz      NOT NULL
        );
        CREATE FUNCTION chronicle_refuse_dictionary_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'chronicle: compression dictionaries are immutable (% refused)',
                TG_OP USING ERRCODE = 'CH403';
        END
        $$;
        CREATE TRIGGER chronicle_dictionaries_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_dictionaries
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_dictionary_change();
        CREATE TRIGGER chronicle_dictionaries_refuse_truncate
            BEFORE TRUNCATE ON chronicle_dictionaries
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_dictionary_change();
        ALTER TABLE chronicle_dictionaries
            ENABLE ALWAYS TRIGGER chronicle_dictionaries_refuse_change;
        ALTER TABLE chronicle_dictionaries
            ENABLE ALWAYS TRIGGER chronicle_dictionaries_refuse_truncate;

        CREATE FUNCTION chronicle_guard_event_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.codec IS DISTINCT FROM OLD.codec AND NEW.codec IN (0, 1, 2)
               AND to_jsonb(NEW) - 'data' - 'metadata' - 'codec'
                   = to_jsonb(OLD) - 'data' - 'metadata' - 'codec' THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'chronicle: stored events are immutable (UPDATE refused)'
                USING ERRCODE = 'CH403',
                      HINT = 'Only a re-encoding of the payload, which changes the codec and '
                             'nothing else, is allowed.';
        END
        $$;
        DROP TRIGGER chronicle_events_refuse_change ON chronicle_events;
        CREATE TRIGGER chronicle_events_refuse_delete
            BEFORE DELETE ON chronicle_events
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_change();
        CREATE TRIGGER chronicle_events_guard_update
            BEFORE UPDATE ON chronicle_events
            FOR EACH ROW EXECUTE FUNCTION chronicle_guard_event_update();
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_refuse_delete;
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_guard_update;
        ALTER TABLE chronicle_events
            ADD CONSTRAINT chronicle_events_known_codec CHECK (codec IN (0, 1, 2));
        CREATE INDEX chronicle_events_uncompressed ON chronicle_events (position)
            WHERE codec = 0;
        """,
    )
)

# Filtered audit pages and exports walk commit order, ``(transaction_id, position)``: an index
# keyed on the filter column and then that order hands them a page without reading (or sorting)
# the rest of the filtered rows, whatever the log's size. ``(user_id, position)`` served only
# the position order and goes; ``(event_type, position)`` stays for the newest events of a type.
MIGRATIONS.append(
    (
        7,
        r"""
        CREATE INDEX chronicle_events_by_user_in_order
            ON chronicle_events (user_id, transaction_id, position);
        CREATE INDEX chronicle_events_by_type_in_order
            ON chronicle_events (event_type, transaction_id, position);
        CREATE INDEX chronicle_events_by_aggregate_type_in_order
            ON chronicle_events (aggregate_type, transaction_id, position);
        DROP INDEX chronicle_events_by_user;
        """,
    )
)

# Retention (see chronicle.retention): old events move to verified archive segments and leave
# the hot store by the one DELETE the guard allows. A cut records, with the receipt event that
# the seals cover, how far the log was archived (``tree_size`` Merkle leaves) and the log chain's
# head there; a kept head is the last archived event of each aggregate, what its next append and
# the verifier chain onto. A row may be deleted only when it is sealed (its Merkle leaf is its
# own), inside a cut, its aggregate's head is kept at or after it, it is on no legal hold, and
# it is no receipt or hold event. Cuts and heads are immutable; holds are the active legal
# holds, kept by their events' inline handler.
MIGRATIONS.append(
    (
        8,
        r"""
        CREATE TABLE chronicle_retention_cuts (
            number           bigint      PRIMARY KEY CHECK (number >= 1),
            tree_size        bigint      NOT NULL CHECK (tree_size >= 1),
            head             bytea       NOT NULL CHECK (length(head) = 32),
            root             bytea       NOT NULL CHECK (length(root) = 32),
            receipt_position bigint      NOT NULL UNIQUE,
            max_position     bigint      NOT NULL,
            max_transaction  xid8,
            recorded_at      timestamptz NOT NULL
        );
        CREATE TABLE chronicle_retention_heads (
            aggregate_id text   NOT NULL,
            version      bigint NOT NULL CHECK (version >= 1),
            hash         bytea  NOT NULL CHECK (length(hash) = 32),
            position     bigint NOT NULL,
            cut          bigint NOT NULL,
            timestamp    timestamptz NOT NULL,
            PRIMARY KEY (aggregate_id, version)
        );
        CREATE TABLE chronicle_holds (
            hold_id      text        PRIMARY KEY,
            subject_kind text        NOT NULL CHECK (subject_kind IN ('aggregate', 'user')),
            subject_id   text        NOT NULL,
            reason       text        NOT NULL,
            placed_at    timestamptz NOT NULL
        );
        CREATE INDEX chronicle_holds_by_subject ON chronicle_holds (subject_kind, subject_id);

        CREATE FUNCTION chronicle_refuse_retention_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'chronicle: retention cuts and kept heads are immutable (% refused)',
                TG_OP USING ERRCODE = 'CH403';
        END
        $$;
        CREATE TRIGGER chronicle_retention_cuts_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_retention_cuts
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_retention_change();
        CREATE TRIGGER chronicle_retention_cuts_refuse_truncate
            BEFORE TRUNCATE ON chronicle_retention_cuts
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_retention_change();
        CREATE TRIGGER chronicle_retention_heads_refuse_change
            BEFORE UPDATE OR DELETE ON chronicle_retention_heads
            FOR EACH ROW EXECUTE FUNCTION chronicle_refuse_retention_change();
        CREATE TRIGGER chronicle_retention_heads_refuse_truncate
            BEFORE TRUNCATE ON chronicle_retention_heads
            FOR EACH STATEMENT EXECUTE FUNCTION chronicle_refuse_retention_change();
        ALTER TABLE chronicle_retention_cuts
            ENABLE ALWAYS TRIGGER chronicle_retention_cuts_refuse_change;
        ALTER TABLE chronicle_retention_cuts
            ENABLE ALWAYS TRIGGER chronicle_retention_cuts_refuse_truncate;
        ALTER TABLE chronicle_retention_heads
            ENABLE ALWAYS TRIGGER chronicle_retention_heads_refuse_change;
        ALTER TABLE chronicle_retention_heads
            ENABLE ALWAYS TRIGGER chronicle_retention_heads_refuse_truncate;

        CREATE FUNCTION chronicle_guard_event_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.aggregate_type NOT IN ('ChronicleRetention', 'LegalHold')
               AND EXISTS (
                   SELECT 1 FROM chronicle_merkle_leaves l
                    WHERE l.position = OLD.position AND l.aggregate_id = OLD.aggregate_id
                      AND l.version = OLD.version
                      AND l.hash = sha256('\x00'::bytea || OLD.hash)
                      AND l.leaf_index < (SELECT max(c.tree_size)
                                            FROM chronicle_retention_cuts c))
               AND EXISTS (
                   SELECT 1 FROM chronicle_retention_heads h
                    WHERE h.aggregate_id = OLD.aggregate_id AND h.version >= OLD.version)
               AND NOT EXISTS (
                   SELECT 1 FROM chronicle_holds d
                    WHERE (d.subject_kind = 'aggregate' AND d.subject_id = OLD.aggregate_id)
                       OR (d.subject_kind = 'user' AND d.subject_id = OLD.user_id)) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'chronicle: stored events are immutable (DELETE refused)'
                USING ERRCODE = 'CH403',
                      HINT = 'Only retention deletes, and only sealed, archived events on no '
                             'legal hold whose aggregate head is kept.';
        END
        $$;
        DROP TRIGGER chronicle_events_refuse_delete ON chronicle_events;
        CREATE TRIGGER chronicle_events_refuse_delete
            BEFORE DELETE ON chronicle_events
            FOR EACH ROW EXECUTE FUNCTION chronicle_guard_event_delete();
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_refuse_delete;

        -- Receipts are the owner's (retention runs as the owner): a stolen application login
        -- appending one would take the next receipt's version and stop retention for good.
        CREATE FUNCTION chronicle_guard_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT pg_has_role(current_user,
                               (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID),
                               'USAGE') THEN
                RAISE EXCEPTION 'chronicle: only the schema''s owner records retention receipts'
                    USING ERRCODE = 'CH403';
            END IF;
            RETURN NEW;
        END
        $$;
        CREATE TRIGGER chronicle_events_receipts_by_owner
            BEFORE INSERT ON chronicle_events
            FOR EACH ROW WHEN (NEW.aggregate_type = 'ChronicleRetention')
            EXECUTE FUNCTION chronicle_guard_receipt();
        ALTER TABLE chronicle_events ENABLE ALWAYS TRIGGER chronicle_events_receipts_by_owner;
        """
        + APPEND_FUNCTION,
    )
)

# An audit page of one event type since a recent instant ("tickets opened since Monday") reads
# that type's events of the window off this index and sorts that handful into commit order; in
# commit order alone it would walk every older event of the type first, a cost that grows with
# the log (measured: 9.7 ms at 1,000,000 events, growing with each event of the type).
MIGRATIONS.append(
    (
        9,
        """
        CREATE INDEX chronicle_events_by_type_and_time ON chronicle_events (event_type, timestamp);
        """,
    )
)

ANALYZE = (
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM chronicle_events) THEN ANALYZE chronicle_events; "
    "END IF; END $$"
)
"""Refresh the planner's statistics of the events (after migrating and after bulk work); a role
that does not own the table gets a warning, not an error. Never of an empty table: statistics
that say "empty" are believed however much the table grows until the next ANALYZE, so every
append's head lookup would become a scan of the whole table (measured: appends slowing from
2,500/s to 1,300/s within 5,000 events)."""

CREATE_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS chronicle_schema "
    "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)

LATEST = MIGRATIONS[-1][0]
