"""Inline projections: read-model changes made inside the append's own transaction.

A writer then reads its own write at once, and the read model can never lag the log. The cost is
paid on the append path, and a failing handler fails the append (nothing is stored), which is why
only small per-aggregate read models should be inline.
"""

from __future__ import annotations

from collections.abc import Sequence

from chronicle.errors import ChronicleError
from chronicle.events import RecordedEvent
from chronicle.projections.projection import Projection
from chronicle.store.ports import EventStore, Session


class ProjectionError(ChronicleError):
    """An inline projection failed; the append it belonged to was rolled back."""


class InlineProjections:
    """The ``inline`` callable passed to ``store.append``: applies each inline projection."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = list(projections)

    def ensure_tables(self, store: EventStore) -> None:
        with store.session() as session:
            for projection in self.projections:
                projection.create_tables(session)

    def __bool__(self) -> bool:
        return bool(self.projections)

    def __call__(self, session: Session, recorded: list[RecordedEvent]) -> None:
        for projection in self.projections:
            for event in recorded:
                try:
                    projection.apply(session, event)
                except ChronicleError:
                    raise
                except Exception as exc:
                    raise ProjectionError(
                        f"inline projection {projection.name} failed on {event.event_type} "
                        f"{event.aggregate_id}@{event.version}: {exc}"
                    ) from exc
