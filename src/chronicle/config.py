"""Settings, read once at start-up from the environment and an optional ``.env`` file.

The seed's ``EVENT_*`` variables keep their names and defaults, except three chosen so that a
fresh checkout runs with nothing to set up: ``EVENT_SOURCING_ENABLED=true`` (the audit trail is
the product: off by default it would record nothing), ``EVENT_STORE_TYPE=sqlite`` and
``EVENT_STORE_URL=sqlite:///./data/chronicle.db`` (an embedded store needs no server).
Further settings are prefixed ``CHRONICLE_``.

``from chronicle.config import event_config`` loads the settings on first use (not at import)
and keeps them for the life of the process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from chronicle.errors import ConfigurationError
from chronicle.key_text import private_key_bytes

StoreType = Literal["sqlite", "postgresql", "mongodb", "eventstore"]

URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "sqlite": ("sqlite:///",),
    "postgresql": ("postgresql://", "postgres://"),
    "mongodb": ("mongodb://", "mongodb+srv://"),
    "eventstore": ("esdb://", "esdb+discover://", "kurrentdb://", "kurrentdb+discover://"),
}
QUEUE_SCHEMES = ("redis://", "rediss://", "amqp://", "amqps://")


class EventConfig(BaseSettings):
    """Chronicle's settings. Field names follow the seed's ``event_config`` attributes."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    enabled: bool = Field(True, validation_alias="EVENT_SOURCING_ENABLED")
    store_type: StoreType = Field("sqlite", validation_alias="EVENT_STORE_TYPE")
    store_url: str = Field("sqlite:///./data/chronicle.db", validation_alias="EVENT_STORE_URL")
    retention_days: int = Field(365, ge=0, validation_alias="EVENT_STORE_RETENTION_DAYS")
    snapshot_interval: int = Field(100, ge=0, validation_alias="EVENT_STORE_SNAPSHOT_INTERVAL")
    compression_enabled: bool = Field(True, validation_alias="EVENT_STORE_COMPRESSION_ENABLED")
    compression: Literal["zstd", "gzip"] = Field("zstd", validation_alias="CHRONICLE_COMPRESSION")
    compress_after_days: int = Field(
        7, ge=0, le=36500, validation_alias="CHRONICLE_COMPRESS_AFTER_DAYS"
    )
    publish_to_queue: bool = Field(False, validation_alias="EVENT_PUBLISH_TO_QUEUE")
    queue_url: str = Field("redis://localhost:6379/0", validation_alias="EVENT_QUEUE_URL")
    queue_name: str = Field(
        "chronicle.events",
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        validation_alias="CHRONICLE_QUEUE_NAME",
    )

    max_event_bytes: int = Field(
        1024 * 1024, ge=1024, le=64 * 1024 * 1024, validation_alias="CHRONICLE_MAX_EVENT_BYTES"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = Field(
        "FULL", validation_alias="CHRONICLE_SQLITE_SYNCHRONOUS"
    )
    pg_pool_min: int = Field(1, ge=1, le=100, validation_alias="CHRONICLE_PG_POOL_MIN")
    pg_pool_max: int = Field(10, ge=1, le=500, validation_alias="CHRONICLE_PG_POOL_MAX")
    connect_timeout: float = Field(10.0, gt=0, validation_alias="CHRONICLE_CONNECT_TIMEOUT")
    projection_modes: str = Field("", validation_alias="CHRONICLE_PROJECTION_MODES")
    projection_failure: Literal["continue", "stop"] = Field(
        "continue", validation_alias="CHRONICLE_PROJECTION_FAILURE"
    )

    def projection_mode_overrides(self) -> dict[str, str]:
        """``CHRONICLE_PROJECTION_MODES`` (``name=inline|async,…``) as a dict."""
        overrides: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in self.projection_modes.split(","))):
            name, _, mode = item.partition("=")
            if mode.strip() not in ("inline", "async"):
                raise ConfigurationError(
                    "CHRONICLE_PROJECTION_MODES",
                    f"{item!r}: accepts name=inline or name=async, separated by commas",
                )
            overrides[name.strip()] = mode.strip()
        return overrides

    signing_key: SecretStr | None = Field(None, validation_alias="CHRONICLE_SIGNING_KEY")
    seal_dir: str | None = Field(None, validation_alias="CHRONICLE_SEAL_DIR")
    archive_dir: str | None = Field(None, validation_alias="CHRONICLE_ARCHIVE_DIR")
    trusted_keys: str = Field("", validation_alias="CHRONICLE_TRUSTED_KEYS")
    seal_interval: float = Field(1.0, gt=0, le=3600, validation_alias="CHRONICLE_SEAL_INTERVAL")
    key_store_url: str | None = Field(None, validation_alias="CHRONICLE_KEY_STORE_URL")
    key_store_schema: str | None = Field(
        None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        validation_alias="CHRONICLE_KEY_STORE_SCHEMA",
    )
    key_encryption_key: SecretStr | None = Field(
        None, validation_alias="CHRONICLE_KEY_ENCRYPTION_KEY"
    )
    key_cache_seconds: float = Field(
        1.0, ge=0, le=3600, validation_alias="CHRONICLE_KEY_CACHE_SECONDS"
    )
    caller_cache_seconds: float = Field(
        1.0, ge=0, le=60, validation_alias="CHRONICLE_CALLER_CACHE_SECONDS"
    )
    password_profile: Literal["RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST"] = Field(
        "RFC_9106_LOW_MEMORY", validation_alias="CHRONICLE_PASSWORD_PROFILE"
    )
    secret_key: SecretStr | None = Field(None, validation_alias="CHRONICLE_SECRET_KEY")
    token_minutes: int = Field(60, ge=1, le=7 * 24 * 60, validation_alias="CHRONICLE_TOKEN_MINUTES")


_FIELD_TO_VARIABLE = {
    name: str(field.validation_alias) for name, field in EventConfig.model_fields.items()
}


def _accepts(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "literal_error":
        return f"accepts one of {ctx.get('expected')}"
    if error["type"].startswith("bool"):
        return "accepts true or false"
    if error["type"].startswith("int"):
        return "accepts a whole number" + (
            f" ({error['msg'].lower()})"
            if "greater" in error["msg"] or "less" in error["msg"]
            else ""
        )
    if error["type"] == "string_pattern_mismatch":
        return "accepts 1-100 characters of letters, digits, '_', '.' or '-'"
    return error["msg"]


def load_settings(**overrides: Any) -> EventConfig:
    """Read and check the settings; raise ``ConfigurationError`` naming the first bad variable."""
    try:
        settings = EventConfig(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = _FIELD_TO_VARIABLE.get(field, field)
        raise ConfigurationError(
            variable, f"{error.get('input')!r} is not valid: {_accepts(error)}"
        ) from None
    schemes = URL_SCHEMES[settings.store_type]
    if not settings.store_url.startswith(schemes):
        raise ConfigurationError(
            "EVENT_STORE_URL",
            f"with EVENT_STORE_TYPE={settings.store_type} it must start with "
            f"{' or '.join(schemes)} (got {settings.store_url.split('://')[0]}://…)",
        )
    if not settings.queue_url.startswith(QUEUE_SCHEMES):
        raise ConfigurationError("EVENT_QUEUE_URL", f"must start with {', '.join(QUEUE_SCHEMES)}")
    settings.projection_mode_overrides()
    if settings.signing_key is not None:
        private_key_bytes(settings.signing_key.get_secret_value())  # names the variable if bad
    if settings.key_encryption_key is not None:
        from chronicle.personal.kek import parse_kek

        parse_kek(settings.key_encryption_key.get_secret_value())  # names the variable if bad
    if settings.pg_pool_min > settings.pg_pool_max:
        raise ConfigurationError("CHRONICLE_PG_POOL_MIN", "must not exceed CHRONICLE_PG_POOL_MAX")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> EventConfig:
    """The process's settings, loaded on first call."""
    return load_settings()


def __getattr__(name: str) -> Any:
    # `event_config` is resolved on first access, so importing this module reads nothing.
    if name == "event_config":
        return get_settings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
