"""``/health/events`` (is the store reachable, what does it hold) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chronicle.errors import StoreUnavailableError

from .dependencies import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health/events", responses={503: {"description": "the store is unreachable"}})
def health(services: ServicesDep) -> Any:
    """Event totals and the oldest and newest event's time; 503 when the store is unreachable."""
    chat = services.chat
    try:
        stats = chat.store.stats()
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


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """Prometheus text: appends, conflicts, append latency, HTTP requests, projection lag…"""
    services.chat.refresh_metrics()
    return Response(generate_latest(services.chat.metrics.registry), media_type=CONTENT_TYPE_LATEST)
