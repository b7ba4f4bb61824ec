"""RP3beta (item graph walk with a popularity penalty) and the hybrid's RP3beta part."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender
from coverstory.recommend.hybrid import Hybrid
from coverstory.recommend.registry import model_class
from coverstory.recommend.rp3beta import RP3beta, rp3beta_matrix

from .mixin import N, RecommenderMixin, block_features, block_ratings


def dense_rp3(Xb: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """The definition written out on a dense matrix (no top-k: k >= n)."""
    Pui = Xb / Xb.sum(1, keepdims=True)
    Piu = Xb.T / Xb.T.sum(1, keepdims=True)
    W = (Piu ** alpha) @ (Pui ** alpha) / Xb.sum(0)[None, :] ** beta
    np.fill_diagonal(W, 0.0)
    return W / W.sum(1, keepdims=True)


class TestRP3beta(RecommenderMixin):
    def make(self):
        return RP3beta(alpha=0.6, beta=0.5, k=10)


def test_matrix_matches_the_definition():
    rng = np.random.default_rng(0)
    Xb = (rng.random((30, 12)) < 0.4).astype(np.float64)
    Xb[:, Xb.sum(0) == 0] = 1.0                       # every book read by someone
    Xb[Xb.sum(1) == 0, 0] = 1.0
    W = rp3beta_matrix(sp.csr_matrix(Xb), alpha=0.7, beta=0.4, k=50, chunk=5).toarray()
    np.testing.assert_allclose(W, dense_rp3(Xb, 0.7, 0.4), rtol=1e-4, atol=1e-6)


def test_top_k_keeps_k_per_row_and_beta_penalises_popular_books():
    # book 0 is read by everyone, books 1 and 2 by the same two readers
    Xb = np.zeros((6, 4), np.float32)
    Xb[:, 0] = 1
    Xb[:2, 1] = Xb[:2, 2] = 1
    Xb[2:, 3] = 1
    W0 = rp3beta_matrix(sp.csr_matrix(Xb), alpha=1.0, beta=0.0, k=3).toarray()
    W1 = rp3beta_matrix(sp.csr_matrix(Xb), alpha=1.0, beta=1.0, k=3).toarray()
    assert W1[1, 0] / W1[1, 2] < W0[1, 0] / W0[1, 2]  # from book 1: the popular book loses
    Wk = rp3beta_matrix(sp.csr_matrix(Xb), alpha=1.0, beta=0.5, k=1)
    assert (np.diff(Wk.indptr) <= 1).all()


def test_registered():
    assert model_class("rp3beta") is RP3beta


class TestHybridWithRP3(RecommenderMixin):
    def make(self):
        return Hybrid(factors=4, l2=1.0, content_m=6, w_rp3=0.4)

    def test_part_present_and_saved(self, tmp_path):
        m, X, _ = self.fitted()
        assert m.rp3_ is not None
        P = m.parts(m.transform(X[:2]), None)
        assert P["rp3"].shape == (2, N)
        m2 = Recommender.load(m.save(tmp_path / "h"))
        assert m2.rp3_ is not None and m2.w_rp3 == 0.4


def test_hybrid_without_rp3_fits_no_rp3_and_weight_moves_scores():
    X, _ = block_ratings()
    f = block_features()
    a = Hybrid(factors=4, l2=1.0, content_m=6, w_rp3=0.0).fit(X, f)
    assert a.rp3_ is None and "rp3" not in a.parts(a.transform(X[:1]), None)
    b = Hybrid(factors=4, l2=1.0, content_m=6, w_rp3=0.5).fit(X, f)
    assert not np.allclose(a.score([0]), b.score([0]))
    b.set_weights(w_rp3=0.0)                           # same model, weight off: as without
    np.testing.assert_allclose(a.score([0]), b.score([0]), atol=1e-4)


def test_tune_searches_rp3_and_calibrates_cold_books_at_the_bench_rates():
    from coverstory.benchmarks._recommend_eval import hybrid_variants
    from coverstory.recommend.tune import COLD_B, COLD_W, SEARCH, tune

    X = sp.csr_matrix(block_ratings()[0])
    args = dict(seed=0, base={"factors": 8}, mappers=[("ridge", {"reg_l2": 1.0})])
    params, trials = tune(X, block_features(), **args)
    assert params["w_rp3"] in SEARCH["w_rp3"] and "calibrated_cold" not in params
    assert {t["w_rp3"] for t in trials if t["stage"] == "weights"} == set(SEARCH["w_rp3"])
    params, trials = tune(X, block_features(), cold_target=0.5, **args)
    cp = [t for t in trials if t["stage"] == "cold_protocol"]
    assert len(cp) == len(COLD_W) * len(COLD_B)
    best = max(cp, key=lambda t: t["val_all_ndcg@20"])
    assert params["calibrated_cold"] == {"w_cold": best["w_cold"], "b_cold": best["b_cold"]}
    rows = hybrid_variants(params)
    assert len(rows) == 2 + (params["cold_slots"] > 0)
    assert all("calibrated_cold" not in w for _, w in rows)
    assert rows[1][1]["w_cold"] == best["w_cold"] and rows[1][1]["cold_slots"] == 0
