"""The HTTP app factory: ``create_app(home) -> FastAPI`` (nothing happens at import time).

>>> from coverstory.serve.app import create_app      # doctest: +SKIP
>>> app = create_app("/path/to/home", admin_token="s3cret")   # doctest: +SKIP

Services (catalog, search, recommendation, dialogue) are created on first use, or passed
in. Middleware, outermost first: metrics, security headers, rate limit, body size limit,
write wait (catalog writes give up after a moment: 503), CORS (only when origins are given).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from coverstory.config import home_dir, setting
from coverstory.serve.settings import ServeSettings

DESCRIPTION = """
Talk to coverstory, search the catalog by words or by a cover photo, get
recommendations and give feedback. Every error has the same JSON body:
`{"status": <http status>, "error": "<what to fix>"}`.
Anonymous readers are identified by the `cs_session` cookie (or a `session_id`).
Admin endpoints need `Authorization: Bearer <COVERSTORY_ADMIN_TOKEN>`.
"""


def create_app(home=None, admin_token: str | None = None, *, settings: ServeSettings | None = None,
               catalog=None, search=None, recommend=None, dialogue=None,
               policy: str = "default", warm: bool = False, build: bool = False):
    """Build the FastAPI app serving the data home ``home``.

    ``admin_token``: None reads $COVERSTORY_ADMIN_TOKEN; empty disables the admin endpoints.
    ``catalog``/``search``/``recommend``/``dialogue``: objects that implement the contracts
    in docs/api.md, used instead of the real ones (which are built lazily from ``home``).
    ``warm``: at start-up, load the services in the background (requests are answered from
    what is ready meanwhile; ``/healthz`` says what is loading). ``build``: also build what
    the data home lacks (features, indexes, recommender) in background processes, and load
    each result when its step finishes (implies ``warm``).
    """
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.cors import CORSMiddleware

    from coverstory import __version__
    from coverstory.serve.errors import install_error_handlers
    from coverstory.serve.jobs import JobRunner
    from coverstory.serve.limits import (BodySizeLimit, Metrics, RateLimit, SecurityHeaders,
                                         ServerStats, TokenBucket, WriteWait)
    from coverstory.serve.routes import admin, books, chat, docs, health, users
    from coverstory.serve.routes import search as search_routes
    from coverstory.serve.services import Services

    home = Path(home) if home is not None else home_dir()
    settings = settings or ServeSettings()
    if admin_token is None:
        admin_token = setting("admin_token")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if warm or build:
            app.state.services.start_warmup(building=build)
        if build:
            on_step = _reloader(app)
            app.state.jobs.submit_build(on_step=on_step, on_done=on_step.flush)
        try:
            yield
        finally:
            app.state.jobs.stop()

    # /docs is served by routes/docs.py with local Swagger UI files (no CDN)
    app = FastAPI(title="coverstory", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.home = home
    app.state.settings = settings
    app.state.admin_token = admin_token or ""
    app.state.services = Services(home, catalog=catalog, search=search, recommend=recommend,
                                  dialogue=dialogue, policy=policy,
                                  photo_concurrency=settings.photo_concurrency,
                                  cpu_workers=settings.cpu_workers)
    app.state.jobs = JobRunner(home, on_success=app.state.services.reset,
                               rebuild_recommender=recommend is None)
    app.state.stats = ServerStats()
    app.state.bucket = TokenBucket(settings.rate_per_minute, settings.rate_burst)

    install_error_handlers(app)
    for r in (health.router, docs.router, chat.router, search_routes.router, books.router,
              users.router, admin.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=health.STATIC), name="static")

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                           allow_credentials=False)
    app.add_middleware(WriteWait, seconds=settings.write_wait_seconds)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, bucket=app.state.bucket, upload_cost=settings.upload_cost,
                       trust_forwarded_for=settings.trust_forwarded_for)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Metrics, stats=app.state.stats)
    logging.getLogger("coverstory.serve").setLevel(logging.INFO)
    return app


# steps whose result a reader notices at once: their services are reloaded when they finish
URGENT_STEPS = ("book text embeddings", "recommender")


def _reloader(app):
    """After a background build step: reload the services it feeds, at once for
    ``URGENT_STEPS``, else when no step still to finish feeds the same service (each reload
    loads a new copy beside the old one; fewer reloads, less memory churn)."""
    dirty: set[str] = set()

    def on_step(step, result) -> None:
        dirty.update(step.reloads)
        plan = app.state.jobs.plan
        later = {p for s in plan.status() if s["state"] in ("waiting", "running")
                 for p in plan.steps[s["name"]].reloads}
        now = set(step.reloads) if step.name in URGENT_STEPS else set()
        now |= dirty - later
        if now:
            dirty.difference_update(now)
            app.state.services.reload(tuple(sorted(now)))

    def flush() -> None:                  # the build ended (a step may have failed)
        if dirty:
            app.state.services.reload(tuple(sorted(dirty)))
            dirty.clear()

    on_step.flush = flush
    return on_step
