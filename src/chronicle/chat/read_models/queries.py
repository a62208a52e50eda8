"""Read queries over the chat read models (``users``, ``projects``, ``tickets``, ``messages``).

Every function takes an open :class:`~chronicle.store.ports.Session` (usually the store's
``read_session()``) and returns JSON-ready dicts, or None when the id is unknown. Values always
travel as parameters.
"""

from __future__ import annotations

from typing import Any

import orjson

from chronicle.store.ports import Session

Row = dict[str, Any]

_USER = ("id", "username", "email", "role", "version", "created_at", "updated_at")
_PROJECT = (
    "id",
    "name",
    "description",
    "owner_id",
    "status",
    "version",
    "created_at",
    "updated_at",
)
_TICKET = (
    "id",
    "title",
    "description",
    "project_id",
    "priority",
    "status",
    "assigned_to",
    "assigned_by",
    "version",
    "created_at",
    "updated_at",
)
_MESSAGE = (
    "id", "content", "username", "message_type", "project_id", "mentions", "author_id",
    "deleted", "created_position", "version", "created_at", "updated_at",
)  # fmt: skip


def _one(session: Session, table: str, columns: tuple[str, ...], row_id: str) -> Row | None:
    row = session.fetchone(
        f"SELECT {', '.join(columns)} FROM {table} WHERE id = :id", {"id": row_id}
    )
    return None if row is None else dict(zip(columns, row, strict=True))


def _message(row: Row) -> Row:
    row = dict(row)
    row["mentions"] = orjson.loads(row["mentions"])
    row["is_deleted"] = bool(row.pop("deleted"))
    row.pop("created_position")
    # A message's events are its creation, its edits and at most one deletion (the last), so
    # its version counts them all: the edits are what is left (the aggregate's ``edit_count``).
    row["edit_count"] = int(row["version"]) - 1 - int(row["is_deleted"])
    return row


def user(session: Session, user_id: str) -> Row | None:
    return _one(session, "users", _USER, user_id)


def project(session: Session, project_id: str) -> Row | None:
    return _one(session, "projects", _PROJECT, project_id)


def ticket(session: Session, ticket_id: str) -> Row | None:
    return _one(session, "tickets", _TICKET, ticket_id)


def message(session: Session, message_id: str) -> Row | None:
    row = _one(session, "messages", _MESSAGE, message_id)
    return None if row is None else _message(row)


def messages(
    session: Session,
    *,
    project_id: str | None = None,
    after: int | None = None,
    limit: int = 50,
    deleted: bool = False,
) -> tuple[list[Row], int | None]:
    """Live messages (``deleted``: deleted ones too) in the order they were created, and the
    cursor of the next page: the creation position of the last message returned (None on the
    last page).
    """
    live = "" if deleted else "deleted = 0 AND "
    sql = f"SELECT {', '.join(_MESSAGE)} FROM messages WHERE {live}created_position > :after"
    params: dict[str, Any] = {"after": after or 0, "limit": limit + 1}
    if project_id is not None:
        sql += " AND project_id = :project_id"
        params["project_id"] = project_id
    rows = [
        dict(zip(_MESSAGE, row, strict=True))
        for row in session.fetchall(sql + " ORDER BY created_position LIMIT :limit", params)
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1]["created_position"] if more and rows else None
    return [_message(row) for row in rows], cursor


def last_message_position(session: Session) -> int:
    """The highest creation position in ``messages`` (0 when empty)."""
    row = session.fetchone("SELECT coalesce(max(created_position), 0) FROM messages")
    return int(row[0]) if row else 0


def row_version(session: Session, table: str, row_id: str, *, lock: bool = False) -> int | None:
    """The version a read-model row reflects (locked for this transaction when asked)."""
    sql = f"SELECT version FROM {table} WHERE id = :id"
    if lock:
        sql += session.dialect.for_update
    row = session.fetchone(sql, {"id": row_id})
    return None if row is None else int(row[0])


TABLES = {"User": "users", "Project": "projects", "Ticket": "tickets", "Message": "messages"}
"""The read-model table of each chat aggregate type."""

ROW_READERS = {"User": user, "Project": project, "Ticket": ticket, "Message": message}
