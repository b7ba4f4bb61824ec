"""A tiny end-to-end training run on synthetic data (seconds), checkpoints round-trip."""

import numpy as np
import pytest

from coverstory.fusion.base import FusionSpec
from coverstory.train.trainer import (FeatureSet, TrainConfig, load_checkpoint, predict,
                                      save_checkpoint, train)


def _run(strategy, fs_train, fs_val, **kw):
    spec = FusionSpec(fs_train.shapes(), 4, modality={"title": "text"},
                      options=kw.pop("options", {}))
    cfg = TrainConfig(strategy, epochs=kw.pop("epochs", 12), batch_size=64, out_dim=32,
                      progress=False, patience=20, threads=1, **kw)
    return spec, train(spec, cfg, fs_train, fs_val)


@pytest.mark.parametrize("strategy", ["early", "cbam"])
def test_fusion_beats_each_single_modality_on_synthetic(strategy):
    fs = FeatureSet.synthetic(n=400, n_classes=4, seed=0)
    tr, va = fs.subset(np.arange(300)), fs.subset(np.arange(300, 400))
    _, fused = _run(strategy, tr, va)
    # text alone knows only the class pair (50%), the image alone only the parity (50%)
    _, text = _run("single", tr, va, options={"group": "title"})
    assert text.best_val_top1 < 0.7
    assert fused.best_val_top1 > 0.9, fused.history[-1]
    assert fused.history[-1]["train_loss"] < fused.history[0]["train_loss"]


def test_checkpoint_round_trip(tmp_path):
    fs = FeatureSet.synthetic(n=300, n_classes=4, seed=1, maps=True)
    tr, va = fs.subset(np.arange(200)), fs.subset(np.arange(200, 300))
    spec, res = _run("cbam", tr, va, epochs=3, beta=0.3)
    assert len(res.history) == 3 and {"train_triplet", "val_top1"} <= set(res.history[0])
    save_checkpoint(res, spec, tmp_path / "ck")
    model, cfg = load_checkpoint(tmp_path / "ck")
    assert cfg["strategy"] == "cbam" and cfg["train"]["beta"] == 0.3
    a, b = predict(res.model, va), predict(model, va)
    np.testing.assert_allclose(a["logits"], b["logits"], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(b["vectors"], axis=1), 1, atol=1e-5)


def test_missing_checkpoint_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="coverstory build fusion"):
        load_checkpoint(tmp_path / "none")


def test_seeded_training_is_repeatable():
    fs = FeatureSet.synthetic(n=200, n_classes=4, seed=2)
    tr, va = fs.subset(np.arange(150)), fs.subset(np.arange(150, 200))
    _, r1 = _run("transformer", tr, va, epochs=2)
    _, r2 = _run("transformer", tr, va, epochs=2)
    assert r1.history[-1]["train_loss"] == pytest.approx(r2.history[-1]["train_loss"], rel=1e-6)
