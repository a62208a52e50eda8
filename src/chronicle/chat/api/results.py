"""How a write answers: the resource in the same shape as reading it does (``GET``).

The shape is the resource's read-model row. The writer reads that row in the write's own
transaction; for a creation, and when the read model is async and still behind, the row is made
up from the aggregate's state and the events of the write (and its creating event), so a write
answers the same fields whatever the projection mode (and a creation exactly what reading it
back answers: tests/integration/api/test_openapi_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chronicle.aggregate import Aggregate
from chronicle.chat.domain import Message
from chronicle.chat.service.writer import Written
from chronicle.events import RecordedEvent
from chronicle.store.integrity import format_timestamp

_FROM_CREATION: dict[type[Aggregate], Callable[[RecordedEvent], dict[str, Any]]] = {
    Message: lambda created: {"author_id": created.user_id},
}
"""Row fields that come from the creating event, not from the state, by aggregate class."""


def written(result: Written[Any]) -> dict[str, Any]:
    aggregate = result.aggregate
    row = result.row
    if row is not None and row["version"] == aggregate.version:
        return row
    created = _creation(result)
    shape: dict[str, Any] = {"id": aggregate.id, **(row or {})}
    if created is not None and row is None:
        shape["created_at"] = format_timestamp(created.timestamp)
        shape["updated_at"] = shape["created_at"]
        if (fields := _FROM_CREATION.get(type(aggregate))) is not None:
            shape |= fields(created)
    shape |= aggregate.state()
    shape["version"] = aggregate.version
    if result.events:
        shape["updated_at"] = format_timestamp(result.events[-1].timestamp)
    return shape


def _creation(result: Written[Any]) -> RecordedEvent | None:
    if result.events and result.events[0].version == 1:
        return result.events[0]
    return result.created
