"""What differs between the SQL backends, and nothing else.

Every statement shared by the SQL backends is written once (see :mod:`.statements`) with
``:name`` placeholders and a few slots (``{order}``, ``{after}``, ``{visible}``…) that a
:class:`Dialect` fills when a store opens. A backend package subclasses it with its driver's
error translation. No driver is imported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import orjson

from chronicle.store.integrity import format_timestamp

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Dialect:
    """SQLite's spelling; PostgreSQL's dialect overrides what it spells differently."""

    name: ClassVar[str] = "sqlite"

    for_update: ClassVar[str] = ""
    """Appended to a SELECT that must lock the rows it reads until the transaction ends."""

    event_id_column: ClassVar[str] = "event_id"
    """How the event id is selected (as text)."""

    order: ClassVar[str] = "position"
    """The commit order of the log (what ``read_all`` walks)."""

    after: ClassVar[str] = "position > :after"
    """Events after the caller's cursor ``:after`` in commit order."""

    newest: ClassVar[str] = "position DESC"
    """Commit order backwards: newest first."""

    before: ClassVar[str] = "position < :after"
    """Events before the caller's cursor ``:after`` in commit order (a newest-first page)."""

    after_place: ClassVar[str] = "position > :after"
    """Like ``after``, with the cursor's place in commit order bound as parameters (found by
    ``cursor_place`` first): the planner sees the bound and counts on the commit-order index,
    where behind a subquery it guesses a third of the table and scans it all."""

    cursor_place: ClassVar[str | None] = None
    """A statement whose one value is ``:after_transaction``, the commit-order place of position
    ``:after``, for ``after_place``; None where the position is the place."""

    cut_place: ClassVar[str] = "NULL"
    """The commit-order place a retention cut records of its last events (see the PostgreSQL
    dialect); SQLite's order is the position, which needs none."""
    visible: ClassVar[str] = ""
    """Holds back events a reader may not hand out yet (PostgreSQL: behind running writers),
    by comparing with ``:horizon``."""

    horizon: ClassVar[str | None] = None
    """A statement whose one value is ``:horizon``, run on the reader's connection just before
    a read that has the ``{visible}`` slot, in a snapshot of its own; None when not needed."""

    rewrite_payloads: ClassVar[str | None] = None
    """One statement re-encoding many rows (parameters ``:positions``, ``:codecs``, ``:data``,
    ``:metadata`` as lists, and ``:old_codec``); None: one UPDATE per row (SQLite, in-process)."""

    remove_events: ClassVar[str | None] = None
    """One statement deleting many archived rows (``:positions``, ``:hashes`` as lists); None:
    one DELETE per row (SQLite, in-process). The guard trigger judges each row either way."""

    ids_in: ClassVar[str] = "event_id IN (SELECT value FROM json_each(:ids))"
    """Events whose id is one of the list parameter ``:ids`` (see :meth:`id_list`)."""

    aggregates_in: ClassVar[str] = "aggregate_id IN (SELECT value FROM json_each(:aggregate_ids))"
    """Events of the aggregates in the list parameter ``:aggregate_ids`` (see :meth:`id_list`)."""

    id_is: ClassVar[str] = "event_id = :event_id"
    """The event whose id is the text parameter ``:event_id``."""

    schema_table_exists: ClassVar[str] = (
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'chronicle_schema'"
    )
    """One row whose value is true when the schema table exists."""

    def sql(self, statement: str) -> str:
        """``statement`` as the driver takes it with a mapping of parameters.

        SQLite takes ``:name`` itself.
        """
        return statement

    def render(self, template: str) -> str:
        """A shared statement with this dialect's slots filled; slots it does not know stay.

        Slots are names in braces, so a literal brace in a shared statement is written twice.
        """
        return template.format_map(
            _Slots(
                order=self.order,
                after=self.after,
                newest=self.newest,
                before=self.before,
                after_place=self.after_place,
                visible=self.visible,
                ids_in=self.ids_in,
                aggregates_in=self.aggregates_in,
                id_is=self.id_is,
                event_id=self.event_id_column,
                cut_place=self.cut_place,
            )
        )

    def lock_tables(self, tables: Sequence[str]) -> str | None:
        """A statement that keeps other writers off ``tables`` until commit, if one is needed.

        SQLite has one writer at a time already.
        """
        return None

    def instant(self, value: datetime) -> Any:
        """A UTC datetime as the backend compares timestamps (SQLite: the stored text form)."""
        return format_timestamp(value)

    def timestamp(self) -> Callable[[Any], datetime]:
        """Turns a stored timestamp back into a timezone-aware datetime."""
        return datetime.fromisoformat

    def id_list(self, ids: Sequence[str]) -> Any:
        """The ``:ids`` parameter of :attr:`ids_in`."""
        return orjson.dumps(list(ids)).decode()

    def errors(self) -> AbstractContextManager[None]:
        """Translate the driver's errors into Chronicle's, once, at the boundary.

        An unreachable database becomes ``StoreUnavailableError``, a guard trigger's refusal
        ``ImmutableEventError`` and a unique violation ``DuplicateKeyError``, which the caller
        turns into what it means there (a seal number taken, an event id stored). A backend's
        dialect overrides this.
        """
        return _passthrough()


class _Slots(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@contextmanager
def _passthrough() -> Iterator[None]:
    yield


@lru_cache(maxsize=4096)
def named_to_pyformat(statement: str) -> str:
    """``:name`` placeholders as ``%(name)s`` (psycopg), with literal ``%`` escaped."""
    return _NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))
