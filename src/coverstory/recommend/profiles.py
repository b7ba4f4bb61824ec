"""Reader profiles that update online, persisted in the catalog's ``profiles`` table.

A profile is the reader's fold-in vector for a factor model (ALS user factors here): solved
against the fixed item factors from the reader's current ratings, so a new rating or a
"like" in the chat changes the next recommendation at once, with no refit. Neighbourhood and
linear parts (EASE, content neighbours) need no stored state: they read the rating row.

The row is keyed by (user_id, model); ``meta`` records the model stamp and the ratings
fingerprint it was computed from, so a stale profile is recomputed, never used.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def fingerprint(book_ids, ratings) -> str:
    """A short hash of a reader's ratings (order-independent)."""
    pairs = sorted(zip((int(b) for b in book_ids), (float(r) for r in ratings)))
    return hashlib.sha1(json.dumps(pairs).encode()).hexdigest()[:16]


def load_profile(catalog, user_id: int, model: str) -> tuple[np.ndarray, dict] | None:
    r = catalog.profile(user_id, model)
    if r is None:
        return None
    return np.frombuffer(r[0], dtype="<f4").copy(), r[1]


def save_profile(catalog, user_id: int, model: str, vector: np.ndarray, meta: dict) -> None:
    blob = np.asarray(vector, dtype="<f4").tobytes()
    catalog.save_profile(user_id, model, blob, meta)
