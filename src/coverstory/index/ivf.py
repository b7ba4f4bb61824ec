"""Approximate search by inverted lists (faiss IVF, flat or 8-bit scalar-quantised storage)."""

from __future__ import annotations

import numpy as np

from coverstory.index.base import Index


class IVFIndex(Index):
    """k-means coarse quantiser with ``nlist`` lists; a query scans ``nprobe`` of them.

    ``storage`` is "Flat" (exact vectors) or "SQ8" (1 byte per dimension, 4x less memory).
    Trained on the first batch added (at least ``nlist`` vectors; up to 256 per list are
    sampled). Removal leaves tombstones that searches skip.
    """

    kind = "ivf"

    def __init__(self, dim: int, nlist: int = 1024, nprobe: int = 32, storage: str = "Flat"):
        if storage not in ("Flat", "SQ8"):
            raise ValueError(f"storage must be 'Flat' or 'SQ8', not {storage!r}")
        super().__init__(dim, nlist=int(nlist), nprobe=int(nprobe), storage=storage)

    def _new_faiss(self):
        import faiss

        idx = faiss.index_factory(self.dim, f"IVF{self.params['nlist']},{self.params['storage']}",
                                  faiss.METRIC_INNER_PRODUCT)
        idx.nprobe = self.params["nprobe"]
        return idx

    def _train(self, x: np.ndarray) -> None:
        nlist = self.params["nlist"]
        if len(x) < nlist:
            raise ValueError(f"an IVF index with nlist={nlist} needs at least {nlist} vectors in "
                             f"its first add(); got {len(x)} (use an exact index, or fewer lists)")
        self._faiss.train(self._train_sample(x, 256 * nlist))

    def set_nprobe(self, nprobe: int) -> None:
        self.params["nprobe"] = int(nprobe)
        if self._faiss is not None:
            self._faiss.nprobe = int(nprobe)

    def _after_load(self) -> None:
        self._faiss.nprobe = self.params["nprobe"]

    def _search_params(self, selector):
        import faiss

        return faiss.SearchParametersIVF(sel=selector, nprobe=self.params["nprobe"]) \
            if selector is not None else None
