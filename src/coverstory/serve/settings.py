"""Limits and switches of the HTTP service, in one place (documented in docs/serve.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """What the service allows. Defaults are safe for a public deployment on one machine."""

    max_upload_bytes: int = 10 * MB          # one photo or voice upload
    max_body_bytes: int = 10 * MB + 64 * 1024  # whole request (upload + multipart overhead)
    max_image_pixels: int = 40_000_000       # bigger images are refused (decompression bombs)
    max_text_chars: int = 2000               # one chat message / search query
    rate_per_minute: float = 300.0           # sustained requests per client (0 = no limit)
    rate_burst: int = 60                     # requests a client may send at once
    upload_cost: int = 5                     # an upload counts as this many requests
    cors_origins: tuple[str, ...] = field(default_factory=tuple)  # empty = CORS closed
    cookie_name: str = "cs_session"
    cookie_max_age: int = 365 * 24 * 3600    # a reader keeps their profile for a year
    trust_forwarded_for: bool = False        # use X-Forwarded-For as the client (behind a proxy)
    max_k: int = 50                          # most results one request may ask for
    photo_concurrency: int = 2               # photos analysed at once (CNN + OCR are CPU-heavy);
                                             # the others wait, light requests go on
    cpu_workers: int = 2                     # threads answering chat turns and text searches,
                                             # in arrival order (serve/lanes.py)
    photo_max_side: int = 1600               # uploads are decoded (JPEG: at 1/2-1/8 scale) to at
                                             # most this many pixels on the long side
    write_wait_seconds: float = 2.0          # a reader's write waits this long for the catalog's
                                             # write lock (an import's merge), then 503
