"""Chat turns are kept only ``chat_retention_days`` (settings): the server purges older
ones in the background, at most once an hour, when readers use the chat (and at the
first request after start). The purge itself is ``coverstory.catalog.privacy.purge_chats``.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import Request

log = logging.getLogger("coverstory.serve")
EVERY = 3600.0          # seconds between purges
_GUARD = threading.Lock()


class ChatRetention:
    def __init__(self, days: float | None = None, every: float = EVERY):
        from coverstory.catalog.privacy import chat_retention_days

        self.days = chat_retention_days() if days is None else float(days)
        self.every = every
        self.last: float | None = None     # monotonic time of the last purge started
        self.result: dict | None = None
        self._running = threading.Lock()

    def maybe_purge(self, catalog) -> threading.Thread | None:
        """Start a purge in a background thread when the last one is ``every`` seconds old."""
        if self.days <= 0:
            return None
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every:
            return None
        if not self._running.acquire(blocking=False):
            return None
        self.last = now
        t = threading.Thread(target=self._purge, args=(catalog,), daemon=True,
                             name="chat-retention")
        t.start()
        return t

    def _purge(self, catalog) -> None:
        from coverstory.catalog.privacy import purge_chats

        try:
            self.result = purge_chats(catalog, self.days)
            if self.result["events"] or self.result["sessions"]:
                log.info("purged %d chat events and %d chat sessions older than %g days",
                         self.result["events"], self.result["sessions"], self.days)
        except Exception:  # noqa: BLE001 - tried again an hour later
            log.exception("purging old chat turns failed")
        finally:
            self._running.release()


async def chat_retention(request: Request) -> None:
    """Route dependency: purge old chat turns now and then (never blocks the request; async,
    so it costs no hop to a pool thread)."""
    state = request.app.state
    ret = getattr(state, "chat_retention", None)
    if ret is None:
        with _GUARD:
            ret = getattr(state, "chat_retention", None)
            if ret is None:
                try:
                    ret = ChatRetention()
                except ValueError as e:   # a bad setting: say so once, keep everything
                    log.error("%s; chat turns are not purged", e)
                    ret = ChatRetention(days=0)
                state.chat_retention = ret
    ret.maybe_purge(state.services.catalog)
