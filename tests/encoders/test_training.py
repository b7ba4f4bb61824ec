"""Self-supervised training (InfoNCE) and the benchmark's agreement metric."""

from __future__ import annotations

import numpy as np
import pytest


def test_info_nce_known_answers():
    import torch

    from coverstory.train.ssl import info_nce

    # 4 pairs of identical unit vectors, pairs orthogonal to each other: the positive wins
    z = torch.eye(4).repeat(2, 1)
    low = info_nce(z, 0.1).item()
    assert low < 1e-3
    # all vectors identical: every candidate looks the same -> loss = log(2n - 1)
    same = torch.ones(8, 4) / 2
    assert info_nce(same, 0.1).item() == pytest.approx(np.log(7), rel=1e-5)


def test_eval_split_is_stable():
    from coverstory.train.ssl import is_eval_book

    assert [i for i in range(12) if is_eval_book(i)] == [0, 5, 10]


def test_agreement_metric_known_answers():
    from coverstory.benchmarks.encoders import agreement, chance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 8)) + rng.normal(scale=0.01, size=(5, 8))
    b = rng.normal(size=(1, 8)) + rng.normal(scale=0.01, size=(5, 8))
    vecs = np.vstack([a, b])
    good = [{"x"}] * 5 + [{"y"}] * 5
    bad = [{"x"}, {"y"}] * 5
    assert agreement(vecs, good, k=4) == 1.0
    assert agreement(vecs, bad, k=4) == pytest.approx(0.4)  # 2 of 4 same-cluster are same label
    assert chance(good, seed=0) == pytest.approx(4 / 9, abs=0.03)


@pytest.mark.slow
def test_ssl_training_runs_saves_and_changes_the_encoder(tiny_home):
    from coverstory.encoders.registry import build_encoder, get_encoder, presets
    from coverstory.train.ssl import train_ssl
    from tests.encoders.mixin import tiny_images

    r = train_ssl(tiny_home, "mobilenetv2.random", epochs=1, limit=10, image_size=32,
                  batch_size=2, progress=False)
    # 6 covers, book 5 is in the held-out split: 5 covers, batches of 2 -> 2 steps
    assert r.name.startswith("mobilenetv2.ssl-") and r.epochs_done == 1 and r.steps == 2
    assert all(np.isfinite(r.losses))
    enc = get_encoder(r.name, home=tiny_home)
    assert enc.config["ssl"]["epoch_losses"] == r.losses and enc.config["image_size"] == 32
    base = build_encoder({**presets()["mobilenetv2.random"], "image_size": 32})
    items = tiny_images(2)
    x, y = enc.encode(items), base.encode(items)
    assert x.shape == y.shape and not np.allclose(x / np.abs(x).max(), y / np.abs(y).max())


def test_ssl_name_is_a_hash_of_the_settings():
    from coverstory.train.ssl import SSLConfig

    a = SSLConfig(base="resnet50.random", epochs=2)
    assert a.key() == SSLConfig(base="resnet50.random", epochs=2, max_minutes=5).key()
    assert a.key() != SSLConfig(base="resnet50.random", epochs=3).key()


def test_ssl_schedule_warms_up_then_decays_and_follows_the_time_budget():
    from coverstory.train.ssl import budget_progress, lr_factor

    assert 0 < lr_factor(0.0) < 0.1 and lr_factor(0.05) == pytest.approx(1.0)
    later = [lr_factor(x) for x in np.linspace(0.05, 1.0, 20)]
    assert all(a >= b for a, b in zip(later, later[1:])) and later[-1] == pytest.approx(0.0)
    # by steps, unless the time budget is further along (then the rate anneals in time)
    assert budget_progress(10, 100, elapsed=5.0, budget=None) == pytest.approx(0.1)
    assert budget_progress(10, 100, elapsed=30.0, budget=60.0) == pytest.approx(0.5)
    assert budget_progress(500, 100, elapsed=1.0, budget=60.0) == 1.0


def test_ssl_encode_size_is_part_of_the_name_only_when_given():
    from coverstory.train.ssl import SSLConfig

    a = SSLConfig(base="efficientnet-lite0.imagenet", image_size=128)
    assert a.key() == SSLConfig(base="efficientnet-lite0.imagenet", image_size=128,
                                encode_size=None).key()
    assert a.key() != SSLConfig(base="efficientnet-lite0.imagenet", image_size=128,
                                encode_size=224).key()
