"""Vector indexes: one ``Index`` contract, exact and approximate (faiss) implementations.

>>> from coverstory.index import make_index, load_index   # doctest: +SKIP
>>> idx = make_index(dim=384, expected=30_000)              # exact below EXACT_MAX vectors
"""

from __future__ import annotations

from coverstory.index.base import Index, as_matrix, normalize
from coverstory.index.exact import ExactIndex
from coverstory.index.hnsw import HNSWIndex
from coverstory.index.ivf import IVFIndex

KINDS: dict[str, type[Index]] = {"exact": ExactIndex, "hnsw": HNSWIndex, "ivf": IVFIndex}

# Below this many vectors brute force is fast enough (30k x 1280 floats ~ 5 ms a query).
EXACT_MAX = 100_000


def make_index(dim: int, expected: int, kind: str = "auto", **params) -> Index:
    """An empty index suited to about ``expected`` vectors.

    ``auto``: exact up to EXACT_MAX vectors, else HNSW (M=32; efSearch grows with size).
    """
    if kind == "auto":
        if expected <= EXACT_MAX:
            kind = "exact"
        else:
            kind = "hnsw"
            params = {"m": 32, "ef_construction": 80,
                      "ef_search": 128 if expected <= 300_000 else 256, **params}
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {sorted(KINDS)} or 'auto'")
    return KINDS[kind](dim, **params)


def load_index(path) -> Index:
    """Load an index saved with ``Index.save`` (any kind)."""
    return Index.load(path)


__all__ = ["Index", "ExactIndex", "HNSWIndex", "IVFIndex", "KINDS", "make_index", "load_index",
           "as_matrix", "normalize", "EXACT_MAX"]
