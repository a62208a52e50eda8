"""Event store backends behind one protocol (:class:`EventStore`)."""

from chronicle.store.protocol import EventStore, Seal, Snapshot, StoreStats

__all__ = ["EventStore", "Seal", "Snapshot", "StoreStats"]
