"""Exact inner-product search (faiss ``IndexFlatIP``): the right choice for small catalogs."""

from __future__ import annotations

import numpy as np

from coverstory.index.base import Index


class ExactIndex(Index):
    """Brute force over every vector; removal deletes rows for real (no tombstones)."""

    kind = "exact"

    def _new_faiss(self):
        import faiss

        return faiss.IndexFlatIP(self.dim)

    def _drop_rows(self, rows: np.ndarray) -> None:
        import faiss

        self._faiss.remove_ids(faiss.IDSelectorBatch(rows))   # keeps the order of the rest
        keep = np.ones(len(self._ids), bool)
        keep[rows] = False
        self._ids = self._ids[keep]
        self._alive = self._alive[keep]
        self._pos = {int(i): p for p, i in enumerate(self._ids.tolist())}
