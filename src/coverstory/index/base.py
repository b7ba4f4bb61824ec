"""The ``Index`` contract: ids + unit vectors in, (scores, ids) of the nearest out.

Every implementation keeps the vectors in a faiss index whose internal positions map to
our int64 book ids (``self._ids``); removed rows are masked (tombstones) or deleted, and a
search never returns them. ``save`` writes ONE ``.npz`` file (the serialized faiss index,
the id table, the tombstones and a JSON header) through a temporary file and an atomic
rename, so a crash while saving leaves the previous file untouched. Loading uses
``allow_pickle=False``.

>>> import numpy as np
>>> from coverstory.index import make_index
>>> idx = make_index(dim=4, expected=3)
>>> idx.add([10, 11, 12], np.eye(3, 4, dtype=np.float32))
>>> scores, ids = idx.search(np.eye(1, 4, dtype=np.float32), k=2)
>>> int(ids[0, 0])
10
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

FORMAT = "coverstory-index/1"
KINDS: dict[str, type["Index"]] = {}      # kind -> class; each implementation registers itself


def as_matrix(vectors, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 [n, d] copy-or-view of ``vectors`` (1-D is one row)."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"vectors must be [n, d]; got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"vectors have dimension {x.shape[1]}; this index holds dimension {dim}")
    return np.ascontiguousarray(x)


def normalize(vectors) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), float32."""
    x = as_matrix(vectors).copy()
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


class Index(ABC):
    """Inner-product nearest-neighbour search over vectors keyed by int64 ids.

    Use unit vectors for cosine similarity. ``add`` with an id already present replaces
    its vector; ``remove`` drops ids (unknown ids are ignored).
    """

    kind: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS[cls.kind] = cls

    def __init__(self, dim: int, **params):
        self.dim = int(dim)
        self.params = dict(params)
        self._ids = np.zeros(0, np.int64)      # internal position -> external id
        self._alive = np.zeros(0, bool)        # False = tombstone
        self._pos: dict[int, int] = {}         # external id -> internal position (alive only)
        self._faiss = None

    # ---- what implementations provide ------------------------------------------------
    @abstractmethod
    def _new_faiss(self):
        """An empty faiss index for this kind and these params."""

    def _train(self, x: np.ndarray) -> None:
        """Train the faiss index on the first batch, when it needs training."""

    @staticmethod
    def _train_sample(x: np.ndarray, n: int) -> np.ndarray:
        """At most ``n`` rows of ``x``, drawn with a fixed seed (the same index every run)."""
        if len(x) <= n:
            return x
        return x[np.sort(np.random.default_rng(0).choice(len(x), n, replace=False))]

    def _search_params(self, selector):
        """faiss SearchParameters carrying ``selector`` (and this kind's knobs)."""
        import faiss

        return faiss.SearchParameters(sel=selector) if selector is not None else None

    def _drop_rows(self, rows: np.ndarray) -> None:
        """Forget internal rows: default is a tombstone (rows stay, are never returned)."""
        self._alive[rows] = False

    # ---- the contract ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._pos)

    @property
    def ids(self) -> np.ndarray:
        """The ids held (in insertion order)."""
        return self._ids[self._alive]

    def __contains__(self, book_id: int) -> bool:
        return int(book_id) in self._pos

    def add(self, ids, vectors) -> None:
        """Add (or replace) the vectors of ``ids``; incremental, no rebuild."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        x = as_matrix(vectors, self.dim)
        if len(ids) != len(x):
            raise ValueError(f"{len(ids)} ids but {len(x)} vectors")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        if len(ids) == 0:
            return
        present = [i for i in ids.tolist() if i in self._pos]
        if present:
            self.remove(present)
        if self._faiss is None:
            self._faiss = self._new_faiss()
        if not self._faiss.is_trained:
            self._train(x)
        start = len(self._ids)
        self._faiss.add(x)
        self._ids = np.concatenate([self._ids, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), bool)])
        self._pos.update(zip(ids.tolist(), range(start, start + len(ids))))

    def remove(self, ids) -> int:
        """Remove ``ids``; returns how many were present."""
        rows = [self._pos.pop(int(i)) for i in np.asarray(ids).reshape(-1).tolist()
                if int(i) in self._pos]
        if rows:
            self._drop_rows(np.asarray(sorted(rows), np.int64))
        return len(rows)

    def search(self, vectors, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product: (scores float32 [n, k], ids int64 [n, k]).

        Missing neighbours (fewer than k vectors held) are padded with id -1, score -inf.
        """
        q = as_matrix(vectors, self.dim)
        n = len(q)
        scores = np.full((n, k), -np.inf, np.float32)
        out = np.full((n, k), -1, np.int64)
        if len(self) == 0 or n == 0 or k <= 0:
            return scores, out
        kk = min(k, len(self))
        d, pos = self._search_rows(q, kk)
        valid = pos >= 0
        out[:, :kk] = np.where(valid, self._ids[np.clip(pos, 0, None)], -1)
        scores[:, :kk] = np.where(valid, d, -np.inf)
        return scores, out

    def _search_rows(self, q: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``kk`` live internal rows (scores, rows; -1 = none): faiss with a bitmap
        ``IDSelector`` over the tombstones. Kinds whose faiss index takes no selector
        override this."""
        import faiss

        selector = None
        bitmap = None
        if not self._alive.all():
            bitmap = np.packbits(self._alive, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self._alive), faiss.swig_ptr(bitmap))
        params = self._search_params(selector)
        if params is None:
            d, pos = self._faiss.search(q, kk)
        else:
            d, pos = self._faiss.search(q, kk, params=params)
        del bitmap
        return d, pos

    def reconstruct(self, book_id: int) -> np.ndarray:
        """The stored vector of ``book_id`` (exact for flat storage)."""
        return self._faiss.reconstruct(self._pos[int(book_id)])

    # ---- persistence -------------------------------------------------------------------
    def header(self) -> dict:
        return {"format": FORMAT, "kind": self.kind, "dim": self.dim, "params": self.params,
                "count": len(self)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path`` atomically (temp file in the same folder + rename)."""
        import faiss

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = (faiss.serialize_index(self._faiss) if self._faiss is not None
                else np.zeros(0, np.uint8))
        buf = io.BytesIO()
        np.savez(buf, header=np.frombuffer(json.dumps(self.header()).encode(), np.uint8),
                 faiss=np.asarray(blob, np.uint8), ids=self._ids, alive=self._alive)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                _write(f, buf.getbuffer())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return path

    @staticmethod
    def load(path: str | os.PathLike) -> "Index":
        """Read an index written by :meth:`save` (any kind)."""
        import faiss

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no index at {path}; build it with `coverstory build index`")
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(z["header"].tobytes().decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"{path} is not a coverstory index (format {header.get('format')})")
            cls = KINDS[header["kind"]]
            idx = cls(header["dim"], **header["params"])
            blob = z["faiss"]
            idx._ids = z["ids"].astype(np.int64)
            idx._alive = z["alive"].astype(bool)
        if len(blob):
            idx._faiss = faiss.deserialize_index(blob)
            idx._after_load()
        idx._pos = {int(i): p for p, i in enumerate(idx._ids.tolist()) if idx._alive[p]}
        return idx

    def _after_load(self) -> None:
        """Re-apply runtime knobs (efSearch, nprobe) after deserialising."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, n={len(self)}, params={self.params})"


def _write(f, data) -> None:
    """Indirection so tests can simulate a crash in the middle of a save."""
    f.write(data)
