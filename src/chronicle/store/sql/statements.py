"""Every statement the SQL backends share, written once and named.

Placeholders are ``:name``; the slots in braces are filled by the backend's
:class:`~chronicle.store.sql.dialect.Dialect` when a store opens (commit order, the cursor, the
visibility rule, how an id list is matched). A backend writes only what is truly its own: its
append path, its schema, its roles.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from chronicle.store.sql.dialect import Dialect

EVENT_COLUMNS = (
    "position, {event_id}, aggregate_id, aggregate_type, event_type, version, timestamp, "
    "user_id, data, metadata, schema_version, partition, hash, codec"
)
"""The columns of a stored event, in the order :func:`~chronicle.store.sql.rows.event_reader`
reads them."""
REPLAY_COLUMNS = (
    "CASE WHEN version = :from_version THEN aggregate_type END, event_type, schema_version, "
    "data, codec"
)
"""What loading an aggregate needs of each event, in the order
:func:`~chronicle.store.sql.rows.replay_reader` reads them. The aggregate type is read from the
first row only (NULL in the others): a replay checks it once, and a text column on every row of
a long history costs a tenth of the read."""

SEAL_COLUMNS = (
    "number, position, event_count, head, last_hash, sealed_at, public_key, signature, root, "
    "previous, key_id"
)
LEAF_COLUMNS = "leaf_index, hash, position, aggregate_id, version"
CUT_COLUMNS = "number, tree_size, head, root, receipt_position, max_position, recorded_at"
HEAD_COLUMNS = "aggregate_id, version, hash, position, cut, timestamp"
HOLD_COLUMNS = "hold_id, subject_kind, subject_id, reason, placed_at"
SNAPSHOT_COLUMNS = "aggregate_id, aggregate_type, version, state_schema_version, state, created_at"

_EVENTS = f"SELECT {EVENT_COLUMNS} FROM chronicle_events"
# The WHERE and ORDER BY of an audit search page: in commit order after the cursor; newest
# first from the newest event; newest first before the cursor.
_SEARCH = "{after}{visible}{filters} ORDER BY {order} LIMIT :limit"
# The first page has no cursor to compare with: a condition that holds for every row would
# only mislead the planner (it guesses a third of the rows pass a row comparison it cannot
# evaluate), which then walks a whole filter index rather than the time index of a ``since``.
_SEARCH_FIRST = "1 = 1{visible}{filters} ORDER BY {order} LIMIT :limit"
_SEARCH_NEWEST = "1 = 1{visible}{filters} ORDER BY {newest} LIMIT :limit"
_SEARCH_OLDER = "{before}{visible}{filters} ORDER BY {newest} LIMIT :limit"
_ATTESTED_SNAPSHOTS = (
    "SELECT "
    + ", ".join(f"s.{column}" for column in SNAPSHOT_COLUMNS.split(", "))
    + ", a.state_digest, a.seal_number FROM chronicle_snapshots s "
    "{join} chronicle_snapshot_attestations a "
    "ON a.aggregate_id = s.aggregate_id AND a.version = s.version"
)
"""Snapshots with their attestations: ``SNAPSHOT_COLUMNS``, then the attested digest and seal
number (NULL where a LEFT JOIN finds no attestation)."""
_AFTER_SNAPSHOT = (
    "(s.aggregate_id > :after_id OR (s.aggregate_id = :after_id AND s.version > :after_version))"
)


@dataclass(frozen=True, slots=True)
class Statements:
    """The shared statements, each a template until :meth:`render` fills it for a dialect."""

    stored_of_batch: str = (
        f"{_EVENTS} WHERE aggregate_id = :aggregate_id AND {{ids_in}} ORDER BY version"
    )
    events_of_aggregate: str = (
        f"{_EVENTS} WHERE aggregate_id = :aggregate_id AND version >= :from_version "
        "ORDER BY version"
    )
    events_of_aggregate_to: str = (
        f"{_EVENTS} WHERE aggregate_id = :aggregate_id "
        "AND version >= :from_version AND version <= :to_version ORDER BY version"
    )
    events_of_aggregates: str = f"{_EVENTS} WHERE {{aggregates_in}} ORDER BY aggregate_id, version"
    replay_of_aggregate: str = (
        f"SELECT {REPLAY_COLUMNS} FROM chronicle_events WHERE aggregate_id = :aggregate_id "
        "AND version >= :from_version ORDER BY version"
    )
    replay_of_aggregate_to: str = (
        f"SELECT {REPLAY_COLUMNS} FROM chronicle_events WHERE aggregate_id = :aggregate_id "
        "AND version >= :from_version AND version <= :to_version ORDER BY version"
    )
    events_by_type: str = (
        f"{_EVENTS} WHERE event_type = :event_type{{filters}} ORDER BY position DESC LIMIT :limit"
    )
    all_events: str = (
        f"{_EVENTS} WHERE 1 = 1{{filters}} ORDER BY {{order}} LIMIT :limit OFFSET :offset"
    )
    read_all: str = f"{_EVENTS} WHERE {{after}}{{visible}} ORDER BY {{order}} LIMIT :limit"
    read_visible: str = f"{_EVENTS} WHERE {{after}} ORDER BY {{order}} LIMIT :limit"
    search: str = f"{_EVENTS} WHERE {_SEARCH}"
    search_first: str = f"{_EVENTS} WHERE {_SEARCH_FIRST}"
    search_newest: str = f"{_EVENTS} WHERE {_SEARCH_NEWEST}"
    search_older: str = f"{_EVENTS} WHERE {_SEARCH_OLDER}"
    # A search for the events of any of several users: one page of positions per user (each
    # read off its index in order), then the page of their union in the same order.
    search_positions: str = f"SELECT position FROM chronicle_events WHERE {_SEARCH}"
    search_first_positions: str = f"SELECT position FROM chronicle_events WHERE {_SEARCH_FIRST}"
    search_newest_positions: str = f"SELECT position FROM chronicle_events WHERE {_SEARCH_NEWEST}"
    search_older_positions: str = f"SELECT position FROM chronicle_events WHERE {_SEARCH_OLDER}"
    events_at_positions: str = (
        f"{_EVENTS} WHERE position IN ({{members}}) ORDER BY {{order}} LIMIT :limit"
    )
    events_at_positions_newest: str = (
        f"{_EVENTS} WHERE position IN ({{members}}) ORDER BY {{newest}} LIMIT :limit"
    )
    # Both read off the commit-order index: at most :most entries counted, one row's time.
    lag: str = (
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM chronicle_events WHERE {after_place} "
        "LIMIT :most) AS behind), (SELECT timestamp FROM chronicle_events WHERE {after_place} "
        "ORDER BY {order} LIMIT 1)"
    )
    event_by_id: str = f"{_EVENTS} WHERE {{id_is}}"
    aggregate_version: str = (
        "SELECT coalesce(max(version), (SELECT max(version) FROM chronicle_retention_heads "
        "WHERE aggregate_id = :aggregate_id), 0) FROM chronicle_events "
        "WHERE aggregate_id = :aggregate_id"
    )
    count_all: str = "SELECT count(*) FROM chronicle_events"
    raw_rows: str = f"{_EVENTS} WHERE position > :after ORDER BY position LIMIT :limit"
    rows_up_to: str = (
        "SELECT count(*), max(position) FROM chronicle_events WHERE position <= :position"
    )
    count_of_aggregate: str = (
        "SELECT count(*) FROM chronicle_events WHERE aggregate_id = :aggregate_id"
    )

    save_snapshot: str = (
        "INSERT INTO chronicle_snapshots (aggregate_id, version, aggregate_type, "
        "state_schema_version, state, created_at) VALUES (:aggregate_id, :version, "
        ":aggregate_type, :state_schema_version, :state, :created_at) "
        # Insert only (the application role may not update snapshots); one snapshot per
        # version is enough, a later interval writes the next.
        "ON CONFLICT (aggregate_id, version) DO NOTHING"
    )
    load_snapshot: str = (
        f"SELECT {SNAPSHOT_COLUMNS} FROM chronicle_snapshots WHERE aggregate_id = :aggregate_id "
        "ORDER BY version DESC LIMIT 1"
    )
    load_snapshot_to: str = (
        f"SELECT {SNAPSHOT_COLUMNS} FROM chronicle_snapshots WHERE aggregate_id = :aggregate_id "
        "AND version <= :max_version ORDER BY version DESC LIMIT 1"
    )
    attested_snapshots: str = (
        _ATTESTED_SNAPSHOTS.replace("{join}", "JOIN")
        + " WHERE s.aggregate_id = :aggregate_id AND s.version <= :max_version "
        "ORDER BY s.version DESC LIMIT :limit"
    )
    stored_snapshots: str = (
        _ATTESTED_SNAPSHOTS.replace("{join}", "LEFT JOIN")
        + f" WHERE {_AFTER_SNAPSHOT} ORDER BY s.aggregate_id, s.version LIMIT :limit"
    )
    unattested_snapshots: str = (
        _ATTESTED_SNAPSHOTS.replace("{join}", "LEFT JOIN")
        + f" WHERE a.aggregate_id IS NULL AND {_AFTER_SNAPSHOT} "
        "ORDER BY s.aggregate_id, s.version LIMIT :limit"
    )
    attest_snapshot: str = (
        "INSERT INTO chronicle_snapshot_attestations (aggregate_id, version, state_digest, "
        "seal_number, attested_at) VALUES (:aggregate_id, :version, :state_digest, "
        ":seal_number, :attested_at)"
    )
    attestation_exists: str = (
        "SELECT count(*) FROM chronicle_snapshot_attestations "
        "WHERE aggregate_id = :aggregate_id AND version = :version"
    )

    append_seal: str = (
        f"INSERT INTO chronicle_seals ({SEAL_COLUMNS}) VALUES (:number, :position, "
        ":event_count, :head, :last_hash, :sealed_at, :public_key, :signature, :root, "
        ":previous, :key_id)"
    )
    # Multi-row inserts: {rows} is filled by values_rows() for the batch at hand.
    insert_merkle_leaves: str = (
        "INSERT INTO chronicle_merkle_leaves (leaf_index, position, hash, aggregate_id, version) "
        "VALUES {rows}"
    )
    insert_merkle_nodes: str = (
        "INSERT INTO chronicle_merkle_nodes (level, node_index, hash) VALUES {rows}"
    )
    merkle_leaf_hash: str = "SELECT hash FROM chronicle_merkle_leaves WHERE leaf_index = :index"
    merkle_node_hash: str = (
        "SELECT hash FROM chronicle_merkle_nodes WHERE level = :level AND node_index = :index"
    )
    merkle_leaf_of: str = (
        f"SELECT {LEAF_COLUMNS} FROM chronicle_merkle_leaves WHERE position = :position"
    )
    merkle_leaf_at: str = (
        f"SELECT {LEAF_COLUMNS} FROM chronicle_merkle_leaves WHERE leaf_index = :index"
    )
    merkle_size: str = "SELECT coalesce(max(leaf_index) + 1, 0) FROM chronicle_merkle_leaves"
    seals_after: str = (
        f"SELECT {SEAL_COLUMNS} FROM chronicle_seals WHERE number > :after "
        "ORDER BY number LIMIT :limit"
    )
    seal_exists: str = "SELECT count(*) FROM chronicle_seals WHERE number = :number"
    latest_seal: str = f"SELECT {SEAL_COLUMNS} FROM chronicle_seals ORDER BY number DESC LIMIT 1"

    stats_totals: str = (
        "SELECT count(*), count(DISTINCT aggregate_id), min(timestamp), max(timestamp) "
        "FROM chronicle_events"
    )
    # Each min/max alone in its own subquery: both backends then read one end of the time index
    # instead of scanning the table (what health and metrics ask on every call).
    time_range: str = (
        "SELECT (SELECT min(timestamp) FROM chronicle_events), "
        "(SELECT max(timestamp) FROM chronicle_events)"
    )
    stats_by_aggregate_type: str = (
        "SELECT aggregate_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
    )
    stats_by_event_type: str = (
        "SELECT event_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
    )
    # -- payloads and their codecs (compression) -----------------------------------------------
    uncompressed_payloads: str = (
        "SELECT position, data, metadata FROM chronicle_events "
        "WHERE codec = 0 AND position > :after AND timestamp < :before "
        "ORDER BY position LIMIT :limit"
    )
    encoded_payloads: str = (
        "SELECT position, codec, data, metadata FROM chronicle_events "
        "WHERE codec <> 0 AND position > :after ORDER BY position LIMIT :limit"
    )
    rewrite_payload: str = (
        "UPDATE chronicle_events SET codec = :codec, data = :data, metadata = :metadata "
        "WHERE position = :position AND codec = :old_codec"
    )
    payload_bytes: str = (
        "SELECT codec, count(*), coalesce(sum(length(data) + length(metadata)), 0) "
        "FROM chronicle_events GROUP BY codec ORDER BY codec"
    )
    dictionaries: str = (
        "SELECT number, dictionary, samples, ratio, trained_at FROM chronicle_dictionaries "
        "ORDER BY number"
    )
    dictionary_content: str = "SELECT dictionary FROM chronicle_dictionaries WHERE number = :number"
    insert_dictionary: str = (
        "INSERT INTO chronicle_dictionaries (number, digest, dictionary, samples, ratio, "
        "trained_at) VALUES (:number, :digest, :dictionary, :samples, :ratio, :trained_at)"
    )

    # -- retention (see chronicle.retention) ---------------------------------------------------
    sealed_events: str = (
        f"SELECT {EVENT_COLUMNS}, leaf_index FROM chronicle_events JOIN "
        "(SELECT leaf_index, position AS leaf_position FROM chronicle_merkle_leaves "
        "WHERE leaf_index >= :start AND leaf_index < :stop) leaves ON leaf_position = position "
        "ORDER BY leaf_index LIMIT :limit"
    )
    delete_event: str = "DELETE FROM chronicle_events WHERE position = :position AND hash = :hash"
    retention_cuts: str = f"SELECT {CUT_COLUMNS} FROM chronicle_retention_cuts ORDER BY number"
    insert_retention_cut: str = (
        f"INSERT INTO chronicle_retention_cuts ({CUT_COLUMNS}, max_transaction) VALUES "
        "(:number, :tree_size, :head, :root, :receipt_position, :max_position, :recorded_at, "
        "{cut_place})"
    )
    retention_head: str = (
        f"SELECT {HEAD_COLUMNS} FROM chronicle_retention_heads "
        "WHERE aggregate_id = :aggregate_id ORDER BY version DESC LIMIT 1"
    )
    insert_retention_heads: str = (
        f"INSERT INTO chronicle_retention_heads ({HEAD_COLUMNS}) VALUES {{rows}}"
    )
    # What is still stored below a cut: found from the events' side (positions up to the cut's
    # highest), so the cost is that of the few rows a hold kept, not of the archived leaves.
    kept_below_cut: str = (
        f"SELECT {EVENT_COLUMNS}, leaf_index FROM chronicle_events JOIN "
        "(SELECT leaf_index, position AS leaf_position FROM chronicle_merkle_leaves) leaves "
        "ON leaf_position = position WHERE position <= :max_position "
        "AND leaf_index < :tree_size ORDER BY leaf_index"
    )
    prefix_kept: str = (
        "SELECT count(*) FROM chronicle_events e JOIN chronicle_merkle_leaves l "
        "ON l.position = e.position WHERE e.position <= :max_position "
        "AND l.leaf_index < :tree_size"
    )
    checkpoint_positions: str = "SELECT name, position FROM chronicle_checkpoints ORDER BY name"
    count_retention_heads: str = "SELECT count(*) FROM chronicle_retention_heads"
    holds: str = f"SELECT {HOLD_COLUMNS} FROM chronicle_holds ORDER BY placed_at, hold_id"
    insert_hold: str = (
        f"INSERT INTO chronicle_holds ({HOLD_COLUMNS}) VALUES (:hold_id, :subject_kind, "
        ":subject_id, :reason, :placed_at)"
    )
    delete_hold: str = "DELETE FROM chronicle_holds WHERE hold_id = :hold_id"

    schema_version: str = "SELECT coalesce(max(version), 0) FROM chronicle_schema"

    def render(self, dialect: Dialect) -> Statements:
        """These statements with ``dialect``'s slots filled (``{filters}`` is left for the call)."""
        return Statements(
            **{field.name: dialect.render(getattr(self, field.name)) for field in fields(self)}
        )


MERKLE_LEAF_ROW = ("index", "position", "hash", "aggregate_id", "version")
MERKLE_NODE_ROW = ("level", "index", "hash")
RETENTION_HEAD_ROW = ("aggregate_id", "version", "hash", "position", "cut", "timestamp")


def values_rows(names: tuple[str, ...], rows: int) -> str:
    """The ``{rows}`` of a multi-row insert: ``(:index_0, :hash_0), (:index_1, :hash_1)…``."""
    return ", ".join(
        "(" + ", ".join(f":{name}_{row}" for name in names) + ")" for row in range(rows)
    )


def each_user_page(member: str, users: int) -> str:
    """The ``{members}`` of ``events_at_positions``: ``member`` (a page of positions) once per
    user, the n-th for the user bound to ``:user_id_n``, as one UNION ALL."""
    pages = []
    for n in range(users):
        filters = "{filters}" + f" AND user_id = :user_id_{n}"
        pages.append(f"SELECT position FROM ({member.replace('{filters}', filters)}) AS s{n}")
    return " UNION ALL ".join(pages)


FILTERS = {
    "user_id": " AND user_id = :user_id",
    "aggregate_type": " AND aggregate_type = :aggregate_type",
    "event_type": " AND event_type = :event_type",
    "since": " AND timestamp >= :since",
    "until": " AND timestamp <= :until",
}
"""The optional filters of the audit queries, each bound to the parameter of its name."""
