"""The OpenAPI document as the service really answers: every error a problem.

FastAPI documents a 422 as its own ``HTTPValidationError`` (a list-shaped ``detail``), but the
service answers every error, a 422 included, as an RFC 9457 problem (``problems.py``). The
document is rewritten once, when first asked for: each 422 refers to the ``Problem`` schema
under ``application/problem+json``, and FastAPI's validation schemas are dropped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .responses import Problem, problems

_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and the schemas it refers to, as ``components.schemas`` entries."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {**nested, "Problem": schema}


def _with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(problem_schemas())
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = problems(422)[422]
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return document


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with problems documented as they are sent."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
