"""Cold-start mappers (content -> collaborative factors), the hybrid's cold books, tuning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from coverstory.recommend.coldstart import MAPPERS, FactorMapper
from coverstory.recommend.features import ItemFeatures, day_one_text, meta_vectors
from coverstory.recommend.hybrid import Hybrid

from .mixin import block_features, block_ratings


def _linear(n=300, f=12, d=4, seed=0):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, f)).astype(np.float32)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    W = rng.normal(size=(f, d)).astype(np.float32)
    return F, F @ W


def test_ridge_recovers_a_linear_map():
    F, V = _linear()
    m = FactorMapper("ridge", l2=1e-3).fit(F[:250], V[:250])
    err = np.abs(m.predict(F[250:]) - V[250:]).mean() / np.abs(V).mean()
    assert err < 0.02


def test_knn_is_the_mean_of_the_nearest_books():
    F = np.eye(4, dtype=np.float32)
    V = np.arange(8, dtype=np.float32).reshape(4, 2)
    q = np.array([[1, 0.1, 0, 0]], np.float32)
    assert np.allclose(FactorMapper("knn", k=1).fit(F, V).predict(q), V[0])


@pytest.mark.parametrize("kind", MAPPERS)
def test_every_mapper_beats_the_mean(kind):
    F, V = _linear(n=600, seed=1)
    m = FactorMapper(kind, l2=1e-2, k=10).fit(F[:500], V[:500])
    err = np.square(m.predict(F[500:]) - V[500:]).mean()
    assert err < np.square(V[500:] - V[:500].mean(0)).mean()


def test_bad_mapper_input_is_refused():
    with pytest.raises(ValueError, match="unknown cold-start mapper"):
        FactorMapper("forest")
    with pytest.raises(ValueError, match="rated books"):
        FactorMapper("ridge").fit(np.zeros((3, 2)), np.zeros((2, 2)))


def test_day_one_helpers():
    assert day_one_text("Dune", "Frank Herbert", "Spice.") == "Dune. by Frank Herbert. Spice."
    assert day_one_text("Dune", "", "") == "Dune"
    M = meta_vectors(np.array([1965.0, np.nan]), np.array([np.nan, 412.0]))
    assert M[0].sum() == 1 and M[1].sum() == 1 and M.shape[0] == 2


def test_hybrid_places_cold_books_from_day_one_blocks():
    X = block_ratings()[0]
    feats = block_features()
    n = X.shape[1]
    X = sp.csr_matrix(X)
    cold = np.arange(n) % 7 == 0
    Xc = X.tocsc()
    Xc[:, np.flatnonzero(cold)] = 0
    Xc = sp.csr_matrix(Xc)
    Xc.eliminate_zeros()
    f = ItemFeatures()
    for k, V in feats.blocks.items():
        f.add(k, V)
        f.add("d1_" + k, V)
    for mapper in MAPPERS:
        h = Hybrid(seed=0, factors=8, cold_mapper=mapper, cold_k=5,
                   cold_blocks=[b for b in f.blocks if b.startswith("d1_")]).fit(Xc, f)
        assert h.can_score()[cold].all()
        S = h.score(np.arange(4))
        assert np.isfinite(S[:, cold]).all()
        # a cold book's offset moves it: b_cold > 0 lifts every cold score by that much
        h2 = Hybrid(**{**h.params(), "b_cold": 3.0}).fit(Xc, f)
        assert np.allclose(h2.score(np.arange(4))[:, cold], S[:, cold] + 3.0, atol=1e-4)


def test_tune_returns_settings_and_writes_defaults(tmp_path):
    from coverstory.recommend.tune import tune, write_defaults

    X = sp.csr_matrix(block_ratings()[0])
    feats = block_features()
    params, trials = tune(X, feats, seed=0, base={"factors": 8},
                          mappers=[("ridge", {"reg_l2": 1.0}), ("knn", {"cold_k": 5})])
    for k in ("w_als", "w_content", "kappa", "w_cold", "b_cold", "cold_mapper"):
        assert k in params
    assert any(t["stage"] == "cold" for t in trials)
    p = write_defaults(params, "test", tmp_path / "d.json")
    assert json.loads(p.read_text())["params"]["cold_mapper"] == params["cold_mapper"]


def test_merge_top_equals_ranking_the_rescaled_scores():
    """tune's cheap cold grid: merging a warm top-K with the rescaled cold top-K gives the
    same list as ranking the full blend with w_cold * score + b_cold on the cold books."""
    from coverstory.recommend.base import rank
    from coverstory.recommend.tune import merge_top

    rng = np.random.default_rng(0)
    S = rng.normal(size=(40, 200)).astype(np.float32)
    cold = rng.random(200) < 0.15
    seen = sp.random(40, 200, density=0.05, format="csr", random_state=1)
    for wc, bc in [(0.25, -4.0), (1.0, 0.0), (2.0, 1.5), (6.0, 6.0)]:
        T = S.copy()
        T[:, cold] = wc * T[:, cold] + bc
        ref = rank(T, 20, seen=seen)[0]
        a, b = S.copy(), S.copy()
        a[:, cold] = -np.inf
        b[:, ~cold] = -np.inf
        at, av = rank(a, 20, seen=seen)
        bt, bv = rank(b, 20, seen=seen)
        assert (merge_top(at, av, bt, wc * bv + bc) == ref).all()
    # a cold book far above the rated ones fills the list first
    top = merge_top(np.array([[0, 1]]), np.array([[1.0, 0.5]]), np.array([[7, -1]]),
                    np.array([[9.0, -np.inf]]), k=3)
    assert top.tolist() == [[7, 0, 1]]


def test_tune_cold_grid_is_logged_with_shares_and_edge_flag():
    from coverstory.recommend.tune import COLD_B, COLD_W, tune

    X = sp.csr_matrix(block_ratings()[0])
    params, trials = tune(X, block_features(), seed=0, base={"factors": 8},
                          mappers=[("ridge", {"reg_l2": 1.0})])
    cold = [t for t in trials if t["stage"] == "cold"]
    assert len(cold) == len(COLD_W) * len(COLD_B)
    assert all(0.0 <= t["cold_share@20"] <= 1.0 for t in cold)
    best = max(cold, key=lambda t: t["val_all_ndcg@20"])
    assert best["val_all_ndcg@20"] == pytest.approx(
        max(t["val_all_ndcg@20"] for t in cold if (t["w_cold"], t["b_cold"])
            == (params["w_cold"], params["b_cold"])))
    assert isinstance(next(t for t in cold if "at_grid_edge" in t)["at_grid_edge"], bool)
    # pushing cold books to the top of every list costs the warm positives
    top_all = [t for t in cold if t["b_cold"] == COLD_B[-1] and t["w_cold"] == COLD_W[-1]][0]
    assert top_all["cold_share@20"] >= best["cold_share@20"]
