"""One JSON error shape for every error: ``{"status": int, "error": "what to fix"}``.

Handlers raise :class:`ApiError`; validation errors, HTTP errors and unexpected exceptions
are turned into the same shape. A write that found the catalog locked (an import being
merged) is a 503 with Retry-After. Unexpected exceptions are logged with their traceback
and answered with a 500 that carries a request id but never the traceback.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("coverstory.serve")
BUSY_RETRY_AFTER = 2   # seconds: a reader's write found the catalog locked (an import's merge)


class ApiError(Exception):
    """An error the client can fix (4xx) or must wait out (503); the message says what to do."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


_PATH = re.compile(r"(?<![\w.~/-])(/[^\s'\"`,;:()\[\]{}<>|*?]+)")


def public_message(message: str, home=None) -> str:
    """``message`` without the server's absolute file paths: a path inside the data home
    becomes ``<data home>/relative/path``, any other one its file name (``…/books.csv``).
    URL paths (``/api/...``) stay: only paths whose first folder exists on this machine
    are file paths."""
    home = str(home).rstrip("/") if home else None

    def shown(m: re.Match) -> str:
        path = m.group(1)
        if home and (path == home or path.startswith(home + "/")):
            rel = path[len(home):].lstrip("/")
            return "<data home>" + (f"/{rel}" if rel else "")
        top = path.split("/")[1]
        if not top or not os.path.isdir("/" + top):
            return path
        name = path.rstrip("/").rsplit("/", 1)[-1]
        return f"…/{name}" if name else "…"

    return _PATH.sub(shown, message)


def error_body(status: int, message: str) -> dict:
    return {"status": status, "error": message}


def error_response(status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"status": {"type": "integer"}, "error": {"type": "string"}},
    "required": ["status", "error"],
}

_DEFAULT_MESSAGES = {
    404: "no such path; see /docs for the API",
    405: "method not allowed on this path; see /docs for the API",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body",)]
        where = ".".join(loc) if loc else "request body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = "is required"
        elif err.get("type") == "json_invalid":
            where, msg = "request body", "is not valid JSON"
        parts.append(f"{where}: {msg}")
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        message = exc.message
        if exc.status >= 500:   # "not built / not ready": no server paths to anyone
            message = public_message(message, getattr(request.app.state, "home", None))
        return error_response(exc.status, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else None
        if not detail or detail in ("Not Found", "Method Not Allowed"):
            detail = _DEFAULT_MESSAGES.get(exc.status_code, detail or "request refused")
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(sqlite3.OperationalError)
    async def _database(request: Request, exc: sqlite3.OperationalError):
        from coverstory.catalog.store import is_busy_error

        if not is_busy_error(exc):
            return await _unexpected(request, exc)
        log.warning("catalog busy: %s %s answered 503", request.method, request.url.path)
        return error_response(503, "the catalog is busy saving an import; nothing from this "
                                   f"request was saved: try again in {BUSY_RETRY_AFTER} s",
                              {"Retry-After": str(BUSY_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        rid = secrets.token_hex(4)
        log.exception("request %s %s failed (id %s)", request.method, request.url.path, rid)
        return error_response(500, f"internal error (request id {rid}); the server log has the "
                                   "details")
