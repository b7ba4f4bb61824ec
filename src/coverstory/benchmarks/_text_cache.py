"""Sentence-encoder vectors of benchmark texts, cached on disk by a hash of the texts and the
encoder's identity, shared by the benchmarks that encode the same texts (bench encoders,
bench recommend): a rerun reads them back instead of encoding again."""

from __future__ import annotations

import numpy as np

from coverstory.artifacts import TEXT_ENCODER


def cached_encode(texts: list[str], encoder: str = TEXT_ENCODER) -> np.ndarray:
    """Vectors (float32) of ``texts`` by ``encoder``, from ``$COVERSTORY_BENCH_CACHE`` (default
    <tmp>/coverstory-bench-cache) when encoded before."""
    import hashlib
    import tempfile
    from pathlib import Path

    from coverstory.config import setting
    from coverstory.encoders.registry import get_encoder

    enc = get_encoder(encoder)
    key = hashlib.sha256(("\x00".join(texts) + enc.identity).encode()).hexdigest()[:20]
    cache = Path(setting("bench_cache") or Path(tempfile.gettempdir()) / "coverstory-bench-cache")
    f = cache / f"text-{key}.npy"
    if f.exists():
        return np.load(f)
    V = np.asarray(enc.encode(texts), np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(f, V)
    return V
