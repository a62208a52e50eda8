"""How a write answers: the resource's id, its new version and its state after the write."""

from __future__ import annotations

from typing import Any

from chronicle.chat.service.writer import Written


def written(result: Written[Any], **extra: Any) -> dict[str, Any]:
    aggregate = result.aggregate
    return {"id": aggregate.id, "version": aggregate.version, **aggregate.state(), **extra}
