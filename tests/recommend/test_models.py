"""Every recommender through the shared mixin, plus model-specific known answers."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.als import ALS, BPR
from coverstory.recommend.content import ContentKNN
from coverstory.recommend.ease import EASE
from coverstory.recommend.hybrid import Hybrid
from coverstory.recommend.knn import ImplicitItemKNN, ItemKNN, UserKNN
from coverstory.recommend.popularity import Popularity
from coverstory.recommend.rating_model import RatingModel
from coverstory.recommend.svd import BiasedMF, PureSVD

from .mixin import HALF, N, RecommenderMixin, block_features, block_ratings


class TestPopularity(RecommenderMixin):
    known_answer = False

    def make(self):
        return Popularity()

    def test_most_liked_first(self):
        X = sp.csr_matrix(np.array([[5, 0, 4, 0], [4, 5, 0, 0], [5, 1, 5, 0]], np.float32))
        ids, _ = Popularity().fit(X).recommend(sp.csr_matrix((1, 4), dtype=np.float32), k=3)
        assert ids[0].tolist() == [0, 2, 1]   # 3 positives, 2, 1 (the 1-star is not a positive)


class TestItemKNN(RecommenderMixin):
    def make(self):
        return ItemKNN(k=10)

    def test_hand_worked_scores(self):
        # items 0 and 1 co-liked by both readers: cos = 1; item 2 liked by reader 1 only
        X = sp.csr_matrix(np.array([[5, 5, 0], [5, 5, 5]], np.float32))
        m = ItemKNN(k=5).fit(X)
        S = m.score(sp.csr_matrix(np.array([[5, 0, 0]], np.float32)))
        np.testing.assert_allclose(S[0], [0, 1.0, 1 / np.sqrt(2)], atol=1e-5)


class TestItemKNNBM25(RecommenderMixin):
    def make(self):
        return ImplicitItemKNN("bm25", k=10)


class TestItemKNNTFIDF(RecommenderMixin):
    def make(self):
        return ImplicitItemKNN("tfidf", k=10)


class TestUserKNN(RecommenderMixin):
    def make(self):
        return UserKNN(k=5)


class TestEASE(RecommenderMixin):
    def make(self):
        return EASE(l2=1.0)

    def test_closed_form(self):
        X, _ = block_ratings()
        m = EASE(l2=3.0).fit(X)
        Xb = (X.toarray() >= 4).astype(np.float64)
        P = np.linalg.inv(Xb.T @ Xb + 3.0 * np.eye(N))
        B = np.eye(N) - P / np.diag(P)
        np.testing.assert_allclose(m.score(np.arange(N)), Xb @ B, atol=1e-3)

    def test_float32_solve_agrees_with_float64_below_the_saved_float16(self):
        """The solve runs in float32 (less CPU on a 10k-book catalog); B stays within the
        rounding of the float16 it is saved as."""
        import scipy.sparse as sp

        rng = np.random.default_rng(0)
        X = sp.csr_matrix(rng.integers(1, 6, (300, 120)) * (rng.random((300, 120)) < 0.2),
                          dtype=np.float32)
        m = EASE(l2=10.0, threshold=None).fit(X)
        Xd = X.toarray().astype(np.float64)
        P = np.linalg.inv(Xd.T @ Xd + 10.0 * np.eye(120))
        B = P / (-np.diag(P))
        np.fill_diagonal(B, 0.0)
        assert m.B_.dtype == np.float32
        f16 = np.abs(B - B.astype(np.float16)).max()
        assert np.abs(m.B_ - B).max() <= 2 * f16 + 1e-6


class TestPureSVD(RecommenderMixin):
    def make(self):
        return PureSVD(factors=4)


class TestBiasedMF(RecommenderMixin):
    def make(self):
        return BiasedMF(factors=4, l2=1.0, iterations=10)

    def test_predicts_ratings(self):
        X, _ = block_ratings()
        m = BiasedMF(factors=4, l2=0.5, iterations=15).fit(X)
        S = m.score(np.arange(N))
        own = S[:HALF, :HALF].mean()
        other = S[:HALF, HALF:].mean()
        assert own > 4.0 and other < 2.0


class TestALS(RecommenderMixin):
    def make(self):
        return ALS(factors=2, iterations=15, l2=1.0)


class TestBPR(RecommenderMixin):
    def make(self):
        return BPR(factors=8, iterations=300, learning_rate=0.05)


class TestContentMean(RecommenderMixin):
    def make(self):
        return ContentKNN(mode="mean")


class TestContentKNN(RecommenderMixin):
    def make(self):
        return ContentKNN(mode="knn", m=6)

    def test_scores_unrated_books(self):
        X, held = block_ratings()
        X = X.tolil()
        X[:, 3] = 0                   # book 3 (block A) has no ratings at all
        X = sp.csr_matrix(X)
        X.eliminate_zeros()
        m = ContentKNN(m=6).fit(X, block_features())
        assert m.can_score()[3]
        S = m.score([0])[0]
        assert S[3] > S[HALF:].max()


class TestRatingModel(RecommenderMixin):
    def make(self):
        return RatingModel(factors=4, hidden=16, epochs=60, lr=1e-2, batch_size=256)


class TestHybrid(RecommenderMixin):
    def make(self):
        return Hybrid(factors=4, l2=1.0, content_m=6)

    def test_cold_book_and_explanations(self):
        X, _ = block_ratings()
        X = X.tolil()
        X[:, 3] = 0
        X = sp.csr_matrix(X)
        X.eliminate_zeros()
        m = Hybrid(factors=4, l2=1.0, content_m=6).fit(X, block_features())
        assert m.can_score()[3] and not m.warm_[3]
        S = m.score([1])[0]
        assert S[3] > np.max(S[HALF:])                 # a cold A book beats every B book
        ex = m.explain([1], [3])
        assert ex[0]["cold_item"] and ex[0]["driver"] in ("collaborative", "content")
        assert ex[0]["because_of"] in X[1].indices

    def test_new_reader_gets_popularity_then_personal(self):
        X, _ = block_ratings()
        m = Hybrid(factors=4, l2=1.0, content_m=6).fit(X, block_features())
        empty = sp.csr_matrix((1, N), dtype=np.float32)
        assert m.explain(empty, [0])[0]["driver"] == "popularity"
        one = sp.csr_matrix(([5.0], ([0], [HALF + 2])), shape=(1, N), dtype=np.float32)
        ids, _ = m.recommend(one, k=3)
        assert all(i >= HALF for i in ids[0])          # one B like -> B books


def test_threshold_none_keeps_values():
    X = sp.csr_matrix(np.array([[5, 2]], np.float32))
    assert EASE(threshold=None).transform(X).toarray().tolist() == [[5, 2]]
    assert EASE().transform(X).toarray().tolist() == [[1, 0]]
