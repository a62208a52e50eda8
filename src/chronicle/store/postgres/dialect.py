"""PostgreSQL's dialect: commit order by transaction id, the visibility rule, its driver's errors.

Commit order: each row records the id of the transaction that wrote it (``xid8``). Readers walk
``(transaction_id, position)`` and stop below the oldest event writer still running (see
:mod:`.horizon`), so an event whose position was taken early but committed late is never
skipped, writers never take a table lock, and transactions that write no events hold no one up. A reader's cursor is the pair; callers pass only
the position, and the pair is found from it (when that event is no longer stored, the walk
starts over from the oldest transaction: events may be re-delivered, never skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from chronicle.errors import (
    DuplicateKeyError,
    ImmutableEventError,
    InvalidEventError,
    StoreUnavailableError,
)
from chronicle.store.sql.dialect import Dialect, named_to_pyformat

from .horizon import HORIZON

IMMUTABLE = "CH403"
"""The SQLSTATE of the guard triggers' refusal."""

_NUL_REFUSED = "cannot contain NUL"
"""Part of the message of psycopg's client-side ``DataError`` for a NUL in a text parameter."""


def _same(value: Any) -> Any:
    return value


def _cursor_place(cut: str, fallback: str) -> str:
    """The commit-order place of the cursor ``:after``: its event's. When retention removed that
    event, a cut's place stands in for it: walking on, the first cut that may hold it (events
    may be re-delivered, never skipped); walking back, the last one, which holds it for certain
    (positions are not commit order, so an earlier cut with a higher position may end before
    it). A cursor that names no event, now or cut, starts the walk over from ``fallback``."""
    return (
        "coalesce((SELECT transaction_id FROM chronicle_events WHERE position = :after), "
        "(SELECT c.max_transaction FROM chronicle_retention_cuts c WHERE c.number = "
        f"(SELECT {cut}(number) FROM chronicle_retention_cuts "
        f"WHERE max_position >= :after AND :after > 0)), '{fallback}'::xid8)"
    )


class PostgresDialect(Dialect):
    name = "postgresql"
    for_update = " FOR UPDATE"
    event_id_column = "event_id::text"
    order = "transaction_id, position"
    _place = _cursor_place("min", "0")
    after = f"(transaction_id, position) > ({_place}, :after)"
    newest = "transaction_id DESC, position DESC"
    _place_back = _cursor_place("max", str(2**64 - 1))
    before = f"(transaction_id, position) < ({_place_back}, :after)"
    after_place = "(transaction_id, position) > (:after_transaction::xid8, :after)"
    cursor_place = f"SELECT {_place}::text"
    cut_place = (
        "(SELECT max(e.transaction_id) FROM chronicle_events e JOIN chronicle_merkle_leaves l "
        "ON l.position = e.position WHERE l.leaf_index < :tree_size)"
    )
    visible = " AND transaction_id < :horizon::xid8"
    horizon = HORIZON
    rewrite_payloads = (
        "UPDATE chronicle_events AS e SET codec = v.codec, data = v.data, metadata = v.metadata "
        "FROM unnest(:positions::bigint[], :codecs::smallint[], :data::bytea[], "
        ":metadata::bytea[]) AS v(position, codec, data, metadata) "
        "WHERE e.position = v.position AND e.codec = :old_codec"
    )
    remove_events = (
        "DELETE FROM chronicle_events AS e USING unnest(:positions::bigint[], :hashes::bytea[]) "
        "AS v(position, hash) WHERE e.position = v.position AND e.hash = v.hash"
    )
    ids_in = "event_id = ANY(:ids::uuid[])"
    aggregates_in = "aggregate_id = ANY(:aggregate_ids::text[])"
    id_is = "event_id = :event_id::uuid"
    schema_table_exists = "SELECT to_regclass('chronicle_schema') IS NOT NULL"

    def sql(self, statement: str) -> str:
        return named_to_pyformat(statement)

    def lock_tables(self, tables: Sequence[str]) -> str | None:
        return f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"

    def instant(self, value: datetime) -> Any:
        return value

    def timestamp(self) -> Callable[[Any], datetime]:
        return _same  # timestamptz comes back as an aware datetime (the session is in UTC)

    def id_list(self, ids: Sequence[str]) -> Any:
        return list(ids)

    @contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc
        except pg_errors.UniqueViolation as exc:
            raise DuplicateKeyError(str(exc), exc.diag.constraint_name) from exc
        except psycopg.DataError as exc:
            # psycopg refuses a NUL in a text parameter before sending anything (no SQLSTATE).
            # Callers check their input first; this is the last line of defence, so a NUL that
            # slipped through is the caller's bad input on PostgreSQL as on every backend.
            if exc.sqlstate is None and _NUL_REFUSED in str(exc):
                raise InvalidEventError(f"text cannot contain NUL (U+0000): {exc}") from exc
            raise
        except psycopg.Error as exc:
            if exc.sqlstate == IMMUTABLE:
                raise ImmutableEventError(str(exc)) from exc
            raise


DIALECT = PostgresDialect()
