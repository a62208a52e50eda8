"""The chat service's application layer: writes with authorisation-free business flow, accounts.

Shared by the HTTP API and the CLI. Routes and commands decide *who* may do something; this layer
carries it out: load, decide, store (as events, or straight into the read models when event
sourcing is disabled).
"""

from chronicle.chat.service.credentials import Credentials, UsernameTakenError
from chronicle.chat.service.writer import Writer

__all__ = ["Credentials", "UsernameTakenError", "Writer"]
