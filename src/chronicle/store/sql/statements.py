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
    "user_id, data, metadata, schema_version, partition, hash"
)
"""The columns of a stored event, in the order :func:`~chronicle.store.sql.rows.event_reader`
reads them."""

SEAL_COLUMNS = "number, position, event_count, head, last_hash, sealed_at, public_key, signature"
SNAPSHOT_COLUMNS = "aggregate_id, aggregate_type, version, state_schema_version, state, created_at"

_EVENTS = f"SELECT {EVENT_COLUMNS} FROM chronicle_events"


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
    events_by_type: str = (
        f"{_EVENTS} WHERE event_type = :event_type{{filters}} ORDER BY position DESC LIMIT :limit"
    )
    all_events: str = (
        f"{_EVENTS} WHERE 1 = 1{{filters}} ORDER BY {{order}} LIMIT :limit OFFSET :offset"
    )
    read_all: str = f"{_EVENTS} WHERE {{after}}{{visible}} ORDER BY {{order}} LIMIT :limit"
    read_visible: str = f"{_EVENTS} WHERE {{after}} ORDER BY {{order}} LIMIT :limit"
    search: str = f"{_EVENTS} WHERE {{after}}{{visible}}{{filters}} ORDER BY {{order}} LIMIT :limit"
    lag: str = "SELECT count(*), min(timestamp) FROM chronicle_events WHERE {after}"
    aggregate_version: str = (
        "SELECT coalesce(max(version), 0) FROM chronicle_events WHERE aggregate_id = :aggregate_id"
    )
    count_all: str = "SELECT count(*) FROM chronicle_events"
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

    append_seal: str = (
        f"INSERT INTO chronicle_seals ({SEAL_COLUMNS}) VALUES (:number, :position, "
        ":event_count, :head, :last_hash, :sealed_at, :public_key, :signature)"
    )
    seals_after: str = (
        f"SELECT {SEAL_COLUMNS} FROM chronicle_seals WHERE number > :after "
        "ORDER BY number LIMIT :limit"
    )
    latest_seal: str = f"SELECT {SEAL_COLUMNS} FROM chronicle_seals ORDER BY number DESC LIMIT 1"

    stats_totals: str = (
        "SELECT count(*), count(DISTINCT aggregate_id), min(timestamp), max(timestamp) "
        "FROM chronicle_events"
    )
    stats_by_aggregate_type: str = (
        "SELECT aggregate_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
    )
    stats_by_event_type: str = (
        "SELECT event_type, count(*) FROM chronicle_events GROUP BY 1 ORDER BY 1"
    )

    schema_version: str = "SELECT coalesce(max(version), 0) FROM chronicle_schema"

    def render(self, dialect: Dialect) -> Statements:
        """These statements with ``dialect``'s slots filled (``{filters}`` is left for the call)."""
        return Statements(
            **{field.name: dialect.render(getattr(self, field.name)) for field in fields(self)}
        )


FILTERS = {
    "user_id": " AND user_id = :user_id",
    "aggregate_type": " AND aggregate_type = :aggregate_type",
    "event_type": " AND event_type = :event_type",
    "since": " AND timestamp >= :since",
    "until": " AND timestamp <= :until",
}
"""The optional filters of the audit queries, each bound to the parameter of its name."""
