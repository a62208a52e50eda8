"""Where each read model stands: mode, checkpoint, lag and parked events."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from chronicle.projections import parking
from chronicle.projections.projection import Mode, Projection
from chronicle.store.ports import EventStore


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    mode: Mode
    checkpoint: int
    lag_events: int
    lag_seconds: float
    parked: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def projection_status(
    store: EventStore, classes: dict[str, type[Projection]], modes: dict[str, Mode]
) -> list[ProjectionStatus]:
    """The status of every read model. Inline ones never lag: they commit with the append."""
    with store.session() as session:
        parking.ensure_table(session)
        parked = parking.parked(session)
    result = []
    for name, cls in classes.items():
        mode = modes[name]
        checkpoint = store.get_checkpoint(f"projection.{cls.name}") or 0
        lag_events, lag_seconds = (0, 0.0) if mode == "inline" else store.lag(checkpoint)
        result.append(
            ProjectionStatus(
                name=name,
                mode=mode,
                checkpoint=checkpoint,
                lag_events=lag_events,
                lag_seconds=round(lag_seconds, 3),
                parked=sum(1 for entry in parked if entry.projection == name),
            )
        )
    return result
