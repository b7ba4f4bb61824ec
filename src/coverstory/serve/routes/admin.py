"""Admin endpoints (token required): import, rebuild, jobs, stats; a reader's data."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path as PathParam, Request

from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import errors, require_admin, services
from coverstory.serve.schemas import (MAX_ID, CommandRequest, Erasure, Job, ReaderData,
                                      RebuildRequest, Stats)

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


def _known(svc, user_id: int) -> int:
    if not svc.catalog.has_user(user_id):
        raise ApiError(404, f"no user with id {user_id}")
    return user_id


@router.get("/users/{user_id}/data", response_model=ReaderData, responses=errors(401, 403, 404),
            summary="Everything kept about a catalog user (`coverstory user-data USER`)")
def user_data(user_id: int = PathParam(ge=1, le=MAX_ID), svc=Depends(services)) -> dict:
    from coverstory.catalog.privacy import reader_data

    return reader_data(svc.catalog, _known(svc, user_id))


@router.delete("/users/{user_id}", response_model=Erasure, responses=errors(401, 403, 404),
               summary="Erase a catalog user's data (`coverstory forget USER`)")
def forget_user(request: Request, user_id: int = PathParam(ge=1, le=MAX_ID),
                svc=Depends(services)) -> dict:
    from coverstory.serve.routes.users import erase

    return erase(request, svc, _known(svc, user_id))
