"""A log of real chat events, written through Chronicle's own append path.

The read-model, verification and relay cases need what a running service stores: registered chat
events, valid hash chains, real commit order. So they fill their store through ``store.append``
(one message per append: created, then edited), not by copying rows inside the database.
"""

from __future__ import annotations

import itertools
import uuid

from bench import payload
from chronicle import EventStore
from chronicle.chat.domain import Message, chat_events
from chronicle.chat.domain.events import MessageCreated, MessageUpdated

PER_MESSAGE = 100  # events per message, all in one append


def fill(store: EventStore, events: int, *, per_message: int = PER_MESSAGE) -> int:
    """Append ``events`` chat events (messages of ``per_message``); return how many were written."""
    to_new = chat_events.to_new_event
    tag = uuid.uuid4().hex[:8]
    written = 0
    for number in itertools.count(1):
        if written >= events:
            break
        count = min(per_message, events - written)
        created = MessageCreated(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE)
        batch = [to_new(created, metadata=payload.metadata())]
        batch += [
            to_new(MessageUpdated(f"{n} {payload.CONTENT}"[:200]), metadata=payload.metadata())
            for n in range(1, count)
        ]
        store.append(
            f"message_{tag}_{number}",
            batch,
            expected_version=0,
            aggregate_type=Message.aggregate_type,
            user_id=payload.USER_ID,
        )
        written += count
    return written
