"""Photo search on real covers (a slice of the shared data) and bad inputs end to end."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def real_covers(shared_data):
    """40 real colour covers (Google Books thumbnails): book id -> path."""
    rows = list(csv.DictReader(open(shared_data / "covers" / "googlebooks.csv")))
    rows = [r for r in rows if (shared_data / "covers" / r["file"]).exists()][:200:5]
    return {i + 1: str(shared_data / "covers" / r["file"]) for i, r in enumerate(rows)}


@pytest.fixture(scope="module")
def photo_search(real_covers):
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.photo import PhotoSearch

    gallery = {b: p for b, p in real_covers.items() if b <= 35}       # 36..40 stay out
    return PhotoSearch(CoverFeatures.build(gallery), gallery, use_ocr=False, use_embedding=False)


def _own_descriptors(local, bid):
    """A cover's own descriptors, read back from the exact index."""
    d = np.flatnonzero(local.owner == local.row[bid])
    return np.vstack([local.index.reconstruct(int(i)) for i in d])


def test_cover_features_round_trip_and_update(photo_search, real_covers, tmp_path):
    from coverstory.search.local_features import CoverFeatures

    local = photo_search.local
    assert local.kind == "exact" and len(local) == 35
    back = CoverFeatures.load(local.save(tmp_path / "f.npz"))
    assert back.ids.tolist() == local.ids.tolist() and back.descriptors == local.descriptors
    q = _own_descriptors(local, 4)
    s1, _ = local.match(q)
    s2, m2 = back.match(q)
    np.testing.assert_allclose(s1, s2, rtol=1e-5)
    assert int(local.ids[np.argmax(s2)]) == 4             # a cover's own keypoints find it
    assert set(m2.rows.tolist()) and local.row[4] in set(m2.rows.tolist())
    # in place: book 4 leaves, book 36 arrives; the index is not retrained
    n4 = int(local.counts[local.row[4]])
    back.updated({**{b: real_covers[b] for b in local.ids.tolist() if b != 4}, 36: real_covers[36]})
    assert 4 not in back.row and 36 in back.row and len(back) == 35
    assert back.descriptors == local.descriptors - n4 + int(back.counts[back.row[36]])
    s3, _ = back.match(q)
    assert s3.max() < s2.max()                            # its votes went with it
    s4, _ = back.match(_own_descriptors(back, 36))
    assert int(back.ids[np.argmax(s4)]) == 36


def test_large_catalogs_get_a_trained_inverted_file(monkeypatch):
    from coverstory.search import local_features as lf

    rng = np.random.default_rng(0)
    x = rng.random((3000, 128), dtype=np.float32)
    monkeypatch.setattr(lf, "EXACT_MAX", 1000)
    index = lf.descriptor_index(len(x), x)
    lf._add(index, x.astype(np.float16), 0)
    local = lf.CoverFeatures(index, np.arange(30), np.repeat(np.arange(30), 100),
                             rng.random((3000, 2), dtype=np.float32) * 100,
                             np.full(30, 100.0), np.full((30, 2), 160.0))
    assert local.kind == "ivf-sq8" and index.is_trained and index.nlist >= 256
    votes, _ = local.match(x[700:800])                   # row 7's own descriptors
    assert int(np.argmax(votes)) == 7


def test_phone_photos_of_catalog_covers_are_found(photo_search, real_covers):
    from coverstory.train.phone_photo import phone_photo

    right = 0
    for bid in (2, 9, 17, 23, 31):
        photo = phone_photo(Image.open(real_covers[bid]), seed=bid, level="mild")
        res = photo_search.search(photo, k=5)
        right += res.hits[0].book_id == bid
        assert res.details["timings"]["total_ms"] > 0
    assert right >= 4


def test_unknown_cover_is_not_in_catalog(photo_search, real_covers):
    from coverstory.train.phone_photo import phone_photo

    said_not = 0
    for bid in (36, 37, 38, 39, 40):
        res = photo_search.search(phone_photo(Image.open(real_covers[bid]), seed=bid, level="mild"))
        said_not += not res.in_catalog
        assert res.best is None or res.in_catalog
        assert json.dumps(res.to_dict())              # serialisable for the API
    assert said_not >= 4


@pytest.mark.parametrize("payload,needle", [
    (b"", "empty"),
    (b"GIF89a not really", "not an image"),
])
def test_cli_photo_bad_inputs_exit_cleanly(tmp_path, tiny_search_home, capsys, payload, needle):
    from coverstory.cli import main

    f = tmp_path / "photo.jpg"
    f.write_bytes(payload)
    code = main(["--home", str(tiny_search_home), "--json", "search", "photo", str(f)])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and needle in out["error"]


def test_service_photo_bad_and_odd_inputs(tiny_svc):
    from coverstory.search.errors import BadImage

    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (20, 90, 90)).save(buf, "JPEG")
    data = buf.getvalue()
    with pytest.raises(BadImage, match="truncated"):
        tiny_svc.photo(data[: len(data) // 3])
    with pytest.raises(BadImage):
        tiny_svc.photo(b"")
    rgba = Image.new("RGBA", (200, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    ps = tiny_svc.photo_search
    ps.use_embedding, ps.use_ocr = False, False        # the cheap stages only, here
    res = tiny_svc.photo(out.getvalue(), k=3)          # a blank transparent PNG: an answer
    assert isinstance(res.in_catalog, bool) and len(res.hits) <= 3
    assert not res.in_catalog and res.details["keypoints"] == 0


def test_rectify_finds_a_clean_cover_quad(real_covers):
    import cv2

    from coverstory.search.rectify import _iou, cover_candidates, order_corners

    cover = np.asarray(Image.open(real_covers[3]).convert("RGB").resize((200, 300)))
    photo = np.full((640, 480, 3), 200, np.uint8)
    quad = np.float32([[120, 150], [330, 130], [360, 470], [100, 500]])
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [200, 0], [200, 300], [0, 300]]), quad)
    warped = cv2.warpPerspective(cover, M, (480, 640))
    mask = cv2.warpPerspective(np.full((300, 200), 255, np.uint8), M, (480, 640)) > 0
    photo[mask] = warped[mask]
    cands = cover_candidates(photo)
    assert cands[-1].kind == "center"                      # the fallback is always there
    best = max(_iou(c.quad, order_corners(quad)) for c in cands if c.kind == "quad")
    assert best > 0.9
    flat = next(c for c in cands if c.kind == "quad" and _iou(c.quad, order_corners(quad)) > 0.9)
    assert abs(flat.image.shape[0] / flat.image.shape[1] - 1.5) < 0.25   # upright, cover-shaped


def test_the_photo_embedder_exports_in_a_child_and_its_user_never_loads_torch(tmp_path):
    """A server's first photo (or 'books like X') before the build saved the Lite0 export
    made it in-process and kept libtorch resident; now a child process makes it, once."""
    import os
    import subprocess
    import sys

    code = ("import json, sys\n"
            "from PIL import Image\n"
            "from coverstory.search.embedders import Lite0Embedder\n"
            "emb = Lite0Embedder(sys.argv[1])\n"
            "v = emb([Image.new('RGB', (64, 96), (120, 90, 60))])\n"
            "print(json.dumps({'torch': 'torch' in sys.modules, 'shape': list(v.shape),\n"
            "                  'norm': float((v * v).sum())}))\n")
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, COVERSTORY_THREADS="1"))
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"torch": False, "shape": [1, 1280], "norm": pytest.approx(1.0, abs=1e-4)}
    assert (home / "models" / "photo" / "lite0.onnx").exists()
