"""Approximate search on a graph (faiss ``IndexHNSWFlat``, inner product)."""

from __future__ import annotations

import numpy as np

from coverstory.index.base import Index


class HNSWIndex(Index):
    """HNSW graph. ``m`` links per node, ``ef_construction`` build beam, ``ef_search`` query
    beam (recall/latency knob; can be changed after building). Removal leaves tombstones
    that searches skip; :meth:`compact` rebuilds without them."""

    kind = "hnsw"

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 128):
        super().__init__(dim, m=int(m), ef_construction=int(ef_construction),
                         ef_search=int(ef_search))

    def _new_faiss(self):
        import faiss

        idx = faiss.IndexHNSWFlat(self.dim, self.params["m"], faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = self.params["ef_construction"]
        idx.hnsw.efSearch = self.params["ef_search"]
        return idx

    def set_ef_search(self, ef: int) -> None:
        self.params["ef_search"] = int(ef)
        if self._faiss is not None:
            self._faiss.hnsw.efSearch = int(ef)

    def _after_load(self) -> None:
        self._faiss.hnsw.efSearch = self.params["ef_search"]

    def _search_params(self, selector):
        import faiss

        return faiss.SearchParametersHNSW(sel=selector, efSearch=self.params["ef_search"]) \
            if selector is not None else None

    def compact(self) -> None:
        """Rebuild the graph from the live vectors only (drops tombstones)."""
        if self._alive.all() or self._faiss is None:
            return
        rows = np.flatnonzero(self._alive)
        x = np.vstack([self._faiss.reconstruct(int(r)) for r in rows]) if len(rows) else None
        ids = self._ids[rows]
        self._faiss = None
        self._ids = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self._pos = {}
        if x is not None:
            self.add(ids, x)
