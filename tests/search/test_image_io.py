"""Bad photos give a clear BadImage (a ValueError), never a crash; odd but usable ones work."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from coverstory.search import image_io
from coverstory.search.errors import BadImage
from coverstory.search.image_io import load_photo


def jpeg_bytes(size=(300, 400), color=(200, 30, 30), quality=90) -> bytes:
    rng = np.random.default_rng(0)
    arr = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    arr[: size[1] // 2] = color
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_empty_file(tmp_path):
    with pytest.raises(BadImage, match="empty"):
        load_photo(b"")
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(BadImage, match="empty"):
        load_photo(p)
    assert issubclass(BadImage, ValueError)


def test_not_an_image(tmp_path):
    with pytest.raises(BadImage, match="not an image"):
        load_photo(b"%PDF-1.4 this is a pdf, not a photo" * 20)
    with pytest.raises(BadImage, match="no such file"):
        load_photo(tmp_path / "missing.jpg")
    with pytest.raises(BadImage, match="expected image bytes"):
        load_photo(12345)


def test_truncated_jpeg():
    data = jpeg_bytes()
    with pytest.raises(BadImage, match="damaged or truncated"):
        load_photo(data[: len(data) // 2])


def test_png_with_alpha_is_flattened_on_white():
    rgba = Image.new("RGBA", (100, 150), (255, 0, 0, 0))         # fully transparent red
    rgba.paste((0, 0, 255, 255), (25, 25, 75, 125))             # opaque blue box
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    img = load_photo(buf.getvalue())
    assert img.mode == "RGB" and img.size == (100, 150)
    assert img.getpixel((2, 2)) == (255, 255, 255)
    assert img.getpixel((50, 70)) == (0, 0, 255)


def test_fifty_megapixel_photo_is_downscaled():
    # 8660 x 5774 = 50 Mpx; a flat colour keeps the file small and fast to encode
    big = Image.new("RGB", (8660, 5774), (10, 120, 200))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=80)
    del big
    img = load_photo(buf.getvalue())
    assert max(img.size) <= image_io.WORK_SIDE
    assert abs(img.size[0] / img.size[1] - 8660 / 5774) < 0.01


def test_too_many_pixels_is_refused(monkeypatch):
    monkeypatch.setattr(image_io, "MAX_PIXELS", 100_000)
    with pytest.raises(BadImage, match="megapixels"):
        load_photo(jpeg_bytes((400, 400)))


def test_tiny_image_is_refused():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    with pytest.raises(BadImage, match="at least"):
        load_photo(buf.getvalue())


def test_greyscale_and_palette_become_rgb():
    for mode in ("L", "P", "CMYK"):
        buf = io.BytesIO()
        Image.new(mode, (64, 64)).save(buf, "TIFF" if mode == "CMYK" else "PNG")
        assert load_photo(buf.getvalue()).mode == "RGB"
