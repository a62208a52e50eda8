"""A projection process for the crash test: follows the log until it is killed."""

from __future__ import annotations

import sys
import threading

from chronicle.bootstrap import open_store
from chronicle.projections.runner import ProjectionRunner
from tests.integration.projections.notes import NoteCounts, notes_registry


def main(url: str) -> None:
    store = open_store(url)
    runner = ProjectionRunner(store, NoteCounts(notes_registry), batch_size=25)
    runner.run(threading.Event(), poll_interval=0.05)


if __name__ == "__main__":
    main(sys.argv[1])
