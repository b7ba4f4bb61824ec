"""Shared tests every ``Recommender`` gets (in the spirit of implicit's RecommenderBaseTestMixin).

A test class sets ``make()`` (a fresh, unfitted model) and inherits these tests, which run on a
checkerboard of two reader groups and two book blocks with a known answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coverstory.recommend.base import NotFitted, Recommender
from coverstory.recommend.features import ItemFeatures

N = 24          # readers and books; readers 0-11 and books 0-11 form group A, the rest B
HALF = N // 2


def block_ratings() -> tuple[sp.csr_matrix, dict[int, set[int]]]:
    """Group A rates A books 5 and B books 1 (and vice versa), except 2 own-block and 2
    other-block books per reader left unrated. Returns (ratings, reader -> own held-out)."""
    R = np.zeros((N, N), np.float32)
    held = {}
    for u in range(N):
        g = u // HALF
        own = np.arange(HALF) + g * HALF
        other = np.arange(HALF) + (1 - g) * HALF
        R[u, own] = 5
        R[u, other] = 1
        miss_own = {int(own[u % HALF]), int(own[(u + 5) % HALF])}
        miss_other = [int(other[u % HALF]), int(other[(u + 3) % HALF])]
        R[u, list(miss_own)] = 0
        R[u, miss_other] = 0
        held[u] = miss_own
    X = sp.csr_matrix(R)
    X.eliminate_zeros()
    return X, held


def block_features(dim: int = 8, seed: int = 0) -> ItemFeatures:
    rng = np.random.default_rng(seed)
    F = rng.normal(0, 0.2, (N, dim)).astype(np.float32)
    F[:HALF, 0] += 2.0
    F[HALF:, 1] += 2.0
    return ItemFeatures().add("text", F)


class RecommenderMixin:
    """Inherit and define ``make(self) -> Recommender``."""

    known_answer = True          # the model must recover the blocks

    def make(self) -> Recommender:  # pragma: no cover - overridden
        raise NotImplementedError

    def fitted(self):
        """The model fitted on the checkerboard (once per test class: tests only read it)."""
        cache = type(self).__dict__.get("_fitted_cache")
        if cache is None:
            X, held = block_ratings()
            m = self.make()
            m.fit(X, block_features() if m.uses_content else None)
            cache = (m, X, held)
            type(self)._fitted_cache = cache
        return cache

    def test_score_shape_and_type(self):
        m, X, _ = self.fitted()
        S = m.score(np.arange(N))
        assert S.shape == (N, N) and S.dtype == np.float32
        assert m.score([0, 1], item_ids=[3, 4, 5]).shape == (2, 3)

    def test_known_answer_top2_is_own_block(self):
        if not self.known_answer:
            pytest.skip("no known answer for this model")
        m, X, held = self.fitted()
        ids, _ = m.recommend(np.arange(N), k=2)
        wrong = [u for u in range(N) if set(ids[u].tolist()) != held[u]]
        assert not wrong, f"readers whose top-2 is not their own block's held-out books: {wrong}"

    def test_fold_in_rows_match_block(self):
        if not self.known_answer:
            pytest.skip("no known answer for this model")
        m, X, held = self.fitted()
        ids, _ = m.recommend(X[[0, 13]], k=2)          # CSR rows: fold-in path
        assert set(ids[0].tolist()) == held[0]
        assert set(ids[1].tolist()) == held[13]

    def test_seen_items_filtered(self):
        m, X, _ = self.fitted()
        ids, _ = m.recommend(np.arange(N), k=4)
        for u in range(N):
            assert not set(ids[u].tolist()) & set(X[u].indices.tolist())
        ids, _ = m.recommend(np.arange(N), k=N, filter_seen=False)
        assert (ids >= 0).sum() > 0

    def test_exclude_and_candidates(self):
        m, X, held = self.fitted()
        ban = sorted(held[0])
        ids, _ = m.recommend([0], k=4, exclude=ban)
        assert not set(ids[0].tolist()) & set(ban)
        cand = [int(i) for i in range(N) if i not in X[0].indices][:3]
        ids, sc = m.recommend([0], k=10, candidates=cand)
        got = [i for i in ids[0].tolist() if i >= 0]
        assert set(got) <= set(cand) and np.all(np.diff(sc[0][: len(got)]) <= 1e-6)

    def test_similar_items_same_block(self):
        if not self.known_answer:
            pytest.skip("no known answer for this model")
        m, _, _ = self.fitted()
        ids, _ = m.similar_items(2, k=3)
        assert 2 not in ids.tolist()
        assert all(i < HALF for i in ids.tolist()), ids

    def test_save_load_round_trip(self, tmp_path):
        m, X, _ = self.fitted()
        m.save(tmp_path / "m")
        m2 = Recommender.load(tmp_path / "m")
        assert type(m2) is type(m) and m2.params() == m.params()
        a, b = m.score(np.arange(N)), m2.score(np.arange(N))
        fin = np.isfinite(a)
        assert np.array_equal(fin, np.isfinite(b))
        np.testing.assert_allclose(a[fin], b[fin], rtol=1e-2, atol=1e-2)
        assert np.array_equal(m.recommend([0, 13], k=2)[0], m2.recommend([0, 13], k=2)[0])
        assert not list(tmp_path.glob("m/*.pkl"))

    def test_unfitted_and_bad_input(self):
        m = self.make()
        with pytest.raises(NotFitted):
            m.score([0])
        m, X, _ = self.fitted()
        with pytest.raises(IndexError):
            m.score([N + 5])
        with pytest.raises(ValueError):
            m.score(sp.csr_matrix((1, N + 1), dtype=np.float32))
