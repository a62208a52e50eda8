"""Erasing a chat user's personal data: ``chronicle users erase`` and ``POST /users/{id}/erasure``.

The ``PersonalDataErased`` event goes on the user's own aggregate, written by whoever erases; in
its transaction the user's login is removed and their tokens voided, and the inline read models
redact what they show of the user (the async ones when they reach the event). Then the keys are
destroyed (see :class:`chronicle.personal.erasure.Erasure`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from chronicle.chat.domain import User
from chronicle.chat.domain.events import PersonalDataErased
from chronicle.chat.service.credentials import Credentials
from chronicle.errors import ConfigurationError, ErasureRefusedError, UnknownAggregateError
from chronicle.events import RecordedEvent
from chronicle.store.ports import Session

if TYPE_CHECKING:
    from chronicle.chat.wiring import ChatContext
    from chronicle.personal.erasure import ErasureRequest, ErasureResult


def _erasure_event(chat: ChatContext, user_id: str) -> RecordedEvent | None:
    events = chat.store.get_events_for_aggregate(user_id)
    if not events:
        # A user whose every event retention archived lives on in its snapshot at the cut.
        snapshot = chat.store.load_attested_snapshot(user_id)
        if snapshot is None or snapshot.aggregate_type != User.aggregate_type:
            raise UnknownAggregateError(user_id)
        return None
    if events[0].aggregate_type != User.aggregate_type:
        raise UnknownAggregateError(user_id)
    erased = [event for event in events if event.event_type == PersonalDataErased.event_type]
    return erased[-1] if erased else None


def _archived_events_of(chat: ChatContext, subject: str) -> Iterator[RecordedEvent]:
    """The subject's archived events: its own, and those it wrote (every segment is read, and
    checked against its manifest, as erasures are rare)."""
    from chronicle.bootstrap import archive_root
    from chronicle.retention.archive_check import archived_events

    root, _ = archive_root(chat.settings)
    if not root.is_dir():
        return
    for event in archived_events(root):
        if event.user_id == subject or event.aggregate_id == subject:
            yield event


def _hold_on(chat: ChatContext, subject: str, aggregates: list[str]) -> str | None:
    covered = set(aggregates)
    holds = getattr(chat.store, "holds", None)  # stores without retention keep no holds
    for row in holds() if holds is not None else ():
        if (row.subject_kind == "user" and row.subject_id == subject) or (
            row.subject_kind == "aggregate" and row.subject_id in covered
        ):
            return str(row.hold_id)
    return None


def erase_user(
    chat: ChatContext,
    user_id: str,
    *,
    reason: str,
    erased_by: str,
    correlation_id: str | None = None,
) -> ErasureResult:
    """Erase ``user_id``'s personal data; ``UnknownAggregateError`` for no such user,
    ``ErasureRefusedError`` (nothing changed) for one already erased or under a legal hold."""
    from chronicle.personal.erasure import Erasure

    if not chat.settings.enabled:
        raise ErasureRefusedError(
            "EVENT_SOURCING_ENABLED=false: no event holds personal data sealed, so there are no "
            "keys to destroy"
        )
    personal = chat.store.personal_data  # type: ignore[attr-defined]
    if personal is None:
        raise ConfigurationError("CHRONICLE_KEY_STORE_URL", "this store seals no personal data")
    writer = chat.writer()
    credentials = Credentials(chat.store)

    def record(request: ErasureRequest) -> RecordedEvent:
        def forget_login(session: Session, recorded: list[RecordedEvent]) -> None:
            credentials.remove(session, user_id)
            credentials.void_tokens(session, user_id)

        written = writer.change(
            User,
            user_id,
            lambda user: user.erase(
                reason=request.reason,
                erased_on=request.erased_on,
                key_ids=request.key_ids,
                aggregates=request.aggregates,
            ),
            user_id=erased_by,
            correlation_id=correlation_id,
            also=forget_login,
        )
        return written.events[-1]

    erasure = Erasure(
        chat.store,
        personal,
        recorded=lambda subject: _erasure_event(chat, subject),
        record=record,
        hold=lambda subject, aggregates: _hold_on(chat, subject, aggregates),
        archived=lambda subject: _archived_events_of(chat, subject),
        scrub=lambda: chat.store.scrub(_redacted_tables(chat)),  # type: ignore[attr-defined]
    )
    _erasure_event(chat, user_id)  # an unknown user is refused before anything is looked up
    result = erasure.erase(user_id, reason=reason, erased_by=erased_by)
    _redact_again(chat, result, wait=min(personal.cache_seconds, MAX_WAIT))
    return result


MAX_WAIT = 5.0
"""The longest an erasure waits for other processes' key caches before it redacts again."""


def _redact_again(chat: ChatContext, result: ErasureResult, *, wait: float) -> None:
    """Redact the inline read models once more after other processes' key caches expired: a
    write that sealed with a cached key while the erasure ran, and put its plaintext in a read
    model, is redacted too. (The erasure event's handlers redact whatever the row's version.)"""
    if result.recorded is None or not chat.inline:
        return
    time.sleep(wait)
    with chat.store.session() as session:
        chat.inline(session, [result.recorded])
    chat.store.scrub(_redacted_tables(chat))  # type: ignore[attr-defined]


def _redacted_tables(chat: ChatContext) -> list[str]:
    """The tables an erasure changes: the inline read models', the user's login and its
    attempts (what a vacuum must clean, not the whole log)."""
    from chronicle.chat.service import credentials, throttle

    tables = [
        projection.t(table.name)
        for projection in chat.inline.projections
        for table in projection.tables
    ]
    return [*tables, credentials.TABLE, credentials.GENERATIONS, throttle.TABLE]
