"""The phone-photo pipeline is deterministic per seed and puts the cover where it says."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.train.phone_photo import phone_photo, phone_photo_with_meta


@pytest.fixture
def cover(tmp_path):
    from tests.conftest import draw_cover

    return draw_cover(tmp_path / "c.jpg", "The Wizard School", "Ann Gray")


def test_same_seed_same_photo(cover):
    a = np.asarray(phone_photo(cover, seed=7))
    b = np.asarray(phone_photo(cover, seed=7))
    assert np.array_equal(a, b)
    c = np.asarray(phone_photo(cover, seed=8))
    assert a.shape != c.shape or np.abs(a.astype(int) - c.astype(int)).mean() > 5


def test_photo_shape_and_quad(cover):
    for seed in range(6):
        ph = phone_photo_with_meta(cover, seed)
        w, h = ph.image.size
        assert (w, h) in ((480, 640), (640, 480))
        centre = ph.quad.mean(0)
        assert 0 <= centre[0] <= w and 0 <= centre[1] <= h      # the cover is in the frame
        assert ph.params["seed"] == seed and 30 <= ph.params["jpeg_quality"] < 90


def test_levels(cover):
    with pytest.raises(ValueError, match="level"):
        phone_photo(cover, 1, level="extreme")
    mild = phone_photo_with_meta(cover, 3, "mild")
    assert mild.params["level"] == "mild"
