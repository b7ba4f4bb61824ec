"""The two-stage photo index (issue 19): compressed voting shortlist + verification from
memory-mapped descriptors, saved, reloaded and grown without a rebuild."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tiny_features(shared_data):
    """Features of 12 real covers (Google Books thumbnails): covers, ids, points, des, sizes."""
    import csv

    from coverstory.search.local_features import _extract

    rows = list(csv.DictReader(open(shared_data / "covers" / "googlebooks.csv")))
    rows = [r for r in rows if (shared_data / "covers" / r["file"]).exists()][:120:10]
    covers = {i + 1: str(shared_data / "covers" / r["file"]) for i, r in enumerate(rows)}
    ids = sorted(covers)
    pts, des, sizes = _extract([covers[i] for i in ids], 1, lambda m: None)
    return covers, ids, pts, des, sizes


def _photo(path, seed):
    from coverstory.search.image_io import load_photo
    from coverstory.train.phone_photo import phone_photo_with_meta

    return load_photo(phone_photo_with_meta(path, seed, level="mild").image)


def _search(local, covers, bid, seed=3):
    from coverstory.search.photo import PhotoSearch

    ps = PhotoSearch(local, covers, use_embedding=False, use_ocr=False)
    return ps.search(_photo(covers[bid], seed), use_embedding=False, use_ocr=False)


def test_two_stage_finds_the_cover_and_reloads(tiny_features, tmp_path):
    from coverstory.search.two_stage import TwoStageFeatures

    covers, ids, pts, des, sizes = tiny_features
    g = TwoStageFeatures.build(tmp_path / "g", ids, pts, des, sizes, seed=0)
    assert len(g) == len(ids) and g.descriptors == sum(len(d) for d in des)
    mapped = TwoStageFeatures.load(tmp_path / "g", mmap=True)
    assert isinstance(mapped.des, np.memmap) and not isinstance(g.des, np.ndarray)
    # every cover's stored descriptors are its own, in order, read either way
    for r, d in enumerate(des):
        a, c = int(g.start[r]), int(g.counts[r])
        want = d.astype(np.float16).astype(np.float32)
        assert np.array_equal(g.cover_rows(g.des, a, c), want)
        assert np.array_equal(mapped.cover_rows(mapped.des, a, c), want)
        assert np.array_equal(g.cover_rows(g.points, a, c),
                              pts[r].astype(np.float16).astype(np.float32))
        assert g.owner(np.arange(a, a + c)).tolist() == [r] * c
    found = 0
    for bid in ids:
        res = _search(g, covers, bid)
        assert res.hits and res.hits[0].details["inliers"] >= 0
        found += res.hits[0].book_id == bid
    assert found >= len(ids) - 1
    again = TwoStageFeatures.load(tmp_path / "g")
    assert again.ids.tolist() == g.ids.tolist() and again.descriptors == g.descriptors
    assert _search(again, covers, ids[0]).hits[0].book_id == ids[0]
    assert set(g.disk_bytes()) >= {"index.faiss", "covers.npz", "descriptors.f16", "points.f16"}


def test_two_stage_add_without_rebuild(tiny_features, tmp_path):
    from coverstory.search.two_stage import TwoStageFeatures

    covers, ids, pts, des, sizes = tiny_features
    g = TwoStageFeatures.build(tmp_path / "g", ids[:8], pts[:8], des[:8], sizes[:8], seed=0)
    size_before = (tmp_path / "g" / "descriptors.f16").stat().st_size
    g.add(ids[8:], pts[8:], des[8:], sizes[8:])
    assert len(g) == len(ids) and g.descriptors == sum(len(d) for d in des)
    assert (tmp_path / "g" / "descriptors.f16").stat().st_size == 2 * 128 * g.descriptors
    assert (tmp_path / "g" / "descriptors.f16").stat().st_size > size_before
    reloaded = TwoStageFeatures.load(tmp_path / "g")
    for bid in ids[8:]:
        assert _search(reloaded, covers, bid).hits[0].book_id == bid
    with pytest.raises(ValueError):
        g.add(ids[:1], pts[:1], des[:1], sizes[:1])


def test_vote_and_top_are_today_s(tiny_features):
    """The voting function shared by both designs gives CoverFeatures' ranking."""
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.photo import _top

    covers, ids, pts, des, sizes = tiny_features
    local = CoverFeatures.from_features(ids, pts, des, sizes)
    res = _search(local, covers, ids[2])
    assert res.hits[0].book_id == ids[2]
    v = np.asarray([0.5, 2.0, 0.5, 1.0, 0.0], np.float32)
    assert _top(v, 3).tolist() == [1, 3, 0] and _top(v, 10).tolist() == [1, 3, 0, 2, 4]


def test_extract_in_two_processes_is_the_same_as_in_one(tiny_features):
    """Bulk extraction on both cores (a process pool, one OpenCV thread each) gives the
    features of the one-process path, in the same order."""
    from coverstory.search.local_features import _extract

    covers, ids, pts, des, sizes = tiny_features
    p2, d2, s2 = _extract([covers[i] for i in ids], 2, lambda m: None, chunk=5)
    assert [tuple(s) for s in s2] == [tuple(s) for s in sizes]
    assert all(np.array_equal(a, b) for a, b in zip(des, d2))
    assert all(np.array_equal(a, b) for a, b in zip(pts, p2))
