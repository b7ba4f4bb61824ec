"""Anonymous readers: a random session id in a cookie; the session's user lives in the
catalog (``session:<id>``), so a reader's profile survives restarts."""

from __future__ import annotations

import re
import secrets
import sqlite3

from starlette.requests import Request
from starlette.responses import Response

from coverstory.serve.errors import ApiError
from coverstory.serve.schemas import SESSION_PATTERN
from coverstory.serve.settings import ServeSettings

_SESSION_RE = re.compile(SESSION_PATTERN)


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def resolve_session(request: Request, given: str | None,
                    settings: ServeSettings) -> tuple[str, bool]:
    """(session id, is new): the one given, else the cookie's, else a fresh one."""
    if given:
        if not _SESSION_RE.match(given):
            raise ApiError(422, "invalid request: session_id: 8-64 letters, digits, - or _")
        return given, request.cookies.get(settings.cookie_name) != given
    cookie = request.cookies.get(settings.cookie_name)
    if cookie and _SESSION_RE.match(cookie):
        return cookie, False
    return new_session_id(), True


def set_session_cookie(request: Request, response: Response, session_id: str,
                       settings: ServeSettings) -> None:
    response.set_cookie(settings.cookie_name, session_id, max_age=settings.cookie_max_age,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        path="/")


def session_user(catalog, session_id: str) -> int:
    """The catalog user of a chat session (created on first use)."""
    external = f"session:{session_id}"
    try:
        return catalog.ensure_user(external)
    except sqlite3.IntegrityError:  # created by a concurrent request in between
        uid = catalog.user_id(external)
        if uid is None:
            raise
        return uid
