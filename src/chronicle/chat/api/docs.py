"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served offline.

The pages load their scripts, style and icon from the service itself (``/docs/assets/…``), from
the files the ``fastapi-offline`` package ships, never from a CDN: the documentation works on a
network with no way out. Swagger UI's online validator badge is turned off for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

ASSETS_URL = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
"""The files each page needs, by name, with their content types."""

_FOLDER = files("fastapi_offline").joinpath("static")


def docs_router(title: str, openapi_url: str, oauth2_redirect_url: str) -> APIRouter:
    """The two documentation pages, Swagger UI's OAuth2 redirect page, and their assets."""
    router = APIRouter(include_in_schema=False)

    def asset_url(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"

    @router.get("/docs")
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_js_url=asset_url(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset_url(request, "swagger-ui.css"),
            swagger_favicon_url=asset_url(request, "favicon.png"),
            swagger_ui_parameters={"validatorUrl": None},
        )

    @router.get(oauth2_redirect_url)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=asset_url(request, "redoc.standalone.js"),
            redoc_favicon_url=asset_url(request, "favicon.png"),
            with_google_fonts=False,
        )

    for name, media_type in ASSETS.items():
        router.add_api_route(
            f"{ASSETS_URL}/{name}", _asset(name, media_type), methods=["GET"], name=name
        )
    return router


def _asset(name: str, media_type: str) -> Callable[[], FileResponse]:
    path = str(_FOLDER.joinpath(name))

    def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return serve
