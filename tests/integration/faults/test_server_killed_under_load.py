"""32 clients post messages while ``chronicle serve`` is killed with SIGKILL and restarted: every
acknowledged write is there afterwards, exactly once, and each aggregate's versions are gap-free."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from tests.integration.cli.subprocesses import wait_until
from tests.integration.faults.service import Service, create_member
from tests.support.stores import chat_store

CLIENTS = 32
BEFORE_KILL = 150  # acknowledged writes before the kill, and again after the restart


class Load:
    """``CLIENTS`` threads posting distinct messages until stopped; nothing is ever re-sent, so
    a message stored twice would be the service's doing."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base, self.headers = base, headers
        self.acknowledged: dict[str, str] = {}  # content -> the id the 201 answered
        self.statuses: Counter[int] = Counter()
        self.transport_errors = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]

    def client(self, number: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=15) as http:
            sent = 0
            while not self.stopping.is_set():
                content = f"client {number} message {sent}"
                sent += 1
                try:
                    response = http.post("/messages", json={"content": content})
                except httpx.TransportError:  # the service is down or was killed mid-request
                    with self.lock:
                        self.transport_errors += 1
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 201:
                        self.acknowledged[content] = response.json()["id"]

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.mark.slow
def test_every_acknowledged_write_survives_a_sigkill_exactly_once(
    store_url: str, tmp_path: Path
) -> None:
    create_member(store_url, "alice")
    service = Service(store_url, tmp_path / "serve.log")
    try:
        service.start()
        with Load(service.base, service.token("alice")) as load:
            wait_until(lambda: load.count() >= BEFORE_KILL, "writes before the kill")
            service.kill()
            at_kill = load.count()
            service.start()  # same port, same store; the token is still good
            wait_until(lambda: load.count() >= at_kill + BEFORE_KILL, "writes after the restart")
        assert load.transport_errors > 0, "the kill should have cut requests off mid-flight"
        assert load.statuses[500] == 0, load.statuses
    finally:
        service.stop()

    store = chat_store(store_url)  # reads what the service sealed
    try:
        events = store.read_all(limit=100_000)
        with store.session() as session:
            listed = {row[0] for row in session.fetchall("SELECT id FROM messages")}
    finally:
        store.close()
    created = [e for e in events if e.event_type == "MessageCreated"]
    stored = Counter(str(e.data["content"]) for e in created)
    assert [content for content, times in stored.items() if times > 1] == []
    by_content = {str(e.data["content"]): e.aggregate_id for e in created}
    missing = {c: i for c, i in load.acknowledged.items() if by_content.get(c) != i}
    assert missing == {}, f"{len(missing)} acknowledged writes are not stored as answered"
    versions: defaultdict[str, list[int]] = defaultdict(list)
    for event in events:  # commit order
        versions[event.aggregate_id].append(event.version)
    gaps = {a: v for a, v in versions.items() if v != list(range(1, len(v) + 1))}
    assert gaps == {}
    assert len({e.position for e in events}) == len(events)
    assert listed == {e.aggregate_id for e in created}  # the inline read model committed with them
