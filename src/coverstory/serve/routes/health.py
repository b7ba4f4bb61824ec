"""GET /healthz and the web chat page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from coverstory import __version__
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import errors, services
from coverstory.serve.schemas import Health

router = APIRouter()
STATIC = Path(__file__).resolve().parents[1] / "static"


@router.get("/healthz", response_model=Health, responses=errors(503), tags=["health"],
            summary="Liveness and readiness: the catalog answers")
def healthz(svc=Depends(services)) -> dict:
    try:
        n = svc.catalog.conn.execute("SELECT COUNT(*) FROM books").fetchone()[0]
    except Exception as e:  # noqa: BLE001 - any failure here means "not ready"
        raise ApiError(503, f"catalog not readable: {type(e).__name__}: {e}") from None
    return {"status": "ok", "version": __version__, "books": n, "loaded": svc.loaded()}


@router.get("/", include_in_schema=False)
def page():
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})
