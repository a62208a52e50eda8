"""Opening each contender on a place of its own."""

from __future__ import annotations

from typing import Any

from bench.aio import AsyncContender
from bench.peer import ChatApp
from bench.places import Place, Site
from chronicle import EventStore, open_store


def chronicle_store(site: Site, label: str) -> tuple[EventStore, Place]:
    """Chronicle's store (default settings) on a fresh place."""
    place = site.place(f"{label}_chronicle")
    return open_store(place.chronicle_url), place


def async_contender(site: Site, label: str) -> AsyncContender:
    """Chronicle's store through its async API (default settings) on a fresh place."""
    return AsyncContender(site.place(f"{label}_async").chronicle_url)


def raw_connection(site: Site, label: str) -> tuple[Any, Place]:
    """A plain driver connection on a fresh place holding Chronicle's schema (same table layout)."""
    place = site.place(f"{label}_raw")
    open_store(place.chronicle_url).close()  # creates the tables and indexes, nothing more
    return place.raw_connect(), place


def peer_app(
    site: Site, label: str, *, snapshots: bool = False, place: Place | None = None
) -> tuple[ChatApp, Place]:
    """The peer's application on a fresh place (or on ``place``, to share its tables)."""
    place = place or site.place(f"{label}_peer")
    env = dict(place.peer_env)
    env["IS_SNAPSHOTTING_ENABLED"] = "y" if snapshots else "n"
    return ChatApp(env=env), place
