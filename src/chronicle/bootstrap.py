"""The composition root: the one place that picks concrete adapters from settings.

It builds only what the library offers (the store, repositories, a publisher, the signing key,
the sealer); the chat system's wiring, built from these, is :mod:`chronicle.chat.wiring`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError
from chronicle.publishing.publisher import Publisher
from chronicle.repository import Repository
from chronicle.store.ports import EventStore, InlineHandler

# The integrity package is imported where it is used: `chronicle.open_store` loads this module,
# and a program that only stores events should not load cryptography.
if TYPE_CHECKING:
    from chronicle.integrity.keys import TrustedKeys
    from chronicle.integrity.sealer import Sealer
    from chronicle.integrity.signing import SigningKey
    from chronicle.personal.declarations import PersonalPolicy
    from chronicle.personal.keystore import KeyStore
    from chronicle.personal.protector import PersonalData
    from chronicle.store.records import Seal

A = TypeVar("A", bound=Aggregate)


def open_store(
    url: str | None = None,
    *,
    settings: EventConfig | None = None,
    personal: PersonalData | None = None,
) -> EventStore:
    """The event store for ``url`` (``sqlite:///path``, ``postgresql://…``), or the configured one.

    The schema is created or upgraded on first use; ``close()`` the store when done.
    ``memory://`` gives an in-memory store (tests, examples): gone when closed. With
    ``personal`` (see :func:`personal_data_for`) the personal fields it declares are sealed.
    """
    store = _open_store(url, settings=settings)
    if personal is not None:
        store.protect_personal_data(personal)  # type: ignore[attr-defined]
    return store


def _open_store(url: str | None, *, settings: EventConfig | None) -> EventStore:
    settings = settings or get_settings()
    url = url or settings.store_url
    if url == "memory://":
        from chronicle.store.memory import MemoryEventStore

        return MemoryEventStore(max_event_bytes=settings.max_event_bytes)
    if url.startswith("sqlite:///"):
        from chronicle.store.sqlite import SQLiteEventStore

        return SQLiteEventStore(
            url,
            synchronous=settings.sqlite_synchronous,
            max_event_bytes=settings.max_event_bytes,
        )
    if url.startswith(("postgresql://", "postgres://")):
        from chronicle.store.postgres import PostgresEventStore

        return PostgresEventStore(
            url,
            min_connections=settings.pg_pool_min,
            max_connections=settings.pg_pool_max,
            connect_timeout=settings.connect_timeout,
            max_event_bytes=settings.max_event_bytes,
        )
    scheme = url.split("://", 1)[0]
    if scheme in ("mongodb", "mongodb+srv", "esdb", "esdb+discover", "kurrentdb"):
        raise ConfigurationError(
            "EVENT_STORE_TYPE",
            f"the {scheme} store is not available in this version; use sqlite or postgresql",
        )
    raise ConfigurationError(
        "EVENT_STORE_URL", f"unsupported URL {scheme}://…; use sqlite:///path or postgresql://…"
    )


def key_store_for(store_url: str | None = None, settings: EventConfig | None = None) -> KeyStore:
    """The key store of personal data: ``CHRONICLE_KEY_STORE_URL``, or by default a SQLite file
    beside a SQLite store (``chronicle-keys.db`` for ``chronicle.db``), the schema
    ``CHRONICLE_KEY_STORE_SCHEMA`` of a PostgreSQL store's database (by default
    ``chronicle_keys``, or ``<schema>_keys`` for a store in a schema of its own), and
    memory for ``memory://``. Opened on first use (a store that is down fails then, not here).
    The key-encryption key is CHRONICLE_KEY_ENCRYPTION_KEY; a SQLite key store without it makes
    ``chronicle.kek`` beside itself (development), a PostgreSQL one refuses to open."""
    from chronicle.personal.kek import kek_from_file, parse_kek
    from chronicle.personal.keystore.lazy import LazyKeyStore
    from chronicle.personal.keystore.memory import MemoryKeyStore

    settings = settings or get_settings()
    store_url = store_url or settings.store_url
    url = settings.key_store_url or store_url
    if url == "memory://":
        return MemoryKeyStore()
    if url.startswith("sqlite:///"):
        from chronicle.store.sqlite.connections import path_from_url

        file = Path(path_from_url(url))
        if settings.key_store_url is None:
            file = file.with_name(f"{file.stem}-keys{file.suffix or '.db'}")
        kek_file = file.parent / "chronicle.kek"
    elif url.startswith(("postgresql://", "postgres://")):
        kek_file = None  # a server's key store takes its key-encryption key from the setting
    else:
        raise ConfigurationError(
            "CHRONICLE_KEY_STORE_URL",
            f"unsupported URL {url.split('://', 1)[0]}://…; use sqlite:///path or postgresql://…",
        )
    secret = settings.key_encryption_key

    def kek() -> bytes:
        if secret is not None:
            return parse_kek(secret.get_secret_value())
        if kek_file is None:
            raise ConfigurationError(
                "CHRONICLE_KEY_ENCRYPTION_KEY",
                "must be set for a PostgreSQL key store (32 random bytes in base64: "
                "chronicle keys new-kek prints one); keep it apart from the database's backups",
            )
        return kek_from_file(kek_file)

    if url.startswith("sqlite:///"):
        from chronicle.personal.keystore.sqlite import SQLiteKeyStore

        return LazyKeyStore(lambda: SQLiteKeyStore(f"sqlite:///{file}", kek()), str(file))
    from chronicle.personal.keystore.postgres import PostgresKeyStore

    schema = settings.key_store_schema or _key_schema_beside(store_url)
    return LazyKeyStore(
        lambda: PostgresKeyStore(
            url, kek(), schema=schema, connect_timeout=settings.connect_timeout
        ),
        f"schema {schema}",
    )


def _key_schema_beside(store_url: str) -> str:
    """``chronicle_keys``, or ``<schema>_keys`` beside a store kept in a schema of its own (a
    ``search_path`` in its URL's options), so two stores in one database keep their keys apart."""
    from urllib.parse import parse_qs, urlsplit

    for options in parse_qs(urlsplit(store_url).query).get("options", []):
        for option in options.split():
            name, _, value = option.removeprefix("-c").partition("=")
            if name == "search_path" and value:
                first = value.split(",")[0].strip().strip('"')
                if first and first.replace("_", "a").isalnum() and len(first) <= 57:
                    return f"{first.lower()}_keys"
    return "chronicle_keys"


def personal_data_for(
    policy: PersonalPolicy, store_url: str | None = None, settings: EventConfig | None = None
) -> PersonalData:
    """What seals and opens the personal fields ``policy`` declares, with keys from the key
    store of :func:`key_store_for`."""
    from chronicle.personal.protector import PersonalData

    settings = settings or get_settings()
    return PersonalData(
        policy,
        key_store_for(store_url, settings),
        cache_seconds=settings.key_cache_seconds,
    )


def open_repository(
    store: EventStore,
    cls: type[A],
    *,
    settings: EventConfig | None = None,
    inline: InlineHandler | None = None,
) -> Repository[A]:
    """A repository for aggregates of ``cls`` that snapshots every EVENT_STORE_SNAPSHOT_INTERVAL."""
    settings = settings or get_settings()
    return Repository(store, cls, snapshot_interval=settings.snapshot_interval, inline=inline)


def open_publisher(
    url: str | None = None, *, name: str | None = None, settings: EventConfig | None = None
) -> Publisher:
    """The publisher for ``url`` (``redis://…`` or ``amqp://…``; default EVENT_QUEUE_URL).

    Events go to the stream or exchange ``name`` (default CHRONICLE_QUEUE_NAME). Nothing
    connects until ``connect()`` or the first ``publish``.
    """
    settings = settings or get_settings()
    url = url or settings.queue_url
    name = name or settings.queue_name
    if url.startswith(("redis://", "rediss://")):
        from chronicle.publishing.redis import RedisStreamPublisher

        return RedisStreamPublisher(url, name, timeout=settings.connect_timeout)
    if url.startswith(("amqp://", "amqps://")):
        from chronicle.publishing.rabbitmq import RabbitMQPublisher

        return RabbitMQPublisher(url, name, timeout=settings.connect_timeout)
    raise ConfigurationError(
        "EVENT_QUEUE_URL", f"unsupported URL {url.split('://', 1)[0]}://…; use redis:// or amqp://"
    )


def signing_key_from(settings: EventConfig | None = None) -> SigningKey | None:
    """The key of ``CHRONICLE_SIGNING_KEY``, or None when it is not set."""
    settings = settings or get_settings()
    if settings.signing_key is None:
        return None
    from chronicle.integrity.signing import load_signing_key

    return load_signing_key(settings.signing_key.get_secret_value())


def trusted_keys_from(settings: EventConfig | None = None) -> TrustedKeys:
    """The public keys seals are checked against: ``CHRONICLE_TRUSTED_KEYS``.

    When it is empty and this process holds ``CHRONICLE_SIGNING_KEY`` (one process that seals
    and serves), the key's public half is trusted. ``ConfigurationError`` for a malformed entry.
    """
    from chronicle.integrity.keys import key_id, parse_trusted_keys

    settings = settings or get_settings()
    keys = parse_trusted_keys(settings.trusted_keys)
    if not keys:
        own = signing_key_from(settings)
        if own is not None:
            keys[key_id(own.public)] = own.public
    return keys


def seal_evidence_from(settings: EventConfig | None = None) -> list[Seal]:
    """The seals kept in ``CHRONICLE_SEAL_DIR`` (none when it is not set or does not exist)."""
    from chronicle.integrity.seals import read_seal_folder

    settings = settings or get_settings()
    return read_seal_folder(Path(settings.seal_dir)) if settings.seal_dir else []


def sealer_for(
    store: EventStore,
    settings: EventConfig | None = None,
    *,
    on_refusal: Callable[[bool], None] | None = None,
) -> Sealer:
    """The sealer ``chronicle worker`` and ``chronicle seal`` run, configured from settings."""
    from chronicle.integrity.keys import parse_trusted_keys
    from chronicle.integrity.sealer import Sealer

    settings = settings or get_settings()
    return Sealer(
        store,
        key=signing_key_from(settings),
        export_dir=Path(settings.seal_dir) if settings.seal_dir else None,
        on_refusal=on_refusal,
        trusted_keys=parse_trusted_keys(settings.trusted_keys),
    )


def archive_root(settings: EventConfig | None = None) -> tuple[Path, bool]:
    """Where retention writes its archive: ``CHRONICLE_ARCHIVE_DIR``, or by default ``archive``
    beside the SQLite file (``./data/archive`` for a server's store); and whether it is that
    default (created when missing; a configured folder must exist)."""
    settings = settings or get_settings()
    if settings.archive_dir:
        return Path(settings.archive_dir), False
    if settings.store_url.startswith("sqlite:///"):
        from chronicle.store.sqlite.connections import path_from_url

        return Path(path_from_url(settings.store_url)).parent / "archive", True
    return Path("data") / "archive", True
