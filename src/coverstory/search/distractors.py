"""Synthetic distractor covers, to grow a photo gallery without new books (issue 19).

A distractor is a cover-like image recomposed from crops of several *different* real
covers (a grid of tiles, each tile a crop of part of one cover, rescaled) with a band
carrying a made-up title rendered with PIL. It has the statistics of real covers (colours,
print, photographs, lettering) so its keypoints crowd the descriptor space the way real
covers do, but it is never a near-duplicate of any single real cover:

* every tile comes from a different cover, and a grid has at least 4 tiles, so at most
  1/4 of the distractor's area comes from any one cover;
* a tile is a crop of at most ``MAX_CROP`` of the source's width and height (never the
  whole cover shrunk), so no tile holds a complete real cover either.

Deterministic: ``distractor_cover(sources, seed)`` depends only on the seed and the list
of sources (sorted by the caller); :func:`write_distractors` names distractor ``i`` by
``seed`` and ``i``, so the first 5,000 of 20,000 are the same 5,000 covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GRIDS = ((2, 2), (2, 3), (3, 2), (3, 3))     # (rows, columns): >= 4 tiles each
MIN_CROP, MAX_CROP = 0.3, 0.6                # a tile's crop: share of the source's side
SIZES = ((128, 192), (128, 196), (128, 180), (120, 180), (128, 128))   # (w, h)
DISTRACTOR_ID_BASE = 10 ** 12                # ids of distractors in a gallery (no book has one)
_SYLLABLES = ("ka", "lo", "mi", "ne", "ra", "vos", "tem", "dri", "sha", "wen", "bel", "or",
              "qui", "zan", "pet", "ul", "mar", "tis", "eno", "gal", "hu", "fer", "yst", "dom")


@dataclass
class Distractor:
    """A distractor cover and where its pixels come from."""

    image: object                                        # PIL RGB image
    title: str
    sources: list[int] = field(default_factory=list)     # index into ``sources`` per tile
    shares: list[float] = field(default_factory=list)    # share of the area per tile


def made_up_title(rng: np.random.Generator) -> str:
    """A pronounceable title of 1-4 invented words (no real title by construction)."""
    words = []
    for _ in range(int(rng.integers(1, 5))):
        n = int(rng.integers(1, 4))
        words.append("".join(_SYLLABLES[int(i)] for i in rng.integers(0, len(_SYLLABLES), n)))
    return " ".join(w.capitalize() for w in words)


def distractor_cover(sources: list, seed: int) -> Distractor:
    """A synthetic cover made of crops of different covers among ``sources`` (paths or PIL
    images; at least 4, and 9 for every grid to be possible) plus a rendered made-up title; the same seed gives the same cover."""
    from PIL import Image, ImageDraw

    grids = [g for g in GRIDS if g[0] * g[1] <= len(sources)]
    if not grids:
        raise ValueError(f"a distractor needs at least 4 source covers, got {len(sources)}")
    rng = np.random.default_rng([int(seed), 19])
    w, h = SIZES[int(rng.integers(len(SIZES)))]
    rows, cols = grids[int(rng.integers(len(grids)))]
    picks = rng.choice(len(sources), rows * cols, replace=False)
    canvas = Image.new("RGB", (w, h))
    xs = np.linspace(0, w, cols + 1).round().astype(int)
    ys = np.linspace(0, h, rows + 1).round().astype(int)
    out = Distractor(canvas, "")
    for k, src_i in enumerate(picks.tolist()):
        r, c = divmod(k, cols)
        tw, th = int(xs[c + 1] - xs[c]), int(ys[r + 1] - ys[r])
        src = sources[src_i]
        img = src if isinstance(src, Image.Image) else Image.open(src)
        img = img.convert("RGB")
        sw, sh = img.size
        fw, fh = rng.uniform(MIN_CROP, MAX_CROP, 2)
        cw, ch = max(2, int(sw * fw)), max(2, int(sh * fh))
        x0 = int(rng.integers(0, sw - cw + 1))
        y0 = int(rng.integers(0, sh - ch + 1))
        tile = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((tw, th), Image.BICUBIC)
        if rng.random() < 0.25:
            tile = tile.transpose(Image.FLIP_LEFT_RIGHT)
        canvas.paste(tile, (int(xs[c]), int(ys[r])))
        out.sources.append(int(src_i))
        out.shares.append(tw * th / float(w * h))
    # the title band: a plain strip with the invented title (top, middle or bottom)
    title = made_up_title(rng)
    band_h = int(h * rng.uniform(0.14, 0.24))
    band_y = int(rng.choice([int(h * 0.04), (h - band_h) // 2, h - band_h - int(h * 0.04)]))
    bg = tuple(int(v) for v in rng.integers(0, 256, 3))
    fg = (255, 255, 255) if sum(bg) < 380 else (0, 0, 0)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, band_y, w, band_y + band_h), fill=bg)
    size = max(8, int(band_h * rng.uniform(0.35, 0.55)))
    font = _font(size)
    tw = draw.textlength(title, font=font)
    if tw > w - 6:                                        # too long: a smaller font
        font = _font(max(7, int(size * (w - 6) / tw)))
    draw.text((w / 2, band_y + band_h / 2), title, fill=fg, font=font, anchor="mm")
    out.title = title
    return out


def _font(size: int):
    """PIL's default font at ``size`` (Pillow < 10.1: its fixed-size bitmap font)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def distractor_id(seed: int, i: int) -> int:
    """The gallery id of distractor ``i`` of ``seed`` (never a book id)."""
    return DISTRACTOR_ID_BASE + int(seed) * 10_000_000 + int(i)


def write_distractors(sources: list, n: int, seed: int, out_dir, start: int = 0,
                      log=None) -> dict[int, str]:
    """Write distractors ``start..n-1`` of ``seed`` as JPEG files under ``out_dir`` (kept if
    already there) and return {gallery id: path}. Distractor ``i`` is
    ``distractor_cover(sources, seed * 10_000_000 + i)``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    got = {}
    for i in range(start, n):
        path = out_dir / f"d{seed}_{i:07d}.jpg"
        if not path.exists():
            d = distractor_cover(sources, int(seed) * 10_000_000 + i)
            tmp = path.with_suffix(".tmp")
            d.image.save(tmp, "JPEG", quality=90)
            tmp.replace(path)
        got[distractor_id(seed, i)] = str(path)
        if log and (i + 1) % 5000 == 0:
            log(f"distractors: {i + 1}/{n}")
    return got
