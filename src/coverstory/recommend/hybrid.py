"""The hybrid: collaborative filtering blended with multimodal content, per reader.

Parts (each standardised per reader over the books it can score):
- **cf**: EASE + ALS (+ RP3beta, an item-graph walk with a popularity penalty, when
  ``w_rp3`` > 0) on the ratings. Books nobody has rated get ALS factors *regressed from
  their content vectors* (ridge from text/cover/tag features to the ALS item factors of
  rated books, rescaled to the same norm), so CF can still place them.
- **content**: content neighbours of the books the reader liked (``ContentKNN``).
- **popularity**: for readers with (almost) nothing rated.

Blend: ``c_u * (w_ease * ease + w_als * als + w_rp3 * rp3)
+ (w_content + w_content_new * (1 - c_u)) * content + w_pop * (1 - c_u) * pop``
with the reader's confidence ``c_u = n_u / (n_u + kappa)`` (n_u = liked books); a cold
book's blended score becomes ``w_cold * score + b_cold`` (its scores come from regressed
factors and content only, so they need their own scale against the rated books').
``explain`` says which part drove each suggestion and which liked book it came from.

New-book exposure (a product rule, off by default): ``cold_slots`` of the first 20 places
go to the best-scored unrated books whose blended score is at least ``cold_floor``
(:mod:`coverstory.recommend.exposure`; both chosen on validation by ``tune``).

Cold books: the mapping content -> ALS factors (:mod:`coverstory.recommend.coldstart`:
ridge, k-nearest rated books or an MLP) reads the ``cold_blocks`` feature blocks only
(None: the content blocks), so it can be restricted to what a shop knows on day one.
The default weights and cold-start settings are read from ``hybrid_defaults.json``
(written by ``coverstory.recommend.tune``, chosen on a validation split).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.als import ALS
from coverstory.recommend.base import Recommender
from coverstory.recommend.content import ContentKNN
from coverstory.recommend.ease import EASE
from coverstory.recommend.features import ItemFeatures

PARTS = ("ease", "als", "rp3", "content", "pop")
WEIGHT_KEYS = ("w_ease", "w_als", "w_rp3", "w_content", "w_content_new", "w_pop", "kappa",
               "w_cold", "b_cold")
DEFAULTS_FILE = "hybrid_defaults.json"


def defaults() -> dict:
    """The packaged default parameters (tune.py writes them; validation-chosen)."""
    import json
    from pathlib import Path

    path = Path(__file__).with_name(DEFAULTS_FILE)
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("params", {})


def zscore(S: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Standardise each row over the columns in mask (others set to 0)."""
    cols = S if mask is None else S[:, mask]
    mu = cols.mean(1, keepdims=True)
    sd = cols.std(1, keepdims=True)
    Z = (S - mu) / np.where(sd > 1e-9, sd, np.inf)
    if mask is not None:
        Z[:, ~mask] = 0.0
    return Z.astype(np.float32)


def blend(parts: dict[str, np.ndarray], n_liked: np.ndarray, w: dict[str, float],
          cold: np.ndarray | None = None) -> np.ndarray:
    """The hybrid score from standardised parts (see the module docstring); ``cold``: bool
    over items, the books without ratings (rescaled by w_cold, shifted by b_cold)."""
    c = (n_liked / (n_liked + w["kappa"]))[:, None].astype(np.float32)
    S = c * (w["w_ease"] * parts["ease"] + w["w_als"] * parts["als"])
    if w.get("w_rp3", 0.0) and "rp3" in parts:
        S += c * (w["w_rp3"] * parts["rp3"])
    S += (w["w_content"] + w["w_content_new"] * (1 - c)) * parts["content"]
    S += w["w_pop"] * (1 - c) * parts["pop"]
    if cold is not None and cold.any():
        S[:, cold] = w.get("w_cold", 1.0) * S[:, cold] + w.get("b_cold", 0.0)
    return S


class Hybrid(Recommender):
    """EASE + ALS (with content-regressed factors for unrated books) + content + popularity.

    The default blend weights are the ones chosen on validation by the full
    ``coverstory bench recommend`` run (seed 0; docs/benchmarks/recommend.md)."""

    name = "hybrid"
    uses_content = True

    def __init__(self, l2: float = 100.0, factors: int = 128, alpha: float = 10.0,
                 content_blocks: list[str] | None = None, content_m: int = 50,
                 reg_l2: float | None = None, w_ease: float | None = None,
                 w_als: float | None = None, w_content: float | None = None,
                 w_content_new: float | None = None, w_pop: float | None = None,
                 kappa: float | None = None, use_ease: bool = True,
                 threshold: float | None = 4.0, seed: int = 0,
                 cold_blocks: list[str] | None = None, cold_mapper: str | None = None,
                 cold_k: int | None = None, cold_rescale: bool | None = None,
                 w_cold: float | None = None, b_cold: float | None = None,
                 cold_slots: int | None = None, cold_floor: float | None = None,
                 w_rp3: float | None = None, rp3_alpha: float = 0.6, rp3_beta: float = 0.7,
                 rp3_k: int = 100):
        d = {"reg_l2": 10.0, "w_ease": 1.0, "w_als": 0.4, "w_content": 0.5,
             "w_content_new": 0.0, "w_pop": 2.0, "kappa": 1.0, "cold_mapper": "ridge",
             "cold_k": 50, "cold_rescale": True, "w_cold": 1.0, "b_cold": 0.0,
             "cold_slots": 0, "cold_floor": None, "w_rp3": 0.0, **defaults()}

        def pick(name, v):
            return d[name] if v is None else v

        self.l2, self.factors, self.alpha = float(l2), int(factors), float(alpha)
        self.content_blocks, self.content_m = content_blocks, int(content_m)
        self.reg_l2 = float(pick("reg_l2", reg_l2))
        self.w_ease, self.w_als = float(pick("w_ease", w_ease)), float(pick("w_als", w_als))
        self.w_content = float(pick("w_content", w_content))
        self.w_rp3 = float(pick("w_rp3", w_rp3))
        self.rp3_alpha, self.rp3_beta, self.rp3_k = float(rp3_alpha), float(rp3_beta), int(rp3_k)
        self.w_content_new = float(pick("w_content_new", w_content_new))
        self.w_pop, self.kappa = float(pick("w_pop", w_pop)), float(pick("kappa", kappa))
        self.w_cold, self.b_cold = float(pick("w_cold", w_cold)), float(pick("b_cold", b_cold))
        self.cold_blocks = cold_blocks
        self.cold_mapper = str(pick("cold_mapper", cold_mapper))
        self.cold_k = int(pick("cold_k", cold_k))
        self.cold_rescale = bool(pick("cold_rescale", cold_rescale))
        self.use_ease, self.threshold, self.seed = bool(use_ease), threshold, int(seed)
        self.cold_slots = int(pick("cold_slots", cold_slots))
        floor = pick("cold_floor", cold_floor)
        self.cold_floor = None if floor is None else float(floor)

    def params(self) -> dict:
        return {"l2": self.l2, "factors": self.factors, "alpha": self.alpha,
                "content_blocks": self.content_blocks, "content_m": self.content_m,
                "reg_l2": self.reg_l2, "w_ease": self.w_ease, "w_als": self.w_als,
                "w_content": self.w_content, "w_content_new": self.w_content_new,
                "w_pop": self.w_pop, "kappa": self.kappa, "use_ease": self.use_ease,
                "threshold": self.threshold, "seed": self.seed, "cold_blocks": self.cold_blocks,
                "cold_mapper": self.cold_mapper, "cold_k": self.cold_k,
                "cold_rescale": self.cold_rescale, "w_cold": self.w_cold, "b_cold": self.b_cold,
                "cold_slots": self.cold_slots, "cold_floor": self.cold_floor,
                "w_rp3": self.w_rp3, "rp3_alpha": self.rp3_alpha, "rp3_beta": self.rp3_beta,
                "rp3_k": self.rp3_k}

    @property
    def weights(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in WEIGHT_KEYS}

    def set_weights(self, **w: float) -> "Hybrid":
        for k, v in w.items():
            if k not in WEIGHT_KEYS:
                raise KeyError(f"unknown blend weight {k!r}; weights: {WEIGHT_KEYS}")
            setattr(self, k, float(v))
        return self

    # ---- fitting ---------------------------------------------------------------------------
    def _fit(self, X: sp.csr_matrix, items) -> None:
        if not isinstance(items, ItemFeatures):
            items = ItemFeatures().add("features", items)
        self.ease_ = EASE(l2=self.l2, threshold=None) if self.use_ease else None
        self.als_ = ALS(factors=self.factors, alpha=self.alpha, threshold=None, seed=self.seed)
        self.content_ = ContentKNN(blocks=self.content_blocks, m=self.content_m, threshold=None)
        self.rp3_ = self._make_rp3() if self.w_rp3 > 0 else None
        for m in (self.ease_, self.als_, self.content_, self.rp3_):
            if m is not None:
                m.fit(X, items if m.uses_content else None)
        self.content_blocks = self.content_.blocks
        self._fit_cold(X)

    def _make_rp3(self):
        from coverstory.recommend.rp3beta import RP3beta

        return RP3beta(alpha=self.rp3_alpha, beta=self.rp3_beta, k=self.rp3_k, threshold=None)

    def _fit_cold(self, X: sp.csr_matrix) -> None:
        """Map content to ALS item factors (rated books) and place the unrated ones."""
        from coverstory.recommend.coldstart import FactorMapper

        blocks = [b for b in (self.cold_blocks or self.content_.blocks)
                  if b in self.content_.features_.blocks]
        F = self.content_.features_.matrix(blocks) if blocks else self.content_.F_
        warm = np.diff(X.tocsc().indptr) > 0
        has = np.linalg.norm(F, axis=1) > 0
        train = warm & has
        V = self.als_.item_factors_.copy()
        self.warm_ = warm
        cold = ~warm & has
        if train.sum() > 10 and cold.any():
            mapper = FactorMapper(self.cold_mapper, l2=self.reg_l2, k=self.cold_k,
                                  seed=self.seed).fit(F[train], V[train])
            pred = mapper.predict(F[cold])
            if self.cold_rescale:   # the typical norm of learned factors
                scale = (np.linalg.norm(V[train], axis=1).mean()
                         / max(np.linalg.norm(pred, axis=1).mean(), 1e-9))
                pred = pred * scale
            V[cold] = pred
        self.cold_has_ = has
        self.V_ = V
        self.pop_ = np.log1p(np.asarray(X.sum(0)).ravel()).astype(np.float32)
        self.known_ = warm | has | self.content_.has_

    def can_score(self) -> np.ndarray:
        return self.known_

    # ---- scoring -----------------------------------------------------------------------------
    def parts(self, X: sp.csr_matrix, users, als_vectors: np.ndarray | None = None
              ) -> dict[str, np.ndarray]:
        """Standardised part scores for transformed rows X (als_vectors: stored profiles)."""
        warm = self.warm_
        out = {}
        if self.ease_ is not None:
            out["ease"] = zscore(self.ease_._score(X, users), warm)
        else:
            out["ease"] = np.zeros((X.shape[0], self.n_items), np.float32)
        U = als_vectors if als_vectors is not None else self.als_.user_vectors(X, users)
        als = U @ self.V_.T
        # standardise every item with the statistics of the rated ones
        mu = als[:, warm].mean(1, keepdims=True)
        sd = als[:, warm].std(1, keepdims=True)
        Z = (als - mu) / np.where(sd > 1e-9, sd, np.inf)
        Z[:, ~self.known_] = 0.0
        out["als"] = Z.astype(np.float32)
        # cold items: EASE cannot score them; the content-regressed ALS stands in for it
        cold = ~warm & self.known_
        out["ease"][:, cold] = out["als"][:, cold]
        if getattr(self, "rp3_", None) is not None:
            out["rp3"] = zscore(self.rp3_._score(X, users), warm)
            out["rp3"][:, cold] = out["als"][:, cold]
        out["content"] = zscore(self.content_._score(X, users), self.content_.has_)
        out["pop"] = np.broadcast_to(zscore(self.pop_[None, :], warm), (X.shape[0], self.n_items))
        return out

    def _score(self, X: sp.csr_matrix, users, als_vectors: np.ndarray | None = None
               ) -> np.ndarray:
        n_liked = np.diff(X.indptr).astype(np.float32)
        S = blend(self.parts(X, users, als_vectors), n_liked, self.weights, ~self.warm_)
        S[:, ~self.known_] = -np.inf
        if self.cold_slots > 0:          # the new-book exposure rule (a product choice)
            from coverstory.recommend.exposure import apply_to_scores

            floor = -np.inf if self.cold_floor is None else self.cold_floor
            S = apply_to_scores(S, X, ~self.warm_ & self.known_, self.cold_slots, floor)
        return S

    def fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        """The readers' ALS profile vectors from raw rating rows (stored as online profiles)."""
        return self.als_.fold_in(self.transform(rows))

    def score_with_profile(self, rows: sp.csr_matrix, als_vectors: np.ndarray) -> np.ndarray:
        """Scores of raw rating rows using stored ALS profile vectors (no fold-in solve)."""
        self._check()
        from coverstory.recommend.base import single_thread_blas

        X = self.transform(sp.csr_matrix(rows, dtype=np.float32))
        with single_thread_blas():
            return self._score(X, None, np.asarray(als_vectors, np.float32).reshape(X.shape[0], -1))

    def explain(self, user_rows, item_ids) -> list[dict]:
        """Per item: each part's weighted contribution, the part that drove it, and the liked
        book it comes from ("because_of", a column index or -1)."""
        Xraw, users = self.rows(user_rows)
        X = self.transform(Xraw)[:1]
        item_ids = np.asarray(item_ids, dtype=np.int64)
        P = self.parts(X, None if users is None else users[:1])
        n = float(X.nnz)
        w = self.weights
        c = n / (n + w["kappa"])
        contrib = {
            "collaborative": c * (w["w_ease"] * P["ease"][0] + w["w_als"] * P["als"][0]
                                  + (w["w_rp3"] * P["rp3"][0] if "rp3" in P else 0.0)),
            "content": (w["w_content"] + w["w_content_new"] * (1 - c)) * P["content"][0],
            "popularity": w["w_pop"] * (1 - c) * P["pop"][0],
        }
        liked = X.indices
        by_content = self.content_.because_of(liked, item_ids)
        by_cf = self._cf_because_of(liked, item_ids)
        out = []
        for j, i in enumerate(item_ids):
            parts = {k: float(v[i]) for k, v in contrib.items()}
            driver = max(parts, key=parts.get) if len(liked) else "popularity"
            cold = not self.warm_[i]
            because = int(by_content[j]) if driver == "content" or cold else int(by_cf[j])
            if driver == "popularity":
                because = -1
            out.append({"driver": driver, "parts": parts, "cold_item": bool(cold),
                        "because_of": because})
        return out

    def _cf_because_of(self, liked: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        if len(liked) == 0:
            return np.full(len(item_ids), -1)
        V = self.V_
        S = V[liked] @ V[item_ids].T                        # [n_liked, n_items]
        if self.ease_ is not None:
            act = {int(a): k for k, a in enumerate(self.ease_.active_)}
            li = [act.get(int(j)) for j in liked]
            ii = [act.get(int(j)) for j in item_ids]
            if all(x is not None for x in li):
                B = self.ease_.B_
                for col, k in enumerate(ii):
                    if k is not None:
                        S[:, col] = B[li, k]
        return np.asarray(liked)[S.argmax(0)]

    def similar_items(self, item_id: int, k: int = 10):
        """Collaborative neighbours (ALS factors, content-regressed for unrated books)."""
        from coverstory.recommend.base import rank

        V = self.V_
        n = np.linalg.norm(V, axis=1)
        s = V @ V[item_id] / np.maximum(n * max(n[item_id], 1e-9), 1e-9)
        s[item_id] = -np.inf
        s[~self.known_] = -np.inf
        ids, sc = rank(s[None], k)
        return ids[0], sc[0]

    def item_vectors(self) -> np.ndarray:
        return self.V_

    # ---- persistence ---------------------------------------------------------------------------
    def _state(self) -> dict:
        st = {f"als.{k}": v for k, v in self.als_._state().items()}
        st.update({f"content.{k}": v for k, v in self.content_._state().items()})
        if self.ease_ is not None:
            st.update({f"ease.{k}": v for k, v in self.ease_._state().items()})
        if getattr(self, "rp3_", None) is not None:
            st.update({f"rp3.{k}": v for k, v in self.rp3_._state().items()})
        st.update({"V": self.V_, "warm": self.warm_, "pop": self.pop_, "known": self.known_})
        return st

    def _set_state(self, state: dict) -> None:
        def sub(prefix):
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

        self.als_ = ALS(factors=self.factors, alpha=self.alpha, threshold=None, seed=self.seed)
        self.content_ = ContentKNN(blocks=self.content_blocks, m=self.content_m, threshold=None)
        self.ease_ = EASE(l2=self.l2, threshold=None) if self.use_ease else None
        self.rp3_ = self._make_rp3() if any(k.startswith("rp3.") for k in state) else None
        for m, p in ((self.als_, "als."), (self.content_, "content."), (self.ease_, "ease."),
                     (self.rp3_, "rp3.")):
            if m is None:
                continue
            m.train_ = self.train_
            m.n_users, m.n_items = self.n_users, self.n_items
            m.item_counts_ = self.item_counts_
            m._set_state(sub(p))
        self.V_, self.warm_, self.pop_, self.known_ = (state["V"], state["warm"], state["pop"],
                                                      state["known"])
