"""Distractor covers (issue 19): deterministic, recomposed, never one cover's near-duplicate."""

import numpy as np
import pytest
from PIL import Image

from coverstory.search.distractors import (
    DISTRACTOR_ID_BASE,
    MAX_CROP,
    distractor_cover,
    distractor_id,
    write_distractors,
)


def _sources(n=12):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (180, 120, 3), dtype=np.uint8))
            for _ in range(n)]


def test_same_seed_same_cover_other_seed_other_cover():
    src = _sources()
    a, b, c = distractor_cover(src, 5), distractor_cover(src, 5), distractor_cover(src, 6)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.title == b.title and a.sources == b.sources
    assert a.image.size != c.image.size or not np.array_equal(np.asarray(a.image),
                                                              np.asarray(c.image))


@pytest.mark.parametrize("seed", range(20))
def test_at_most_a_quarter_from_any_cover(seed):
    d = distractor_cover(_sources(), seed)
    assert len(d.sources) >= 4 and len(set(d.sources)) == len(d.sources)   # all different
    assert max(d.shares) <= 0.25 + 1e-9 and abs(sum(d.shares) - 1) < 1e-9
    assert d.title and d.image.mode == "RGB"


def test_no_tile_is_a_whole_cover():
    # a source with a unique marker in each corner: a crop of <= MAX_CROP of each side
    # cannot hold two opposite corners
    assert MAX_CROP < 1.0
    src = []
    for k in range(9):
        a = np.full((180, 120, 3), 20 * k, np.uint8)
        a[:4, :4] = (255, 0, 0)
        a[-4:, -4:] = (0, 0, 255)
        src.append(Image.fromarray(a))
    for seed in range(10):
        px = np.asarray(distractor_cover(src, seed).image).reshape(-1, 3).astype(int)
        red = np.any(np.all(np.abs(px - (255, 0, 0)) < 40, 1))
        blue = np.any(np.all(np.abs(px - (0, 0, 255)) < 40, 1))
        assert not (red and blue)


def test_too_few_sources():
    with pytest.raises(ValueError):
        distractor_cover(_sources(3), 0)
    assert len(distractor_cover(_sources(4), 0).sources) == 4     # only the 2x2 grid fits


def test_write_distractors_prefix_stable(tmp_path):
    src = _sources()
    small = write_distractors(src, 3, seed=2, out_dir=tmp_path / "a")
    big = write_distractors(src, 5, seed=2, out_dir=tmp_path / "b")
    assert list(small) == list(big)[:3]
    assert all(i >= DISTRACTOR_ID_BASE for i in big) and distractor_id(2, 0) in big
    for i in small:
        assert np.array_equal(np.asarray(Image.open(small[i])), np.asarray(Image.open(big[i])))
