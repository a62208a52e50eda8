"""The chat service's FastAPI application, built by :func:`create_app` (nothing connects at import).

The lifespan opens the store and the read models (``open_chat``), the credentials table and the
token signer, and closes the store on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher, profiles
from fastapi import FastAPI

from chronicle.chat.service import Credentials
from chronicle.chat.service.throttle import Throttle
from chronicle.chat.web import web_router
from chronicle.chat.wiring import open_chat
from chronicle.config import EventConfig, get_settings
from chronicle.metrics import Metrics

from . import openapi, problems
from .auth import Tokens, load_secret
from .authors import AuthorCache
from .callers import CallerCache
from .dependencies import Services
from .docs import docs_router
from .middleware import BodyLimit, HTTPMetrics, SecurityHeaders
from .routes_audit import router as audit_router
from .routes_health import router as health_router
from .routes_holds import router as holds_router
from .routes_messages import router as messages_router
from .routes_projects import router as projects_router
from .routes_users import router as users_router
from .strict_json import StrictJSONBodies

# Room for the JSON around the largest event the store accepts.
_BODY_MARGIN = 64 * 1024


def password_hasher(settings: EventConfig) -> PasswordHasher:
    """The argon2id hasher of ``CHRONICLE_PASSWORD_PROFILE``: RFC 9106's low-memory profile by
    default (64 MiB, 3 passes); ``CHEAPEST`` is for test suites only (a hash then proves
    nothing against guessing). A stored hash names its own parameters, so a change of profile
    leaves every existing password valid."""
    return PasswordHasher.from_parameters(getattr(profiles, settings.password_profile))


def open_services(settings: EventConfig, metrics: Metrics | None = None) -> Services:
    """Everything a running service needs, opened from settings (also used by ``--demo``);
    appends are counted into ``metrics`` (default: a registry of its own)."""
    chat = open_chat(settings=settings, metrics=metrics)
    try:
        credentials = Credentials(chat.store, password_hasher(settings))
        credentials.ensure_table()
        tokens = Tokens(load_secret(settings), settings.token_minutes)
        throttle = Throttle(chat.store, metrics=chat.metrics)
        throttle.ensure_table()
    except BaseException:
        chat.close()
        raise
    return Services(
        chat=chat,
        writer=chat.writer(),
        credentials=credentials,
        tokens=tokens,
        throttle=throttle,
        callers=CallerCache(settings.caller_cache_seconds),
        authors=AuthorCache(),
    )


def create_app(settings: EventConfig | None = None, *, metrics: Metrics | None = None) -> FastAPI:
    """A new chat service on ``settings`` (default: the process's settings), serving ``metrics``
    at ``/metrics`` (default: a registry of its own; ``serve`` hands in the process's one)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = open_services(settings, metrics)
        try:
            yield
        finally:
            app.state.services.chat.close()

    app = FastAPI(
        title="Chronicle chat service",
        summary="An event-sourced chat API with an audit trail: who changed what, when.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by docs_router, below
        redoc_url=None,
    )
    problems.install(app)
    openapi.install(app)
    for router in (users_router, messages_router, projects_router, audit_router, health_router):
        app.include_router(router)
    app.include_router(holds_router)  # legal holds, /holds (admins)
    app.include_router(web_router())  # the audit page, /ui
    app.include_router(
        docs_router(
            app.title,
            app.openapi_url or "/openapi.json",
            app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect",
        )
    )

    def current_metrics() -> Metrics | None:
        services = getattr(app.state, "services", None)
        return services.chat.metrics if services is not None else None

    app.add_middleware(StrictJSONBodies)
    app.add_middleware(HTTPMetrics, metrics=current_metrics)
    app.add_middleware(BodyLimit, limit=settings.max_event_bytes + _BODY_MARGIN)
    app.add_middleware(SecurityHeaders)  # outermost: also on the body limit's 413
    return app
