"""coverstory.fusion.ensemble: the validation-weighted ensemble and its non-network members
(tiny self-made data)."""

from __future__ import annotations

import numpy as np


def _two_halves(n=400, c=4, seed=0):
    """Member a knows the class pair (y // 2), member b which of the pair (y % 2): together
    they are right, alone about half the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    a = rng.normal(scale=0.1, size=(n, c))
    b = rng.normal(scale=0.1, size=(n, c))
    for k in range(c):
        a[:, k] += 2.0 * (k // 2 == y // 2)
        b[:, k] += 2.0 * (k % 2 == y % 2)
    noise = rng.normal(size=(n, c))
    return y, {"a": a, "b": b, "noise": noise}


def test_log_softmax_rows_are_log_probabilities():
    from coverstory.fusion.ensemble import log_softmax

    z = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    p = np.exp(log_softmax(z))
    assert np.allclose(p.sum(1), 1)
    assert p[1, 0] > 0.999


def test_weights_combine_complementary_members_and_drop_noise():
    from coverstory.fusion.ensemble import cross_fit_top1, fit_weights

    y, m = _two_halves()
    ens, acc = fit_weights(m, y)
    alone = max(float((v.argmax(1) == y).mean()) for v in m.values())
    assert acc > 0.95 > alone + 0.3
    assert ens.weights["a"] > 0 and ens.weights["b"] > 0
    assert ens.weights["noise"] < ens.weights["a"]
    assert np.array_equal(ens.scores(m).argmax(1) == y, (ens.scores(m).argmax(1) == y))
    cf = cross_fit_top1(m, y)
    assert 0.9 < cf <= 1.0


def test_at_least_keeps_a_member():
    from coverstory.fusion.ensemble import fit_weights

    y, m = _two_halves()
    ens, _ = fit_weights(m, y, at_least={"noise": 0.25})
    assert ens.weights["noise"] >= 0.25


def test_fit_reads_only_the_rows_given():
    """Weights fitted on rows idx do not change when the other rows' labels change."""
    from coverstory.fusion.ensemble import fit_weights

    y, m = _two_halves()
    idx = np.arange(200)
    y2 = y.copy()
    y2[200:] = np.random.default_rng(1).permutation(y2[200:])
    assert fit_weights(m, y, idx)[0].weights == fit_weights(m, y2, idx)[0].weights


def test_author_counts_leave_out_the_books_own_work():
    from coverstory.fusion.ensemble import author_counts, author_log_ratio

    authors = [["Ann Lee"], ["ann lee"], ["Ann Lee", "Bo Ray"], ["Bo Ray"], ["Cy Dee"], []]
    groups = ["w1", "w1", "w2", "w3", "w4", "w5"]
    y = np.array([0, 0, 1, 2, 1, 0])
    train = np.array([0, 1, 2, 4])                 # books 3 and 5 are not training books
    c = author_counts(authors, groups, y, train, 3)
    assert c[0].tolist() == [0, 1, 0]             # book 1 is the same work: left out
    assert c[2].tolist() == [2, 0, 0]             # Ann Lee's w1 (Bo Ray's book 3 untrained)
    assert c[3].tolist() == [0, 1, 0]             # a new book of Bo Ray: his w2
    assert c[4].tolist() == [0, 0, 0] and c[5].tolist() == [0, 0, 0]
    r = author_log_ratio(c, np.array([2, 2, 0]))
    assert np.allclose(r[4], 0) and np.isfinite(r).all()
    assert r[0].argmax() == 1 and r[3].argmax() == 1


def test_tfidf_logreg_fits_on_training_texts_only():
    from coverstory.fusion.ensemble import tfidf_logreg

    words = ["dragon sword", "cookery recipes", "python code"]
    texts = [f"{words[i % 3]} volume {i}" for i in range(60)]
    y = np.array([i % 3 for i in range(60)])
    train = np.arange(45)
    out = tfidf_logreg(texts, y, train, 4, c=10.0)
    assert out.shape == (60, 4)
    assert (out[45:].argmax(1) == y[45:]).mean() == 1.0
    assert (out[:, 3] <= -29).all()               # a class without training books
    y2 = y.copy()
    y2[45:] = 0                                   # test labels never reach the fit
    assert np.allclose(out, tfidf_logreg(texts, y2, train, 4, c=10.0))
