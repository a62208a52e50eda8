"""SQLite specifics: connections per thread are released, in-memory stores are refused."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import pytest

from chronicle.bootstrap import open_store
from chronicle.errors import ConfigurationError, StoreUnavailableError


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_reading_from_many_short_lived_threads_does_not_leak_connections(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.get_event_count()
        before = open_descriptors()
        for _ in range(200):
            thread = threading.Thread(target=store.get_event_count)
            thread.start()
            thread.join()
        gc.collect()
        assert open_descriptors() <= before + 5
    finally:
        store.close()


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="in-memory"):
        open_store(url)


def test_a_store_path_that_cannot_be_created_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailableError, match="cannot create the folder"):
        open_store(f"sqlite:///{blocker / 'sub' / 'store.db'}")
