"""Cover attention from the text side (strategy ``textgate``): v' = v + q ⊙ v."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def _spec(maps=False, **opts):
    from coverstory.fusion.base import FusionSpec

    cover = (8, 3, 3) if maps else (8,)
    return FusionSpec({"title": (6,), "cover": cover}, n_classes=3, out_dim=5,
                      modality={"title": "text", "cover": "image"}, options=opts)


def test_gates_are_residual_reweighting_from_text():
    from coverstory.fusion.strategies.textgate import TextGatedCover

    torch.manual_seed(0)
    m = TextGatedCover(_spec()).eval()
    with torch.no_grad():
        m.gate["cover"].weight.normal_()
    t, v = torch.randn(4, 6), torch.randn(4, 8)
    q = m.gates({"title": t, "cover": v})["cover"]
    assert q.shape == (4, 8) and (q >= 0).all() and (q <= 1).all()
    # q depends on the text, never on the cover
    q2 = m.gates({"title": t, "cover": torch.randn(4, 8)})["cover"]
    assert torch.allclose(q, q2)
    assert not torch.allclose(q, m.gates({"title": torch.randn(4, 6), "cover": v})["cover"])
    out = m({"title": t, "cover": v})
    assert out.vector.shape == (4, 5) and out.logits is None
    # forward uses exactly v + q*v: zeroing the gate weights (q constant) changes the output
    with torch.no_grad():
        m.gate["cover"].weight.zero_()
    assert not torch.allclose(out.vector, m({"title": t, "cover": v}).vector)


def test_spatial_variant_attends_over_positions():
    from coverstory.fusion.strategies.textgate import TextGatedCover

    torch.manual_seed(0)
    m = TextGatedCover(_spec(maps=True, spatial=True)).eval()
    feats = {"title": torch.randn(2, 6), "cover": torch.randn(2, 8, 3, 3)}
    a = m.spatial_attention(feats)["cover"]
    assert a.shape == (2, 3, 3)
    torch.testing.assert_close(a.sum(dim=(1, 2)), torch.ones(2))
    assert m(feats).vector.shape == (2, 5)


def test_needs_both_modalities():
    from coverstory.fusion.base import FusionSpec
    from coverstory.fusion.strategies.textgate import TextGatedCover

    with pytest.raises(ValueError, match="text and an image"):
        TextGatedCover(FusionSpec({"title": (4,)}, 2, modality={"title": "text"}))


def test_learns_the_synthetic_task_through_the_trainer():
    """Neither modality alone can pass ~50% on the synthetic set; textgate must."""
    from coverstory.fusion.base import FusionSpec
    from coverstory.train.trainer import FeatureSet, TrainConfig, predict, train

    fs = FeatureSet.synthetic(n=600, n_classes=4, seed=1)
    tr, va = fs.subset(np.arange(450)), fs.subset(np.arange(450, 600))
    spec = FusionSpec(tr.shapes(), 4, modality={"title": "text", "cover": "image"})
    res = train(spec, TrainConfig("textgate", epochs=15, batch_size=64, lr=3e-3,
                                  progress=False, out_dim=32), tr, va)
    acc = (predict(res.model, va)["logits"].argmax(1) == va.y).mean()
    assert acc > 0.8
