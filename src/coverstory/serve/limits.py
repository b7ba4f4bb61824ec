"""Protective ASGI middleware: request size limit, per-client rate limit, security headers.

Pure ASGI (no BaseHTTPMiddleware), so bodies stream through and a too-large upload is
refused before it is read into memory.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict

from coverstory.serve.errors import error_body


async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps(error_body(status, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse requests whose body exceeds ``max_bytes`` with a 413 (checked on
    Content-Length first, then while streaming for chunked bodies)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return (f"request body too large: the limit is {self.max_bytes // (1024 * 1024)} MB; "
                "send a smaller photo (for example resized to 2000 px)")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return await _send_error(send, 400, "Content-Length header is not a number")
                if length > self.max_bytes:
                    return await _send_error(send, 413, self._message())
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, self._message())


class TokenBucket:
    """Per-key token buckets: ``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate_per_minute: float, burst: int, max_keys: int = 100_000):
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.refused = 0

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take ``cost`` tokens; returns 0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self.rate
                self.refused += 1
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def client_key(scope, trust_forwarded_for: bool = False) -> str:
    if trust_forwarded_for:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimit:
    """429 with Retry-After when a client (by IP) sends faster than its bucket allows.
    Uploads (multipart bodies) cost ``upload_cost`` requests. /healthz is never limited."""

    EXEMPT = ("/healthz",)

    def __init__(self, app, bucket: TokenBucket, upload_cost: int = 5,
                 trust_forwarded_for: bool = False):
        self.app = app
        self.bucket = bucket
        self.upload_cost = upload_cost
        self.trust_forwarded_for = trust_forwarded_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.EXEMPT or self.bucket.rate <= 0:
            return await self.app(scope, receive, send)
        cost = 1
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and value.startswith(b"multipart/"):
                cost = self.upload_cost
        wait = self.bucket.take(client_key(scope, self.trust_forwarded_for), cost)
        if wait > 0:
            secs = max(1, math.ceil(wait))
            return await _send_error(
                send, 429, f"too many requests from this client; retry in {secs} s",
                [(b"retry-after", str(secs).encode())])
        return await self.app(scope, receive, send)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
PAGE_CSP = (b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
# the API docs page starts Swagger UI with an inline script; still nothing from elsewhere
DOCS_CSP = (b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """nosniff, no framing, same-origin referrer; a strict CSP on HTML pages (the API docs'
    allows its inline start-up script, and like the page, nothing from other sites)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        docs = scope["path"].startswith(("/docs", "/redoc"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                is_html = any(n == b"content-type" and v.startswith(b"text/html")
                              for n, v in headers)
                if is_html:
                    headers.append((b"content-security-policy", DOCS_CSP if docs else PAGE_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WriteWait:
    """Catalog writes made while serving a request wait at most ``seconds`` for the write
    lock (an import's merge holds it for a moment); past that the request answers 503 with
    Retry-After (serve/errors.py) instead of hanging for the 30 s default."""

    def __init__(self, app, seconds: float):
        from coverstory.catalog.store import write_wait

        self.app = app
        self.seconds = seconds
        self._write_wait = write_wait

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        with self._write_wait(self.seconds):   # a context variable: worker threads see it
            await self.app(scope, receive, send)


class Metrics:
    """Counts requests by status class and keeps the last few thousand latencies."""

    def __init__(self, app, stats: "ServerStats"):
        self.app = app
        self.stats = stats

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.stats.record(status, time.perf_counter() - t0)


class ServerStats:
    def __init__(self):
        self.started = time.time()
        self.by_status: dict[str, int] = {}
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def record(self, status: int, seconds: float) -> None:
        with self._lock:
            key = f"{status // 100}xx"
            self.by_status[key] = self.by_status.get(key, 0) + 1
            self.latencies.append(seconds)
            if len(self.latencies) > 5000:
                del self.latencies[:1000]

    def summary(self) -> dict:
        with self._lock:
            lat = sorted(self.latencies)
            by = dict(self.by_status)
        pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None  # noqa: E731
        return {"uptime_s": round(time.time() - self.started, 1), "requests": sum(by.values()),
                "by_status": by, "latency_ms_p50": pct(0.5), "latency_ms_p95": pct(0.95),
                "rss_mb": rss_mb()}


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process (this one by default) in MB, from /proc; None where
    unavailable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
