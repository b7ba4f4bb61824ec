"""Admin endpoints (token required): import, rebuild, jobs, stats."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from coverstory.serve.routes.deps import errors, require_admin, services
from coverstory.serve.schemas import CommandRequest, Job, RebuildRequest, Stats

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin)])
ADMIN_ERRORS = errors(401, 403, 409)


@router.post("/import", response_model=Job, status_code=202, responses=ADMIN_ERRORS,
             summary="Import books, covers or ratings (runs `coverstory import ARGS` as a job)")
def import_(body: CommandRequest, request: Request) -> dict:
    return request.app.state.jobs.submit(["import", *body.args])


@router.post("/rebuild", response_model=Job, status_code=202, responses=ADMIN_ERRORS,
             summary="Rebuild features, indexes or models (`coverstory build TARGET` as a job)")
def rebuild(body: RebuildRequest, request: Request) -> dict:
    return request.app.state.jobs.submit(["build", body.target, *body.args])


@router.get("/jobs/{job_id}", response_model=Job, responses=errors(401, 403, 404))
def job(job_id: str, request: Request) -> dict:
    return request.app.state.jobs.get(job_id)


@router.get("/stats", response_model=Stats, responses=errors(401, 403))
def stats(request: Request, svc=Depends(services)) -> dict:
    server = request.app.state.stats.summary()
    server["rate_limited"] = request.app.state.bucket.refused
    return {"catalog": svc.catalog.stats(), "server": server, "loaded": svc.loaded(),
            "jobs": request.app.state.jobs.list()}
