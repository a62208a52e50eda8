"""Known-answer vectors for the integrity hashes: the one definition, reproduced everywhere.

The expected values were computed outside Chronicle (``printf … | xxd -r -p | sha256sum``), so
these tests hold the Python code and PostgreSQL's ``chronicle_chain`` to the rule itself, not
to each other.
"""

from __future__ import annotations

import pytest

from chronicle import EventStore
from chronicle.store.integrity import GENESIS, chain, content_digest

DIGEST = bytes(range(1, 33))  # 0x01 0x02 … 0x20
CHAIN_1 = "7a3d0806407f64bf683e905b92c70f8b6ce9ffd99115b7619b59248caa18b13f"
"""SHA-256(32 zero bytes ‖ 00 00 00 00 00 00 00 01 ‖ DIGEST)."""
CHAIN_2 = "70e8e01d0a77104e300334cb6693058d1659e76b380d6b35b39485599597b726"
"""SHA-256(CHAIN_1 ‖ 00 00 00 00 00 00 00 02 ‖ DIGEST)."""

EVENT = {
    "event_id": "00000000-0000-4000-8000-000000000001",
    "aggregate_id": "message_1",
    "aggregate_type": "Message",
    "event_type": "MessageCreated",
    "schema_version": 1,
    "timestamp": "2026-01-01T00:00:00.000000Z",
    "user_id": "user_alice",
    "data": b'{"content":"hello"}',
    "metadata": b'{"causation_id":null,"correlation_id":"00000000-0000-4000-8000-000000000001"}',
}
EVENT_DIGEST = "a828d995da563bd450d4a580beb66533dda33142474656782307c094d0e06675"
"""SHA-256 of the event's RFC 8785 document, written out by hand."""
EVENT_HASH = "53e96f3ffab4ff2913906a9c8ae61cb6afb16e7cc8b60496d0c95b50440d218c"
"""The event's hash as the first of its aggregate: chain(GENESIS, 1, EVENT_DIGEST)."""


def test_the_content_digest_is_sha256_of_the_canonical_document() -> None:
    assert content_digest(**EVENT).hex() == EVENT_DIGEST  # type: ignore[arg-type]


def test_the_chain_rule_in_python_gives_the_known_hashes() -> None:
    first = chain(GENESIS, 1, DIGEST)
    assert first.hex() == CHAIN_1
    assert chain(first, 2, DIGEST).hex() == CHAIN_2
    assert chain(GENESIS, 1, bytes.fromhex(EVENT_DIGEST)).hex() == EVENT_HASH


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # the chain rule in SQL
def test_the_chain_rule_in_postgresql_gives_the_known_hashes(store: EventStore) -> None:
    [[first]] = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT chronicle_chain(%s, 1, %s)", (GENESIS, DIGEST)
    )
    [[second]] = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT chronicle_chain(%s, 2, %s)", (bytes(first), DIGEST)
    )
    [[event]] = store.execute_raw(  # type: ignore[attr-defined]
        "SELECT chronicle_chain(%s, 1, %s)", (GENESIS, bytes.fromhex(EVENT_DIGEST))
    )
    assert (bytes(first).hex(), bytes(second).hex()) == (CHAIN_1, CHAIN_2)
    assert bytes(event).hex() == EVENT_HASH
