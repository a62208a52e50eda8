"""The chat system's read models, each kept by a projection of its own.

| read model | default mode | why |
|---|---|---|
| ``users`` | inline | roles decide authorisation on the next request: they must never lag |
| ``projects`` | inline | tickets and messages refer to projects that must be visible at once |
| ``tickets`` | inline | a client that assigns a ticket reads it back at once |
| ``messages`` | inline | a sender sees their message in the list at once (read your writes) |
| ``activity`` | async | auditors' "recently changed" list; writers must not pay for it |

``CHRONICLE_PROJECTION_MODES`` (e.g. ``messages=async``) overrides a default; switching a read
model's mode takes a ``chronicle replay`` of it.
"""

from chronicle.chat.read_models.activity import ActivityReadModel
from chronicle.chat.read_models.messages import MessagesReadModel
from chronicle.chat.read_models.projects import ProjectsReadModel
from chronicle.chat.read_models.tickets import TicketsReadModel
from chronicle.chat.read_models.users import UsersReadModel
from chronicle.projections.projection import Projection

READ_MODELS: tuple[type[Projection], ...] = (
    UsersReadModel,
    ProjectsReadModel,
    TicketsReadModel,
    MessagesReadModel,
    ActivityReadModel,
)

__all__ = [
    "READ_MODELS",
    "ActivityReadModel",
    "MessagesReadModel",
    "ProjectsReadModel",
    "TicketsReadModel",
    "UsersReadModel",
]
