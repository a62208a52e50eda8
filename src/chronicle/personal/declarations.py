"""Which fields of an event (and of an aggregate's state) are personal, and whose they are.

One declaration on the event class drives everything: encryption on append, placeholders on
read once the subject's key is gone, the erasure's reach. ``fields`` are names of the event's
``data``, or ``parent.child`` for a key inside an object field (``updates.email``). The
subject is the user the data belongs to: the event's actor (``"actor"``, the appending user) or
the aggregate itself (``"aggregate"``, a user's own events). Both are columns the store
indexes, which is how an erasure finds everything of a subject.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Subject = Literal["actor", "aggregate"]


def erased_text(erased_on: str) -> str:
    """What an erased text field reads as: ``[erased on 2026-12-01]``."""
    return f"[erased on {erased_on}]"


@dataclass(frozen=True, slots=True)
class Personal:
    """The personal fields of an event class and whose they are.

    ``empty`` gives the value an erased field reads as when it is not text (a list of
    mentions reads as ``[]``); text fields read as ``[erased on DATE]``.
    """

    fields: tuple[str, ...]
    subject: Subject = "actor"
    empty: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.subject not in ("actor", "aggregate"):
            raise ValueError(f"a subject is 'actor' or 'aggregate', not {self.subject!r}")
        for path in self.fields:
            if not path or path.count(".") > 1:
                raise ValueError(f"a personal field is a name or parent.child, not {path!r}")

    def subject_of(self, aggregate_id: str, user_id: str | None) -> str:
        """Whose the data is: the actor, or the aggregate (also when no actor is named: what
        an anonymous append holds belongs to no user, and is still never stored in clear)."""
        if self.subject == "actor" and user_id:
            return user_id
        return aggregate_id

    def erased_value(self, path: str, text: str) -> Any:
        return self.empty.get(path, text)


@dataclass(frozen=True, slots=True)
class PersonalPolicy:
    """Every declaration of a domain: personal fields by event type, and by aggregate type the
    state fields that hold personal data (what snapshots keep encrypted)."""

    events: Mapping[str, Personal]
    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, event_classes: Iterable[type], aggregates: Iterable[type] = ()) -> PersonalPolicy:
        """The policy declared by ``personal`` on event classes and ``PERSONAL_STATE`` on
        aggregate classes."""
        events = {
            cls_.event_type: cls_.personal  # type: ignore[attr-defined]
            for cls_ in event_classes
            if getattr(cls_, "personal", None) is not None
        }
        states = {
            agg.aggregate_type: tuple(agg.PERSONAL_STATE)  # type: ignore[attr-defined]
            for agg in aggregates
            if getattr(agg, "PERSONAL_STATE", ())
        }
        return cls(events=events, states=states)
