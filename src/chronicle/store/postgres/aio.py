"""The async PostgreSQL event store, on psycopg's ``AsyncConnectionPool``.

A thin driver: the arguments are checked by :class:`~chronicle.store.aio.checked.AsyncCheckedStore`
(the sync store's checks), statements come from :class:`~chronicle.store.sql.plans.Plans` and
:mod:`.append`, rows are read by :mod:`chronicle.store.sql.rows`, failed appends are settled by
:func:`.append.settle`, and driver errors are translated by the same dialect. Only the awaiting
is its own. Connections are configured as the sync pool's are (UTC, the writer lock that
``read_all``'s horizon counts on), so both APIs can write to one store at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from chronicle.errors import ConcurrencyError, DuplicateKeyError, StoreUnavailableError
from chronicle.events import JSONObject, RecordedEvent, Replay
from chronicle.store.aio.checked import AsyncCheckedStore
from chronicle.store.payloads import Decoder, dictionary_of
from chronicle.store.prepare import PreparedAppend, matching_retry, recorded_from
from chronicle.store.queries import Filters
from chronicle.store.records import Snapshot
from chronicle.store.sql.plans import Plans
from chronicle.store.sql.rows import Row, event_reader, replay_reader, snapshot_from
from chronicle.store.sql.statements import Statements

from .append import RACED, STORED, run_append_async, settle
from .connections import CONFIGURE, redact
from .dialect import DIALECT
from .wakeup import CHANNEL, PostgresNotifier

log = logging.getLogger(__name__)

_ANY_VERSION_RETRIES = 20
_EVENT_CODEC, _EVENT_DATA, _EVENT_METADATA = 13, 8, 9
_REPLAY_CODEC, _REPLAY_DATA = 4, 3


def _as_stored(event_type: str, data: JSONObject) -> tuple[JSONObject, Any]:
    return data, None  # no personal data is opened on this API: sealed fields read as stored


class AsyncPostgresEventStore(AsyncCheckedStore):
    """The event store in PostgreSQL for ``async def`` code. Open it with :meth:`open`."""

    backend = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[Any], *, max_event_bytes: int) -> None:
        self.url = url
        self._pool = pool
        self._max_event_bytes = max_event_bytes
        self._plans = Plans(Statements().render(DIALECT), DIALECT)
        self._timestamp = DIALECT.timestamp()
        self._dictionaries: dict[int, bytes] = {}
        self._payloads = Decoder(self._dictionaries.get)
        self._event = event_reader(self._timestamp, self._payloads.decode, _as_stored)
        self._replayed = replay_reader(self._payloads.decode, _as_stored)
        self._notifier = PostgresNotifier(url)
        self._listener: psycopg.AsyncConnection[Any] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        max_event_bytes: int = 1024 * 1024,
    ) -> AsyncPostgresEventStore:
        """Open a pool on ``url`` (the schema must be current: see ``open_async_store``)."""
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=min_connections,
            max_size=max_connections,
            kwargs={"autocommit": True},
            timeout=connect_timeout,
            reconnect_timeout=1.0,
            open=False,
            name="chronicle-async",
            configure=_configure,
        )
        try:
            await pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL at {redact(url)} within {connect_timeout:g}s; "
                "is the server running and EVENT_STORE_URL right?"
            ) from exc
        return cls(url, pool, max_event_bytes=max_event_bytes)

    async def close(self) -> None:
        self._notifier.close()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._pool.close()  # later calls get StoreUnavailableError (the pool is closed)

    # -- I/O ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def _cursor(self) -> AsyncIterator[Any]:
        with DIALECT.errors():
            async with self._pool.connection() as conn, conn.cursor(binary=True) as cursor:
                yield cursor

    async def _rows(
        self,
        statement: str,
        params: dict[str, Any],
        *,
        gap_free: bool = False,
        payloads: tuple[int, ...] = (),
        replan: bool = False,
    ) -> list[Row]:
        """The rows of ``statement``; ``gap_free`` binds ``:horizon`` first (as the sync core
        does), ``payloads`` names the codec column and the payload columns to be decodable,
        ``replan`` plans it for its values on every call (never a prepared generic plan: see
        ``Session.fetchall``)."""
        async with self._cursor() as cursor:
            if gap_free and DIALECT.horizon is not None:
                await cursor.execute(DIALECT.horizon)
                row = await cursor.fetchone()
                params = {**params, "horizon": None if row is None else row[0]}
            await cursor.execute(
                DIALECT.sql(statement) if params else statement,
                params or None,
                prepare=False if replan else None,
            )
            rows: list[Row] = await cursor.fetchall()
            if payloads:
                await self._load_dictionaries(cursor, rows, payloads)
        return rows

    async def _load_dictionaries(self, cursor: Any, rows: list[Row], at: tuple[int, ...]) -> None:
        """Fetch the compression dictionaries ``rows`` need that are not cached yet, so that
        decoding them (in the row readers, which do no I/O) finds them."""
        codec, *columns = at
        wanted = {dictionary_of(row[codec], row[column]) for row in rows for column in columns}
        for number in wanted - self._dictionaries.keys() - {0}:
            statement, params = self._plans.dictionary(number)
            await cursor.execute(DIALECT.sql(statement), params)
            found = await cursor.fetchone()
            if found is not None:
                self._dictionaries[number] = bytes(found[0])

    async def _events(
        self,
        statement: str,
        params: dict[str, Any],
        *,
        gap_free: bool = False,
        replan: bool = False,
    ) -> list[RecordedEvent]:
        payloads = (_EVENT_CODEC, _EVENT_DATA, _EVENT_METADATA)
        rows = await self._rows(
            statement, params, gap_free=gap_free, payloads=payloads, replan=replan
        )
        read = self._event
        return [read(row) for row in rows]

    async def _scalar(self, statement: str, params: dict[str, Any]) -> Any:
        rows = await self._rows(statement, params)
        return rows[0][0] if rows else None

    # -- hooks -------------------------------------------------------------------------------

    async def _append(self, batch: PreparedAppend) -> list[RecordedEvent]:
        for _attempt in range(_ANY_VERSION_RETRIES):
            try:
                async with self._cursor() as cursor:
                    recorded = recorded_from(batch, await run_append_async(cursor, batch))
            except (DuplicateKeyError, psycopg.Error) as exc:
                outcome = settle(exc)
                if outcome is None:
                    raise
                if outcome == STORED:
                    return matching_retry(
                        batch, await self._events(*self._plans.stored_of_batch(batch))
                    )
                if outcome == RACED:
                    stored = await self._events(*self._plans.stored_of_batch(batch))
                    if stored:
                        return matching_retry(batch, stored)
                    if batch.expected_version is None:
                        continue
                    outcome = await self._aggregate_version(batch.aggregate_id)
                actual = int(outcome)
                raise ConcurrencyError(batch.aggregate_id, batch.expected_version, actual) from exc
            self._notifier.appended()
            return recorded
        actual = await self._aggregate_version(batch.aggregate_id)
        raise ConcurrencyError(batch.aggregate_id, batch.expected_version, actual)

    async def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        return await self._events(
            *self._plans.aggregate_events(aggregate_id, from_version, to_version)
        )

    async def _events_of_aggregates(self, aggregate_ids: tuple[str, ...]) -> list[RecordedEvent]:
        return await self._events(*self._plans.aggregates_events(aggregate_ids))

    async def _replay(self, aggregate_id: str, from_version: int, to_version: int | None) -> Replay:
        statement, params = self._plans.replay(aggregate_id, from_version, to_version)
        rows = await self._rows(statement, params, payloads=(_REPLAY_CODEC, _REPLAY_DATA))
        return self._replayed(rows)

    async def _event_by_id(self, event_id: str) -> RecordedEvent | None:
        found = await self._events(*self._plans.event_by_id(event_id))
        return found[0] if found else None

    async def _aggregate_version(self, aggregate_id: str) -> int:
        return int(await self._scalar(*self._plans.aggregate_version(aggregate_id)))

    async def _event_count(self, aggregate_id: str | None) -> int:
        return int(await self._scalar(*self._plans.event_count(aggregate_id)))

    async def _read_all(self, after: int, limit: int) -> list[RecordedEvent]:
        return await self._events(*self._plans.read_all(after, limit, gap_free=True), gap_free=True)

    async def _search(
        self, filters: Filters, after: int, limit: int, *, newest_first: bool
    ) -> list[RecordedEvent]:
        plan = self._plans.search(filters, after, limit, newest_first=newest_first)
        return await self._events(*plan, gap_free=True, replan=True)

    async def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        return await self._events(*self._plans.all_events(filters, limit, offset), replan=True)

    async def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        return await self._events(*self._plans.newest_of_type(filters, limit), replan=True)

    async def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        statement, params = self._plans.save_snapshot(snapshot, state)
        async with self._cursor() as cursor:
            await cursor.execute(DIALECT.sql(statement), params)

    async def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        rows = await self._rows(*self._plans.load_snapshot(aggregate_id, max_version))
        return snapshot_from(rows[0], self._timestamp) if rows else None

    # -- following ---------------------------------------------------------------------------

    async def wait_for_commits(self, timeout: float) -> None:
        """Sleep until a ``NOTIFY`` of new commits (on a ``LISTEN`` connection of its own), or
        ``timeout`` seconds; without that connection, just ``timeout`` (polling)."""
        try:
            if self._listener is None or self._listener.closed:
                self._listener = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=5
                )
                await self._listener.execute(f"LISTEN {CHANNEL}")
            async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as exc:
            log.warning("LISTEN unavailable, following by polling: %s", exc)
            self._listener = None
            await asyncio.sleep(timeout)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    for statement in CONFIGURE:
        await conn.execute(statement)
