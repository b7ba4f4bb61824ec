"""Compressed full scan + exact re-ranking (faiss ``PQ{m}x4fs,RFlat``, inner product).

Every vector is kept twice: as a 4-bit product-quantisation code (``m`` sub-quantisers of
16 centroids; scanned with faiss's SIMD "fast-scan" kernels, ``IndexPQFastScan``) and as
its float32 original (``IndexRefineFlat``). A query scans all the codes, takes the
``k * k_factor`` best candidates and re-ranks them by their exact inner product. There is
no graph or cluster structure to miss, so recall holds on data without neighbourhoods
(random vectors), and ``k_factor`` trades recall for time. Measured on 1M x 384 random
unit vectors, one thread: docs/benchmarks/index.md.
"""

from __future__ import annotations

import numpy as np

from coverstory.index.base import Index


class FastScanIndex(Index):
    """4-bit PQ fast-scan candidates, re-ranked exactly.

    ``m`` sub-quantisers (must divide ``dim``; default ``dim // 2``, two dimensions per
    sub-quantiser, ``m / 2`` bytes a code); ``k_factor`` candidates per requested neighbour
    (the recall/latency knob; can be changed after building). The quantiser is trained on
    the first ``add()`` (at least ``MIN_TRAIN`` vectors; a seeded sample of up to
    ``train_size`` is used); later adds are encoded with it, no retraining. Removal leaves
    tombstones: a search fetches that many extra candidates and drops them, and once
    tombstones pass ``COMPACT_FRACTION`` of the rows the index is compacted (codes rebuilt
    from the stored vectors, no retraining).
    """

    kind = "fastscan"
    MIN_TRAIN = 1_000
    COMPACT_FRACTION = 0.1

    def __init__(self, dim: int, m: int | None = None, k_factor: float = 50,
                 train_size: int = 65_536):
        dim = int(dim)
        m = int(m) if m else (dim // 2 if dim % 2 == 0 else dim)
        if m <= 0 or dim % m:
            raise ValueError(f"m={m} sub-quantisers must divide the dimension {dim}")
        super().__init__(dim, m=m, k_factor=_k_factor(k_factor), train_size=int(train_size))

    def _new_faiss(self):
        import faiss

        idx = faiss.index_factory(self.dim, f"PQ{self.params['m']}x4fs,RFlat",
                                  faiss.METRIC_INNER_PRODUCT)
        idx.k_factor = self.params["k_factor"]
        return idx

    def _train(self, x: np.ndarray) -> None:
        if len(x) < self.MIN_TRAIN:
            raise ValueError(f"a fastscan index needs at least {self.MIN_TRAIN} vectors in its "
                             f"first add() to train its quantiser; got {len(x)} (use an exact "
                             "index for small collections)")
        self._faiss.train(self._train_sample(x, self.params["train_size"]))

    def set_k_factor(self, k_factor: float) -> None:
        self.params["k_factor"] = _k_factor(k_factor)
        if self._faiss is not None:
            self._faiss.k_factor = self.params["k_factor"]

    def _after_load(self) -> None:
        self._faiss.k_factor = self.params["k_factor"]

    def _search_rows(self, q: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        # Fast-scan takes no IDSelector: ask for as many extra candidates (and results) as
        # there are tombstones, re-rank them all, then keep the best kk live rows.
        import faiss

        kf = self.params["k_factor"]
        dead = int(len(self._alive) - self._alive.sum())
        if dead == 0:
            params = faiss.IndexRefineSearchParameters(k_factor=kf)
            return self._faiss.search(q, kk, params=params)
        k2 = min(kk + dead, len(self._alive))
        params = faiss.IndexRefineSearchParameters(k_factor=(kk * kf + dead) / k2)
        d, pos = self._faiss.search(q, k2, params=params)
        live = (pos >= 0) & self._alive[np.clip(pos, 0, None)]
        order = np.argsort(~live, axis=1, kind="stable")[:, :kk]   # live first, rank kept
        d = np.take_along_axis(d, order, 1)
        pos = np.where(np.take_along_axis(live, order, 1), np.take_along_axis(pos, order, 1), -1)
        return d, pos

    def _drop_rows(self, rows: np.ndarray) -> None:
        self._alive[rows] = False
        if len(self._alive) - self._alive.sum() > self.COMPACT_FRACTION * len(self._alive):
            self.compact()

    def compact(self) -> None:
        """Rebuild codes and rows from the live vectors only (drops tombstones)."""
        if self._faiss is None or self._alive.all():
            return
        rows = np.flatnonzero(self._alive)
        x = self._faiss.reconstruct_batch(rows) if len(rows) else None
        self._faiss.reset()                    # keeps the trained quantiser
        if x is not None:
            self._faiss.add(np.ascontiguousarray(x, np.float32))
        self._ids = self._ids[rows]
        self._alive = np.ones(len(rows), bool)
        self._pos = {int(i): p for p, i in enumerate(self._ids.tolist())}


def _k_factor(k_factor: float) -> float:
    if k_factor < 1:
        raise ValueError(f"k_factor must be >= 1, not {k_factor}")
    return float(k_factor)
