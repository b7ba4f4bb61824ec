"""Ranking metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.eval.ranking import (coverage_at_k, evaluate, hit_rate_at_k, ndcg_at_k,
                                     novelty_at_k, recall_at_k, rmse)

TOP = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 2, 3]])
TRUTH = [np.array([2, 9]), np.array([5]), np.array([], dtype=int)]   # reader 3: skipped


def test_recall():
    # reader 1: 1 of 2 relevant in top-2 -> 0.5; reader 2: 1 of 1 -> 1.0
    assert recall_at_k(TOP, TRUTH, 2) == pytest.approx(0.75)
    assert recall_at_k(TOP, TRUTH, 1) == pytest.approx(0.5)      # 0 and 1


def test_ndcg():
    # reader 1: DCG = 1/log2(3) = 0.63093; IDCG(2 relevant) = 1 + 0.63093 -> 0.38685
    # reader 2: hit at rank 1 -> 1.0
    assert ndcg_at_k(TOP, TRUTH, 2) == pytest.approx((0.386853 + 1.0) / 2, abs=1e-5)
    # at K=4 the ideal is still min(K, |truth|) = 2 items
    assert ndcg_at_k(TOP, TRUTH, 4) == pytest.approx((0.386853 + 1.0) / 2, abs=1e-5)


def test_hit_rate_coverage_novelty():
    assert hit_rate_at_k(TOP, TRUTH, 1) == pytest.approx(0.5)
    assert hit_rate_at_k(TOP, TRUTH, 2) == pytest.approx(1.0)
    # recommended at K=2 across readers: {1, 2, 5, 6, 0} of 10 items
    assert coverage_at_k(TOP, 10, 2) == pytest.approx(0.5)
    counts = np.zeros(10)
    counts[[0, 1, 2, 5, 6]] = [8, 4, 2, 1, 0]     # 8 readers in training
    # -log2(p): item1 1, item2 2, item5 3, item6 (floored to 1 reader) 3, item0 0, item1 1
    assert novelty_at_k(TOP, counts, 8, 2) == pytest.approx((1 + 2 + 3 + 3 + 0 + 1) / 6)


def test_padding_and_evaluate():
    top = np.array([[3, -1, -1]])
    assert recall_at_k(top, [np.array([3])], 3) == 1.0
    assert coverage_at_k(top, 4, 3) == 0.25
    out = evaluate(TOP, TRUTH, ks=(1, 2), n_items=10, item_users=np.ones(10), n_users=4)
    assert out["users"] == 2 and out["recall@2"] == pytest.approx(0.75)
    assert set(out) >= {"recall@1", "ndcg@2", "hr@1", "coverage@2", "novelty@2"}


def test_rmse():
    assert rmse([3, 4], [4, 4]) == pytest.approx(np.sqrt(0.5))
