"""What every route needs: the services, the settings, and calling the library safely."""

from __future__ import annotations

import hmac
import logging

from fastapi import Request

from coverstory.errors import BadInput, CommandError, CoverstoryError, NotBuilt, NotFound

from coverstory.serve.errors import ERROR_SCHEMA, ApiError
from coverstory.serve.services import Services
from coverstory.serve.settings import ServeSettings

log = logging.getLogger("coverstory.serve")


# async: FastAPI calls a plain function dependency on a pool thread (a hop per request)
async def services(request: Request) -> Services:
    return request.app.state.services


async def settings(request: Request) -> ServeSettings:
    return request.app.state.settings


def errors(*codes: int) -> dict:
    """OpenAPI entries for the error statuses a route may answer with."""
    names = {400: "Bad input", 401: "Admin token missing", 403: "Admin token wrong or admin off",
             404: "Not found", 409: "Busy", 413: "Too large", 415: "Unsupported file type",
             422: "Invalid request", 429: "Rate limited", 501: "Not installed",
             503: "Not built or not available"}
    return {c: {"description": names.get(c, "Error"),
                "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            for c in (*codes, 422, 429)}


# the library's errors (coverstory/errors.py) -> HTTP status; checked in this order
STATUS: tuple[tuple[type, int], ...] = ((NotFound, 404), (BadInput, 400), (NotBuilt, 503),
                                        (CommandError, 503), (FileNotFoundError, 503))


def call(fn, *args, **kwargs):
    """Call a library function; its errors become 4xx (bad input, not found) or 503 (not
    built yet). Anything else - a bare KeyError or ValueError too - is a bug: 500."""
    try:
        return fn(*args, **kwargs)
    except ApiError:
        raise
    except (CoverstoryError, FileNotFoundError) as e:
        status = next((s for cls, s in STATUS if isinstance(e, cls)), 400)
        if status >= 500:
            log.warning("not ready: %s", e)
            raise ApiError(status, f"not ready: {e}") from None
        log.info("refused input: %s: %s", type(e).__name__, e)
        raise ApiError(status, str(e) or type(e).__name__) from None


def admin_token_ok(request: Request) -> bool:
    """True when the request carries the configured admin token (never when none is set)."""
    token = request.app.state.admin_token
    if not token:
        return False
    given = _given_token(request)
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def require_admin(request: Request) -> None:
    token = request.app.state.admin_token
    given = _given_token(request)
    if not given:
        raise ApiError(401, "admin token required: send 'Authorization: Bearer <token>' (the "
                            "server's COVERSTORY_ADMIN_TOKEN)",
                       headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise ApiError(403, "admin endpoints are disabled: start the server with "
                            "COVERSTORY_ADMIN_TOKEN set (or --admin-token)")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(403, "wrong admin token")


def _given_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-admin-token") or None


def book_exists(catalog, book_id: int) -> bool:
    return catalog.has_book(book_id)


def require_book(catalog, book_id: int) -> None:
    if not book_exists(catalog, book_id):
        raise ApiError(404, f"no book with id {book_id}; find ids with GET /api/search?q=")
