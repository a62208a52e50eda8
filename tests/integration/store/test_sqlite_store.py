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


def test_a_new_store_and_its_folder_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store = open_store(f"sqlite:///{folder / 'chronicle.db'}")
    try:
        store.set_checkpoint("relay.redis.chronicle.events", 1)  # a write: the WAL exists now
        modes = {
            path.name: path.stat().st_mode & 0o777
            for path in folder.iterdir()
            if path.name.startswith("chronicle.db")
        }
    finally:
        store.close()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert modes and set(modes.values()) == {0o600}, modes
    assert {"chronicle.db", "chronicle.db-wal"} <= set(modes)


def test_an_existing_store_keeps_the_permissions_its_operator_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    open_store(f"sqlite:///{path}").close()
    path.chmod(0o640)
    open_store(f"sqlite:///{path}").close()
    assert path.stat().st_mode & 0o777 == 0o640
