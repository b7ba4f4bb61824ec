"""GET /healthz and the web chat page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from coverstory import __version__
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import errors, services
from coverstory.serve.schemas import Health

router = APIRouter()
STATIC = Path(__file__).resolve().parents[1] / "static"


@router.get("/healthz", response_model=Health, responses=errors(503), tags=["health"],
            summary="Liveness and readiness: the catalog answers; what is still loading")
def healthz(request: Request, svc=Depends(services)) -> dict:
    try:
        n = svc.catalog.count_books()
    except Exception as e:  # noqa: BLE001 - any failure here means "not ready"
        raise ApiError(503, f"catalog not readable: {type(e).__name__}: {e}") from None
    warm = svc.warmup
    parts = warm.status() if warm is not None else None
    build = request.app.state.jobs.build_status()
    loading = bool((warm is not None and warm.busy())
                   or (build is not None and build["state"] == "running"))
    return {"status": "loading" if loading else "ready", "version": __version__, "books": n,
            "loaded": svc.loaded(), "parts": parts, "build": build,
            "message": preparing(parts, build) if loading else None}


def preparing(parts: dict | None, build: dict | None) -> str:
    """What is still being prepared, for the page: 'Still preparing: book text embeddings
    (34%), recommender. Meanwhile the chat answers from words alone.'"""
    from coverstory.serve.services import PARTS

    todo = []
    for s in (build or {}).get("steps", []):
        if s["state"] in ("waiting", "running"):
            todo.append(s["name"] + (f" ({s['percent']}%)" if "percent" in s else
                                     " (running)" if s["state"] == "running" else ""))
    for name, st in (parts or {}).items():
        if st["state"] in ("waiting", "loading") and name != "dialogue":
            todo.append(f"loading {PARTS[name]}")
    text = "Still preparing: " + ", ".join(todo) + "." if todo else "Almost ready."
    if parts and parts.get("dialogue", {}).get("state") != "ready":
        text += " Meanwhile the chat answers from titles, authors, tags and descriptions."
    if parts and parts.get("photo", {}).get("state") != "ready":
        text += " Photo search is not ready yet."
    return text


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def page():
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})
