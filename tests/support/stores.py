"""A store opened as the chat service opens it: its personal fields sealed, keys from the key
store its settings name (what a test needs to read back what the service wrote)."""

from __future__ import annotations

from chronicle.bootstrap import open_store, personal_data_for
from chronicle.chat.wiring import chat_personal_policy
from chronicle.config import load_settings
from chronicle.store.ports import EventStore


def chat_store(url: str) -> EventStore:
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    settings = load_settings(store_url=url, store_type=kind)
    return open_store(
        url, settings=settings, personal=personal_data_for(chat_personal_policy(), url, settings)
    )
