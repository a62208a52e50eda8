"""Attacks on the key store, which the log does not cover: each is named by ``chronicle verify``.

A key destroyed without an erasure (data silently gone), a destroyed key put back from a backup
(erased data readable again), a wrapped key damaged in place: the attacker has write access to
the key store (a stolen application login, a database superuser).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from chronicle.chat.domain import Message
from chronicle.chat.service.accounts import create_user
from chronicle.chat.service.credentials import Credentials
from chronicle.chat.service.erasure import erase_user
from chronicle.chat.wiring import ChatContext, audit_checks, open_chat
from chronicle.config import load_settings
from chronicle.integrity.verifier import Verifier


@pytest.fixture
def chat(store_url: str) -> Iterator[ChatContext]:
    kind = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    opened = open_chat(store_url, settings=load_settings(store_url=store_url, store_type=kind))
    Credentials(opened.store).ensure_table()
    yield opened
    opened.close()


def a_user_with_a_message(chat: ChatContext, name: str) -> tuple[str, str]:
    writer = chat.writer()
    user = create_user(
        writer,
        Credentials(chat.store),
        username=name,
        email=f"{name}@example.com",
        role="member",
        password=f"{name}-password",
        created_by="system:tests",
    ).aggregate
    message = writer.create(Message.create(f"{name} wrote this", name), user_id=user.id).aggregate
    return user.id, message.id


def run_on_key_store(chat: ChatContext, statement: str, params: tuple[Any, ...]) -> None:
    """Write to the key store behind Chronicle's back."""
    url = chat.store.personal_data.keys.description  # type: ignore[attr-defined]
    if chat.store.backend == "sqlite":
        with sqlite3.connect(url) as db:
            db.execute(statement.replace("%s", "?"), params)
        return
    schema = url.removeprefix("schema ")
    with psycopg.connect(chat.settings.store_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(statement, params)


def wrapped_key(chat: ChatContext, subject: str) -> tuple[str, bytes]:
    [key] = chat.store.personal_data.keys.keys_of(subject)  # type: ignore[attr-defined]
    statement = "SELECT key_id, wrapped FROM chronicle_data_keys WHERE subject = %s"
    url = chat.store.personal_data.keys.description  # type: ignore[attr-defined]
    if chat.store.backend == "sqlite":
        with sqlite3.connect(url) as db:
            row = db.execute(statement.replace("%s", "?"), (subject,)).fetchone()
    else:
        with psycopg.connect(chat.settings.store_url) as conn:
            conn.execute(f'SET search_path TO "{url.removeprefix("schema ")}"')
            row = conn.execute(statement, (subject,)).fetchone()
    assert row is not None and row[0] == key.key_id
    return str(row[0]), bytes(row[1])


def problem_kinds(chat: ChatContext) -> list[str]:
    report = Verifier(chat.store, snapshot_check=audit_checks(chat.store, chat.settings)).verify()
    return [str(problem.kind) for problem in report.problems]


def test_a_key_destroyed_without_an_erasure_is_named_by_verify(chat: ChatContext) -> None:
    alice, message = a_user_with_a_message(chat, "alice")
    assert problem_kinds(chat) == []
    run_on_key_store(
        chat,
        "UPDATE chronicle_data_keys SET wrapped = NULL, erased_at = %s, reason = %s "
        "WHERE subject = %s",
        ("2020-01-01T00:00:00+00:00", "quietly", alice),
    )
    chat.store.personal_data.forget(alice)  # type: ignore[attr-defined]
    [created] = chat.store.get_events_for_aggregate(message)
    assert created.data["content"] == "[erased on 2020-01-01]"
    assert problem_kinds(chat) == ["key_erased_without_record"]


def test_an_erased_key_put_back_from_a_backup_is_named_by_verify(chat: ChatContext) -> None:
    alice, message = a_user_with_a_message(chat, "alice")
    key_id, wrapped = wrapped_key(chat, alice)
    erase_user(chat, alice, reason="request 1", erased_by="system:tests")
    assert problem_kinds(chat) == []
    run_on_key_store(
        chat,
        "UPDATE chronicle_data_keys SET wrapped = %s, erased_at = NULL WHERE key_id = %s",
        (wrapped, key_id),
    )
    chat.store.personal_data.forget(alice)  # type: ignore[attr-defined]
    [created] = chat.store.get_events_for_aggregate(message)
    assert created.data["content"] == "alice wrote this"  # readable again: the attack worked
    assert "erasure_incomplete" in problem_kinds(chat)


def test_a_damaged_wrapped_key_reads_as_unreadable_and_is_named_by_verify(
    chat: ChatContext,
) -> None:
    alice, message = a_user_with_a_message(chat, "alice")
    _, bob_message = a_user_with_a_message(chat, "bob")
    key_id, wrapped = wrapped_key(chat, alice)
    damaged = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    run_on_key_store(
        chat, "UPDATE chronicle_data_keys SET wrapped = %s WHERE key_id = %s", (damaged, key_id)
    )
    chat.store.personal_data.forget(alice)  # type: ignore[attr-defined]
    [created] = chat.store.get_events_for_aggregate(message)
    assert created.data["content"].startswith("[unreadable: ")
    assert chat.store.get_events_for_aggregate(bob_message)[0].data["content"] == "bob wrote this"
    assert "personal_data_unreadable" in problem_kinds(chat)
