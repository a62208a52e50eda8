"""The findings of one verification: collected in walk order, capped, each naming its event."""

from __future__ import annotations

from chronicle.events import RecordedEvent
from chronicle.integrity.report import Problem, ProblemKind


class Findings:
    """Problems found so far (at most ``max_problems``; the walk goes on counting past them)."""

    def __init__(self, max_problems: int) -> None:
        self.max_problems = max_problems
        self.problems: list[Problem] = []

    def add(
        self,
        kind: ProblemKind,
        message: str,
        *,
        index: int,
        event: RecordedEvent | None = None,
        seal: int | None = None,
        position: int | None = None,
        aggregate_id: str | None = None,
        version: int | None = None,
    ) -> None:
        """A finding about ``event`` (or the event named by the other fields) at walk ``index``."""
        self.add_problem(
            Problem(
                kind=kind,
                message=message,
                position=event.position if event else position,
                aggregate_id=event.aggregate_id if event else aggregate_id,
                version=event.version if event else version,
                event_id=event.event_id if event else None,
                seal=seal,
                index=index,
            )
        )

    def add_problem(self, problem: Problem) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def in_log_order(self) -> list[Problem]:
        return sorted(self.problems, key=lambda problem: problem.index)


def named(event: RecordedEvent) -> str:
    return f"version {event.version} of {event.aggregate_id!r} (position {event.position})"
