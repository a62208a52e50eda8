"""The ``eventsourcing`` library (the Python peer) doing the same job as Chronicle.

One aggregate class whose creation records the chat event, and a method that records one more
of the same shape, so every contender stores the same payload per event.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Message(Aggregate):
    """A chat message: created with its content, then noted again for longer histories."""

    @event("Created")
    def __init__(self, content: str, username: str, type: str, metadata: dict[str, Any]) -> None:
        self.content = content
        self.events_seen = 1

    @event("Noted")
    def note(self, content: str, username: str, type: str, metadata: dict[str, Any]) -> None:
        self.content = content
        self.events_seen += 1


class ChatApp(Application[Any]):
    """The peer's application; persistence is chosen by its environment."""

    name = "Chat"


def events_table(app: ChatApp) -> str:
    """The name of the table the peer stores the application's events in."""
    return str(app.recorder.events_table_name)  # type: ignore[attr-defined]
