"""GET /docs: the interactive API docs (Swagger UI), every file served by this server.

FastAPI's own /docs page loads Swagger UI from a CDN, so an offline reader gets a blank
page. The scripts come instead from the ``fastapi-offline`` package (a dependency), which
ships Swagger UI's built bundle; the page's CSP allows nothing from elsewhere. Without that
package, /docs says how to install it and /openapi.json still has the whole schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from coverstory.serve.errors import ApiError

router = APIRouter(include_in_schema=False)
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon.png": "image/png"}
INSTALL = "pip install fastapi-offline==1.7.7"


def assets_dir() -> Path | None:
    """The folder of Swagger UI's files (from fastapi-offline), or None when not installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    return folder if all((folder / name).is_file() for name in ASSETS) else None


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    if assets_dir() is None:
        return HTMLResponse(
            "<!DOCTYPE html><title>coverstory API</title><h1>coverstory API</h1>"
            f"<p>The interactive docs need Swagger UI's files: <code>{INSTALL}</code>. "
            f"The schema is at <a href=\"{root}/openapi.json\">/openapi.json</a>; "
            "docs/api.md describes every endpoint.</p>")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json", title="coverstory API",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon.png",
        swagger_ui_parameters={"validatorUrl": None})   # no badge fetched from elsewhere


@router.api_route("/docs/assets/{name}", methods=["GET", "HEAD"])
def asset(name: str) -> FileResponse:
    folder = assets_dir()
    if name not in ASSETS or folder is None:
        raise ApiError(404, f"no docs asset {name!r}" + ("" if folder else f"; {INSTALL}"))
    return FileResponse(folder / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
