"""The ``Recommender`` contract: a model implements ``_fit`` and ``_score``; ranking, seen-item
filtering, ``similar_items`` and save/load are written once here.

Users are addressed by *rows*: either integer indices of users seen in ``fit`` or a CSR matrix
of interaction rows (a user unknown at fit time, or a known user with newer ratings: fold-in).
Interaction values are explicit ratings (1-5) or 1 for implicit feedback; a model that wants
implicit data binarises with ``threshold`` (value >= threshold is a positive).

>>> import numpy as np, scipy.sparse as sp
>>> from coverstory.recommend.popularity import Popularity
>>> X = sp.csr_matrix(np.array([[5, 0, 4], [4, 5, 0]], dtype=np.float32))
>>> ids, scores = Popularity().fit(X).recommend(np.array([0]), k=1)
>>> ids.tolist()
[[1]]
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

UserRows = "np.ndarray | list[int] | sp.csr_matrix"
FORMAT_VERSION = 1


class NotFitted(RuntimeError):
    """The model was used before ``fit`` (or ``load``)."""


class Recommender(ABC):
    """Top-N recommendation over a fixed item set (columns of the interaction matrix).

    Subclasses set ``name`` and implement ``_fit(X, items)`` and ``_score(X, users)``;
    they declare their hyper-parameters in ``params()`` and their learned arrays in
    ``_state()`` / ``_set_state()`` so that ``save``/``load`` work without pickle.
    """

    name: ClassVar[str] = "base"
    uses_content: ClassVar[bool] = False     # fit() needs item features
    threshold: float | None = 4.0            # binarise ratings >= threshold; None = keep values

    train_: sp.csr_matrix | None = None

    # ---- what a model implements ------------------------------------------------------
    @abstractmethod
    def _fit(self, X: sp.csr_matrix, items: Any | None) -> None:
        """Learn from the (already transformed) interaction matrix X [n_users, n_items]."""

    @abstractmethod
    def _score(self, X: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        """Scores [len(rows), n_items] for the users whose (transformed) rows are X.

        ``users`` holds their fit-time indices when known (models with per-user parameters
        use them), else None (fold-in from X).
        """

    def params(self) -> dict:
        """Hyper-parameters (JSON-serialisable); the constructor accepts them as keywords."""
        return {}

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    def item_vectors(self) -> np.ndarray | None:
        """One vector per item for similar_items (None: use co-occurrence)."""
        return None

    # ---- shared behaviour ---------------------------------------------------------------
    def transform(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """Interaction values as this model sees them (binary positives by default)."""
        X = sp.csr_matrix(X, dtype=np.float32)
        if self.threshold is None:
            return X
        X = X.copy()
        X.data = (X.data >= self.threshold).astype(np.float32)
        X.eliminate_zeros()
        return X

    def fit(self, interactions: sp.spmatrix, items: Any | None = None) -> "Recommender":
        """Fit on interactions [n_users, n_items] (ratings or 1s); items = item features."""
        X = sp.csr_matrix(interactions, dtype=np.float32)
        X.sum_duplicates()
        if self.uses_content and items is None:
            raise ValueError(f"{self.name} needs item features: fit(interactions, items=...)")
        self.train_ = X
        self.n_users, self.n_items = X.shape
        counts = np.diff(X.tocsc().indptr)
        self.item_counts_ = counts.astype(np.int64)
        self._fit(self.transform(X), items)
        return self

    @property
    def fitted(self) -> bool:
        return self.train_ is not None

    def _check(self) -> None:
        if self.train_ is None:
            raise NotFitted(f"{self.name}: call fit() or load() first")

    def rows(self, user_rows) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """(raw interaction rows, fit-time user indices or None) for user_rows."""
        self._check()
        if sp.issparse(user_rows):
            X = sp.csr_matrix(user_rows, dtype=np.float32)
            if X.shape[1] != self.n_items:
                raise ValueError(f"{self.name}: rows have {X.shape[1]} columns, the model "
                                 f"was fitted on {self.n_items} items")
            return X, None
        users = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise IndexError(f"{self.name}: user index out of range 0..{self.n_users - 1}; "
                             "pass a CSR row to score a user unknown at fit time")
        return self.train_[users], users

    def score(self, user_rows, item_ids: np.ndarray | None = None) -> np.ndarray:
        """Scores float32 [n_users, n_items] (or [n_users, len(item_ids)]); higher is better."""
        X, users = self.rows(user_rows)
        if X.shape[0] <= 16:          # a few readers (serving): BLAS threads only add latency
            with single_thread_blas():
                S = np.asarray(self._score(self.transform(X), users), dtype=np.float32)
        else:
            S = np.asarray(self._score(self.transform(X), users), dtype=np.float32)
        if item_ids is not None:
            S = S[:, np.asarray(item_ids, dtype=np.int64)]
        return S

    def can_score(self) -> np.ndarray:
        """bool [n_items]: items this model has any information about (CF: rated in fit)."""
        self._check()
        return self.item_counts_ > 0

    def recommend(self, user_rows, k: int = 10, *, filter_seen: bool = True,
                  exclude: np.ndarray | list[int] | None = None,
                  candidates: np.ndarray | list[int] | None = None,
                  scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores per user, best first: ([n, k'] int64, [n, k'] float32).

        filter_seen drops each user's items in its rows; exclude drops items for all users;
        candidates restricts the ranking to those items. Rows with fewer than k rankable items
        are padded with -1 / -inf.
        """
        X, _ = self.rows(user_rows)
        S = self.score(user_rows) if scores is None else np.array(scores, dtype=np.float32)
        return rank(S, k, seen=X if filter_seen else None, exclude=exclude,
                    candidates=candidates)

    def similar_items(self, item_id: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most similar to item_id (cosine of item vectors, else of co-occurrence)."""
        self._check()
        V = self.item_vectors()
        if V is None:
            C = self.transform(self.train_).tocsc()
            col = C[:, item_id]
            sims = np.asarray((C.T @ col).todense()).ravel().astype(np.float32)
            norms = np.sqrt(np.asarray(C.multiply(C).sum(0)).ravel()).astype(np.float32)
            sims /= np.maximum(norms * max(norms[item_id], 1e-9), 1e-9)
        else:
            V = np.asarray(V, dtype=np.float32)
            n = np.linalg.norm(V, axis=1)
            sims = V @ V[item_id] / np.maximum(n * max(n[item_id], 1e-9), 1e-9)
        sims[item_id] = -np.inf
        ids, sc = rank(sims[None, :], k)
        return ids[0], sc[0]

    # ---- persistence: JSON config + npz arrays, no pickle ---------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` + ``arrays.npz`` into the folder ``path``."""
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {f"m.{k}": np.asarray(v) for k, v in self._state().items()}
        tr = self.train_
        state.update({"train.data": tr.data, "train.indices": tr.indices,
                      "train.indptr": tr.indptr})
        np.savez(path / "arrays.npz", **state)
        cfg = {"format": FORMAT_VERSION, "model": self.name, "params": self.params(),
               "shape": [self.n_users, self.n_items], "extra": self._extra_config()}
        (path / "config.json").write_text(json.dumps(cfg, indent=2))
        return path

    def _extra_config(self) -> dict:
        return {}

    def _load_extra_config(self, extra: dict) -> None:
        pass

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """Load a model saved with ``save`` (the class is looked up by its name)."""
        from coverstory.recommend.registry import model_class

        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"no saved recommender at {path} (config.json missing); "
                                    "run `coverstory build recommender`")
        cfg = json.loads((path / "config.json").read_text())
        klass = model_class(cfg["model"]) if cls is Recommender else cls
        model = klass(**cfg["params"])
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        n_users, n_items = cfg["shape"]
        model.train_ = sp.csr_matrix((arrays["train.data"], arrays["train.indices"],
                                      arrays["train.indptr"]), shape=(n_users, n_items))
        model.n_users, model.n_items = n_users, n_items
        model.item_counts_ = np.diff(model.train_.tocsc().indptr).astype(np.int64)
        model._load_extra_config(cfg.get("extra", {}))
        model._set_state({k[2:]: v for k, v in arrays.items() if k.startswith("m.")})
        return model

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({ps})"


def rank(S: np.ndarray, k: int, *, seen: sp.csr_matrix | None = None,
         exclude=None, candidates=None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns per row of S (modified in place) after masking; -1/-inf pad short rows."""
    S = np.asarray(S, dtype=np.float32)
    if S.ndim == 1:
        S = S[None, :]
    n, m = S.shape
    if candidates is not None:
        keep = np.zeros(m, dtype=bool)
        keep[np.asarray(candidates, dtype=np.int64)] = True
        S[:, ~keep] = -np.inf
    if exclude is not None and len(exclude):
        S[:, np.asarray(list(exclude), dtype=np.int64)] = -np.inf
    if seen is not None:
        seen = sp.csr_matrix(seen)
        r, c = seen.nonzero()
        S[r, c] = -np.inf
    S[np.isnan(S)] = -np.inf
    k = min(k, m)
    if k <= 0:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
    top = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (n, 1))
    vals = np.take_along_axis(S, top, 1)
    order = np.argsort(-vals, axis=1, kind="stable")
    top = np.take_along_axis(top, order, 1).astype(np.int64)
    vals = np.take_along_axis(vals, order, 1)
    top[~np.isfinite(vals)] = -1
    return top, vals.astype(np.float32)


_CONTROLLER = None


def single_thread_blas():
    """Context manager: BLAS on one thread. Many tiny solves (fold-in of one reader) run
    tens of times faster this way on a busy machine than with OpenBLAS's thread pool."""
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:                                    # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def l2_normalize(V: np.ndarray, axis: int = 1) -> np.ndarray:
    V = np.asarray(V, dtype=np.float32)
    n = np.linalg.norm(V, axis=axis, keepdims=True)
    return V / np.maximum(n, 1e-12)
