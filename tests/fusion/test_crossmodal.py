"""Cross-modal matching: lexical OCR scores, CSLS, weight tuning, the pair model with cover
attention (known answers and small synthetic problems)."""

from __future__ import annotations

import numpy as np
import pytest


def test_char_tfidf_prefers_the_misread_title_over_other_titles():
    from coverstory.fusion.crossmodal_text import char_matrix, fit_char_tfidf

    titles = ["The Hobbit by J.R.R. Tolkien", "Dune by Frank Herbert",
              "Emma by Jane Austen", "The Shining by Stephen King"]
    vec = fit_char_tfidf(titles * 2)
    ocr = ["THE H0BBIT TOLKlEN", "FRANK HERBERT DUNE", "", "STEPHEN KING THE SHlNING"]
    m = char_matrix(vec, ocr, titles)
    assert m.shape == (4, 4)
    assert m[0].argmax() == 0 and m[1].argmax() == 1 and m[3].argmax() == 3
    assert (m[2] == 0).all()                      # no OCR text, no score


def test_partial_ratio_finds_the_main_title_inside_a_wordy_cover():
    from coverstory.fusion.crossmodal_text import partial_matrix

    m = partial_matrix(["a novel THE SHINING stephen king bestseller", "dune"],
                       ["The Shining (Collector's edition)", "Dune: Deluxe"])
    assert m[0, 0] == pytest.approx(1.0) and m[1, 1] == pytest.approx(1.0)
    assert m[0, 1] < 1.0


def test_csls_by_hand():
    from coverstory.fusion.crossmodal_text import csls

    s = np.array([[0.9, 0.8, 0.8], [0.1, 0.7, 0.1], [0.1, 0.1, 0.6]])
    out = csls(s, k=2)
    # r_row = [0.85, 0.4, 0.35], r_col = [0.5, 0.75, 0.7]
    assert out[1, 1] == pytest.approx(2 * 0.7 - 0.4 - 0.75)
    assert out[0, 2] == pytest.approx(2 * 0.8 - 0.85 - 0.7)
    assert out.argmax(0).tolist() == [0, 1, 2]


def test_tune_weights_drops_a_noise_matrix():
    from coverstory.eval.retrieval import mean_recall
    from coverstory.fusion.crossmodal_text import tune_weights

    rng = np.random.default_rng(0)
    n = 60
    good = np.eye(n) * 3 + rng.normal(size=(n, n))
    noise = rng.normal(size=(n, n)) * 5
    w, v = tune_weights({"good": good, "noise": noise}, mean_recall)
    assert w["noise"] == 0.0 and w["good"] > 0
    assert v == pytest.approx(mean_recall(good))


def _pairs(n, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 12))
    img = np.tanh(z @ rng.normal(size=(12, 48))) + 0.3 * rng.normal(size=(n, 48))
    txt = z @ rng.normal(size=(12, 24)) + 0.3 * rng.normal(size=(n, 24))
    return img.astype(np.float32), txt.astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("overrides", [{}, {"gate": True},
                                       {"gate": True, "ce_weight": 0.3, "genre_batches": True}])
def test_pair_model_learns_a_shared_space(overrides):
    from coverstory.eval.retrieval import mean_recall
    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs

    img, txt, y = _pairs(700)
    cfg = PairConfig(dim=16, hidden=32, batch=100, epochs=6, patience=6, **overrides)
    model, hist = train_pairs(img[:500], txt[:500], y[:500], img[500:], txt[500:], cfg)
    s = model.score(img[500:], txt[500:])
    assert s.shape == (200, 200)
    assert mean_recall(s) > 40                     # chance is ~3.3
    assert max(h["val_mR"] for h in hist) == pytest.approx(mean_recall(s), abs=1e-6)


def test_gated_scores_equal_the_attended_cover_computed_pair_by_pair():
    import torch

    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs

    img, txt, y = _pairs(300, seed=1)
    cfg = PairConfig(dim=8, hidden=16, batch=100, epochs=2, gate=True)
    model, _ = train_pairs(img[:200], txt[:200], y[:200], img[200:], txt[200:], cfg)
    s = model.score(img[200:210], txt[200:205])
    net = model.net
    q = model.gates(txt[200:205])
    with torch.no_grad():
        v = torch.as_tensor((img[200:210] - model.mu) / model.sd)
        u = net.text(torch.as_tensor(txt[200:205]))
        for i in range(10):
            for j in range(5):
                vv = v[i:i + 1] + torch.as_tensor(q[j:j + 1]) * v[i:i + 1]   # v + q ⊙ v
                z = net.imlp(v[i:i + 1]) + net.lin(vv)
                assert float(z @ u[j]) == pytest.approx(float(s[i, j]), abs=1e-4)
    assert q.shape == (5, 48) and ((q >= 0) & (q <= 1)).all()


def test_plain_model_has_no_gates():
    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs

    img, txt, y = _pairs(200)
    model, _ = train_pairs(img[:150], txt[:150], None, img[150:], txt[150:],
                           PairConfig(dim=8, hidden=16, batch=50, epochs=1))
    with pytest.raises(ValueError):
        model.gates(txt[:2])
    with pytest.raises(ValueError):
        train_pairs(img, txt, None, img, txt, PairConfig(ce_weight=0.3))


def test_a_fixed_gate_replaces_every_texts_gates():
    import numpy as np

    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs

    img, txt, y = _pairs(300, seed=2)
    model, _ = train_pairs(img[:200], txt[:200], y[:200], img[200:], txt[200:],
                           PairConfig(dim=8, hidden=16, batch=100, epochs=2, gate=True))
    q = model.gates(txt[200:220])
    same = model.score(img[200:230], txt[200:220], fixed_gate=q[3])
    # every text scored as if its gates were text 3's: text 3's own column is unchanged
    assert np.allclose(model.score(img[200:230], txt[203:204])[:, 0], same[:, 3], atol=1e-5)
    assert not np.allclose(model.score(img[200:230], txt[200:220]), same, atol=1e-6)
