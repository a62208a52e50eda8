"""The event store: ports by role (:mod:`.ports`), the SQL core (:mod:`.sql`), one package per
backend (:mod:`.sqlite`, :mod:`.postgres`) and the in-memory store (:mod:`.memory`).

Importing this package loads no driver: backends are imported by the composition root.
"""

from chronicle.store.ports import Capabilities, EventStore, Session
from chronicle.store.records import Seal, Snapshot, StoreStats

__all__ = ["Capabilities", "EventStore", "Seal", "Session", "Snapshot", "StoreStats"]
