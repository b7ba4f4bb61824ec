"""Classification and retrieval metrics against values worked by hand."""

import numpy as np
import pytest

from coverstory.eval.classification import macro_f1, per_class, report, top1_any, top_k
from coverstory.eval.retrieval import cross_modal, ranks


def test_per_class_by_hand():
    # truth 0 0 0 1 1 2 ; pred 0 0 1 1 2 2
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, 2])
    pc = per_class(y, p, 3)
    # class 0: TP 2, FN 1, FP 0, TN 3 ; class 1: TP 1, FN 1, FP 1, TN 3 ;
    # class 2: TP 1, FN 0, FP 1, TN 4
    assert pc["tp"].tolist() == [2, 1, 1] and pc["fn"].tolist() == [1, 1, 0]
    assert pc["fp"].tolist() == [0, 1, 1] and pc["tn"].tolist() == [3, 3, 4]
    np.testing.assert_allclose(pc["sensitivity"], [2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(pc["specificity"], [1, 3 / 4, 4 / 5])
    np.testing.assert_allclose(pc["ppv"], [1, 1 / 2, 1 / 2])
    np.testing.assert_allclose(pc["iou"], [2 / 3, 1 / 3, 1 / 2])
    np.testing.assert_allclose(pc["dice"], [4 / 5, 1 / 2, 2 / 3])
    assert macro_f1(y, p, 3) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_topk_and_any():
    s = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    y = np.array([2, 0, 1])
    assert top_k(s, y, 1) == pytest.approx(1 / 3)
    assert top_k(s, y, 2) == pytest.approx(1.0)
    assert top1_any(s, [{2, 1}, {0}, {1}]) == pytest.approx(2 / 3)
    r = report(s, y, ["a", "b", "c"], [{2, 1}, {0}, {1}])
    assert r["top1"] == pytest.approx(1 / 3) and r["top1_any"] == pytest.approx(2 / 3)
    assert len(r["per_class"]) == 3 and r["per_class"][0]["sensitivity"] == 1.0


def test_zero_denominators_are_zero_not_nan():
    pc = per_class(np.array([0, 0]), np.array([0, 0]), 2)
    assert pc["sensitivity"][1] == 0 and pc["ppv"][1] == 0 and not np.isnan(pc["iou"]).any()


def test_recall_by_hand():
    # cover i vs text j; partners on the diagonal
    sim = np.array([[0.9, 0.1, 0.0],     # cover 0: text 0 first   -> rank 0
                    [0.8, 0.5, 0.6],     # cover 1: text 1 third   -> rank 2
                    [0.0, 0.7, 0.7]])    # cover 2: tie with text 1 -> counted rank 1
    assert ranks(sim).tolist() == [0, 2, 1]
    # text -> cover (columns): text 0: cover 0 first; text 1: cover 2 (0.7) > cover 1 (0.5)
    # -> rank 1; text 2: cover 2 (0.7) > cover 1 (0.6) -> rank 0
    assert ranks(sim.T).tolist() == [0, 1, 0]
    r = cross_modal(sim, ks=(1, 2))
    assert r["i2t"] == {"R@1": pytest.approx(100 / 3), "R@2": pytest.approx(200 / 3)}
    assert r["t2i"] == {"R@1": pytest.approx(200 / 3), "R@2": pytest.approx(100.0)}
    assert r["mR"] == pytest.approx((100 / 3 + 200 / 3 + 200 / 3 + 100) / 4)


def test_retrieval_needs_square():
    with pytest.raises(ValueError, match="square"):
        cross_modal(np.zeros((2, 3)))
