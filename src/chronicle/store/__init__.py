"""Event store backends behind one protocol (:class:`EventStore`)."""

from chronicle.store.protocol import EventStore, Snapshot, StoreStats

__all__ = ["EventStore", "Snapshot", "StoreStats"]
