"""Reading a user's photo safely: bytes, a path or a PIL image in, an RGB PIL image out.

Every way a file can be unusable ends in :class:`BadImage` with a message that says what
to send instead: empty files, non-images, truncated files, decompression bombs. Very
large photos (up to ``MAX_PIXELS``) are accepted and downscaled to ``WORK_SIDE`` on the
long side while decoding (JPEG draft mode), so a 50-megapixel phone photo costs little.
Transparent images are flattened onto white.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from coverstory.search.errors import BadImage

MAX_PIXELS = 120_000_000       # refuse beyond this (about 11k x 11k)
MAX_BYTES = 60 * 1024 * 1024   # refuse files larger than this
WORK_SIDE = 1024               # long side of the image we work on


def load_photo(image, work_side: int = WORK_SIDE):
    """An RGB PIL image no larger than ``work_side`` on its long side, or BadImage."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        img = image
        try:
            img.load()
        except (OSError, ValueError) as e:
            raise BadImage(f"the image could not be decoded ({e}); send a complete JPEG or PNG") from e
        return _finish(img, work_side)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise BadImage(f"no such file: {path}")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadImage(f"{path} is {size / 2**20:.0f} MB; send a photo under "
                           f"{MAX_BYTES // 2**20} MB")
        data = path.read_bytes()
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    else:
        raise BadImage(f"expected image bytes, a file path or a PIL image, not {type(image).__name__}")
    if not data:
        raise BadImage("the file is empty (0 bytes); send a JPEG or PNG photo of the cover")
    if len(data) > MAX_BYTES:
        raise BadImage(f"the file is {len(data) / 2**20:.0f} MB; send a photo under "
                       f"{MAX_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"the image is {w}x{h} ({w * h / 1e6:.0f} megapixels); the limit is "
                               f"{MAX_PIXELS / 1e6:.0f} megapixels: send a smaller photo")
            if img.format == "JPEG" and max(w, h) > 2 * work_side:
                img.draft("RGB", (work_side, work_side))    # decode at 1/2, 1/4 or 1/8 scale
            img.load()
    except BadImage:
        raise
    except UnidentifiedImageError as e:
        raise BadImage("the file is not an image PIL can read; send a JPEG or PNG photo") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise BadImage(f"the image is too large to decode safely ({e}); send a smaller photo") from e
    except (OSError, SyntaxError, ValueError) as e:   # truncated / corrupt data
        raise BadImage(f"the image is damaged or truncated ({e}); send the complete file") from e
    return _finish(img, work_side)


def _finish(img, work_side: int):
    from PIL import Image

    if img.width < 16 or img.height < 16:
        raise BadImage(f"the image is only {img.width}x{img.height} pixels; send a photo of at "
                       "least 64x64 pixels showing the cover")
    if getattr(img, "is_animated", False):
        img.seek(0)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")
    if max(img.size) > work_side:
        img = img.copy()
        img.thumbnail((work_side, work_side), Image.Resampling.BILINEAR)
    return img
