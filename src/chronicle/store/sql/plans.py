"""What each read and write of the SQL core sends: a named statement and its parameters.

No I/O here. The sync SQL core (:class:`chronicle.store.sql.store.SQLStore`) and the async
PostgreSQL store (:mod:`chronicle.store.postgres.aio`) both build their statements with these
and read the rows back with :mod:`.rows`, so neither API has a statement of its own.
"""

from __future__ import annotations

from typing import Any

from chronicle.store.prepare import PreparedAppend, now_utc
from chronicle.store.queries import Filters
from chronicle.store.records import Snapshot
from chronicle.store.sql.dialect import Dialect
from chronicle.store.sql.statements import FILTERS, Statements, each_user_page

Plan = tuple[str, dict[str, Any]]
"""A statement with ``:name`` placeholders and the values to bind to them."""


class Plans:
    """The plans of one dialect's rendered statements."""

    def __init__(self, sql: Statements, dialect: Dialect) -> None:
        self._sql = sql
        self._dialect = dialect

    def aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> Plan:
        params: dict[str, Any] = {"aggregate_id": aggregate_id, "from_version": from_version}
        if to_version is None:
            return self._sql.events_of_aggregate, params
        return self._sql.events_of_aggregate_to, {**params, "to_version": to_version}

    def aggregates_events(self, aggregate_ids: tuple[str, ...]) -> Plan:
        return self._sql.events_of_aggregates, {
            "aggregate_ids": self._dialect.id_list(aggregate_ids)
        }

    def replay(self, aggregate_id: str, from_version: int, to_version: int | None) -> Plan:
        """The narrow read of loading: type, schema version and data only."""
        params: dict[str, Any] = {"aggregate_id": aggregate_id, "from_version": from_version}
        if to_version is None:
            return self._sql.replay_of_aggregate, params
        return self._sql.replay_of_aggregate_to, {**params, "to_version": to_version}

    def event_by_id(self, event_id: str) -> Plan:
        return self._sql.event_by_id, {"event_id": event_id}

    def aggregate_version(self, aggregate_id: str) -> Plan:
        return self._sql.aggregate_version, {"aggregate_id": aggregate_id}

    def event_count(self, aggregate_id: str | None) -> Plan:
        if aggregate_id is None:
            return self._sql.count_all, {}
        return self._sql.count_of_aggregate, {"aggregate_id": aggregate_id}

    def read_all(self, after: int, limit: int, *, gap_free: bool) -> Plan:
        """``gap_free``: the statement has a ``:horizon`` the reader binds (see ``horizon``)."""
        statement = self._sql.read_all if gap_free else self._sql.read_visible
        return statement, {"after": after, "limit": limit}

    def search(self, filters: Filters, after: int, limit: int, *, newest_first: bool) -> Plan:
        """An audit page, read under the horizon as ``read_all`` is: a page never skips an
        event that a running transaction commits later. Newest first, the first page starts
        below the horizon, so every event before it is committed already and older pages miss
        none."""
        sql = self._sql
        if not newest_first and not after:
            page, member = sql.search_first, sql.search_first_positions
            union = sql.events_at_positions
        elif not newest_first:
            page, member, union = sql.search, sql.search_positions, sql.events_at_positions
        elif after:
            page, member = sql.search_older, sql.search_older_positions
            union = sql.events_at_positions_newest
        else:
            page, member = sql.search_newest, sql.search_newest_positions
            union = sql.events_at_positions_newest
        users = filters.get("user_ids")
        if users is None:
            return self.filtered(page, filters, after=after, limit=limit)
        # Any of several users: each one's page of positions, merged in commit order by the
        # database (only it knows PostgreSQL's commit order), then the page of their union.
        members = each_user_page(member, len(users))
        others = {name: value for name, value in filters.items() if name != "user_ids"}
        each_user = {f"user_id_{n}": user for n, user in enumerate(users)}
        return self.filtered(
            union.replace("{members}", members), others, after=after, limit=limit, **each_user
        )

    def all_events(self, filters: Filters, limit: int, offset: int) -> Plan:
        return self.filtered(self._sql.all_events, filters, limit=limit, offset=offset)

    def newest_of_type(self, filters: Filters, limit: int) -> Plan:
        others = {name: value for name, value in filters.items() if name != "event_type"}
        return self.filtered(
            self._sql.events_by_type, others, event_type=filters["event_type"], limit=limit
        )

    def filtered(self, template: str, filters: Filters, **params: Any) -> Plan:
        """``template`` with its ``{filters}`` slot filled from ``filters`` (values bound)."""
        instant = self._dialect.instant
        for name, value in filters.items():
            params[name] = instant(value) if name in ("since", "until") else value
        return template.replace("{filters}", "".join(FILTERS[name] for name in filters)), params

    def stored_of_batch(self, batch: PreparedAppend) -> Plan:
        """The events of ``batch`` (by id) already stored for its aggregate."""
        ids = self._dialect.id_list([event.event_id for event in batch.events])
        return self._sql.stored_of_batch, {"aggregate_id": batch.aggregate_id, "ids": ids}

    def save_snapshot(self, snapshot: Snapshot, state: bytes) -> Plan:
        return self._sql.save_snapshot, {
            "aggregate_id": snapshot.aggregate_id,
            "version": snapshot.version,
            "aggregate_type": snapshot.aggregate_type,
            "state_schema_version": snapshot.state_schema_version,
            "state": state,
            "created_at": self._dialect.instant(now_utc()),
        }

    def load_snapshot(self, aggregate_id: str, max_version: int | None) -> Plan:
        if max_version is None:
            return self._sql.load_snapshot, {"aggregate_id": aggregate_id}
        return self._sql.load_snapshot_to, {
            "aggregate_id": aggregate_id,
            "max_version": max_version,
        }

    def dictionary(self, number: int) -> Plan:
        return self._sql.dictionary_content, {"number": number}
