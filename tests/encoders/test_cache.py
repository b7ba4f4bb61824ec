"""The feature cache: incremental updates keyed by content hash, atomic files, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import assert_same


@pytest.fixture(scope="module")
def small_encoder():
    from coverstory.encoders.registry import build_encoder, presets

    return build_encoder({**presets()["mobilenetv2.random"], "image_size": 32})


FEATURE = "cover/mobilenetv2.random"


def _update(home, enc, **kw):
    from coverstory.encoders.cache import update_features

    return update_features(home, FEATURE, encoder=enc, progress=False, **kw)


def test_not_built_names_the_command(tmp_path):
    from coverstory.encoders.cache import load_features

    with pytest.raises(FileNotFoundError, match="coverstory .*build features --encoder"):
        load_features(tmp_path, "cover/efficientnet-lite0.imagenet")


def test_bad_feature_name():
    from coverstory.encoders.cache import feature_path

    with pytest.raises(ValueError, match="<input>/<encoder>"):
        feature_path("/tmp", "efficientnet-lite0.imagenet")


def test_build_then_reuse_then_update(tiny_home, small_encoder, tmp_path):
    from coverstory.catalog import Catalog
    from coverstory.catalog.store import sha256_file
    from coverstory.encoders.cache import feature_path, load_features, stored_hashes
    from tests.conftest import draw_cover

    r1 = _update(tiny_home, small_encoder)
    assert (r1["computed"], r1["reused"], r1["rows"]) == (6, 0, 6)
    ids, vecs = load_features(tiny_home, FEATURE)
    assert ids.dtype == np.int64 and vecs.dtype == np.float32
    assert vecs.shape == (6, small_encoder.dim) and list(ids) == sorted(ids)
    cat = Catalog.open(tiny_home)
    books = {b.id: b for b in cat.books()}
    # rows are the encoder's output for each book's cover
    assert_same(vecs[:1], small_encoder.encode([books[int(ids[0])].cover_path]))
    assert stored_hashes(tiny_home, FEATURE)[int(ids[0])] == books[int(ids[0])].cover_sha256

    r2 = _update(tiny_home, small_encoder)
    assert r2["computed"] == 0 and r2["reused"] == 6

    # one cover changes, one book loses its cover: exactly those rows change
    new = draw_cover(tmp_path / "new.jpg", "Another Title", "Someone", (250, 250, 0))
    changed, dropped = int(ids[1]), int(ids[2])
    with cat.transaction() as conn:
        conn.execute("UPDATE books SET cover_path=?, cover_sha256=? WHERE id=?",
                     (str(new), sha256_file(new), changed))
        conn.execute("UPDATE books SET cover_path=NULL, cover_sha256=NULL WHERE id=?", (dropped,))
    cat.close()
    r3 = _update(tiny_home, small_encoder)
    assert (r3["computed"], r3["reused"], r3["removed"], r3["rows"]) == (1, 4, 1, 5)
    ids3, vecs3 = load_features(tiny_home, FEATURE)
    assert dropped not in ids3
    row = list(ids3).index(changed)
    assert_same(vecs3[row:row + 1], small_encoder.encode([str(new)]))
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    assert np.abs(unit(vecs3[row]) - unit(vecs[1])).max() > 1e-3
    leftovers = [p.name for p in feature_path(tiny_home, FEATURE).parent.iterdir()
                 if p.name.endswith(".tmp")]
    assert leftovers == []


def test_unreadable_cover_is_recorded_and_skipped(tiny_home, small_encoder):
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    bad = cat.books()[0]
    with open(bad.cover_path, "wb") as f:
        f.write(b"not a jpeg")
    cat.close()
    r1 = _update(tiny_home, small_encoder)
    assert (r1["computed"], r1["failed"], r1["rows"]) == (5, 1, 5)
    r2 = _update(tiny_home, small_encoder)
    assert (r2["computed"], r2["failed"]) == (0, 1)


def test_limit_keeps_rows_outside_the_slice(tiny_home, small_encoder):
    from coverstory.encoders.cache import load_features

    _update(tiny_home, small_encoder)
    r = _update(tiny_home, small_encoder, limit=2, force=True)
    assert r["computed"] == 2 and r["rows"] == 6
    assert len(load_features(tiny_home, FEATURE)[0]) == 6


@pytest.mark.slow
def test_build_features_command_defaults(tiny_home):
    """The CLI default set (Lite0 covers, MiniLM text + title), then a no-op re-run."""
    from coverstory.cli import main
    from coverstory.encoders.cache import load_features

    assert main(["--home", str(tiny_home), "build", "features"]) == 0
    for feat, dim in [("cover/efficientnet-lite0.imagenet", 1280),
                      ("text/minilm-l6.pretrained", 384), ("title/minilm-l6.pretrained", 384)]:
        ids, vecs = load_features(tiny_home, feat)
        assert vecs.shape == (6, dim)
    import time

    t = time.time()
    assert main(["--home", str(tiny_home), "build", "features"]) == 0
    assert time.time() - t < 5


def test_another_encoder_identity_rebuilds_every_row(tiny_home, small_encoder):
    """Vectors of two encoders under one name are never mixed: a new identity (e.g. an int8
    runtime) re-encodes every row, a limited run included; the same identity reuses them."""
    from coverstory.encoders.cache import load_features, stored_identity
    from coverstory.encoders.registry import build_encoder

    r1 = _update(tiny_home, small_encoder)
    assert r1["identity"] == "mobilenetv2.random" and r1["replaced"] is None
    assert stored_identity(tiny_home, FEATURE) == "mobilenetv2.random"

    class Quantised(type(small_encoder)):
        @classmethod
        def identity_of(cls, config):
            return config["name"] + "[int8]"

    other = Quantised(small_encoder.config)
    r2 = _update(tiny_home, other, limit=2)
    assert r2["replaced"] == "mobilenetv2.random"
    assert (r2["computed"], r2["rows"]) == (2, 2)          # rows outside the slice dropped
    assert stored_identity(tiny_home, FEATURE) == "mobilenetv2.random[int8]"
    r3 = _update(tiny_home, other)
    assert (r3["computed"], r3["reused"], r3["rows"]) == (4, 2, 6)
    r4 = _update(tiny_home, build_encoder(small_encoder.config))
    assert r4["replaced"] == "mobilenetv2.random[int8]" and r4["computed"] == 6
    assert len(load_features(tiny_home, FEATURE)[0]) == 6


def test_files_without_identity_count_as_the_name(tiny_home, small_encoder):
    """Caches written before identities were recorded are reused by the plain encoder."""
    import json

    from safetensors.numpy import save_file

    from coverstory.encoders.cache import _read, feature_path

    _update(tiny_home, small_encoder)
    path = feature_path(tiny_home, FEATURE)
    ids, vecs, meta = _read(path)
    save_file({"ids": ids, "vectors": vecs}, str(path),
              metadata={k: v for k, v in meta.items() if k != "identity"})
    assert json.loads(_read(path)[2]["hashes"])
    r = _update(tiny_home, small_encoder)
    assert r["computed"] == 0 and r["reused"] == 6
