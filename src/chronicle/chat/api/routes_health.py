"""``/health/events`` (is the store reachable, what does it hold) and ``/metrics`` (Prometheus:
the text format, or OpenMetrics when the scraper's Accept header asks for it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

from chronicle.errors import StoreUnavailableError

from .dependencies import ServicesDep
from .responses import Health, problems

router = APIRouter(tags=["health"])


@router.get(
    "/health/events",
    response_model=None,
    responses={
        200: {"model": Health, "description": "The store is reachable."},
        503: {"model": Health, "description": "The store is unreachable (status: unhealthy)."},
    },
)
def health(services: ServicesDep) -> Any:
    """Event totals and the oldest and newest event's time; 503 when the store is unreachable.

    From the store's summary, not a count of the log: the cost does not grow with its size."""
    chat = services.chat
    try:
        stats = chat.store.summary()
    except StoreUnavailableError as exc:
        return JSONResponse(
            {
                "status": "unhealthy",
                "store": {"backend": chat.store.backend, "reachable": False, "error": str(exc)},
                "total_events": None,
                "oldest_event": None,
                "newest_event": None,
            },
            status_code=503,
        )
    return {
        "status": "healthy",
        "event_sourcing_enabled": chat.settings.enabled,
        "store": {"backend": stats.backend, "reachable": True, "size_bytes": stats.size_bytes},
        "total_events": stats.total_events,
        "oldest_event": stats.oldest_event.isoformat() if stats.oldest_event else None,
        "newest_event": stats.newest_event.isoformat() if stats.newest_event else None,
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format, or OpenMetrics when asked for.",
            "content": {
                CONTENT_TYPE_LATEST: {"schema": {"type": "string"}},
                OPENMETRICS: {"schema": {"type": "string"}},
            },
        },
        **problems(),  # 503: the store is unreachable
    },
)
def metrics(services: ServicesDep, request: Request) -> Response:
    """Appends, conflicts, append latency, HTTP requests, projection lag…: the Prometheus text
    format, or OpenMetrics (ending in ``# EOF``) when Accept names application/openmetrics-text,
    as the worker's and the relay's metrics ports answer."""
    services.chat.refresh_metrics()
    encode, media_type = choose_encoder(request.headers.get("accept", ""))
    return Response(
        encode(services.chat.metrics.registry), media_type=media_type, headers={"Vary": "Accept"}
    )
