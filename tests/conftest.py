"""Shared fixtures: the real data folder (required, clear error if absent) and tiny catalogs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $COVERSTORY_DATA); a clear failure, not a skip, when absent."""
    from coverstory.config import data_dir

    return data_dir()


def draw_cover(path: Path, title: str, author: str, color=(30, 60, 120), size=(128, 192)) -> Path:
    """A small PIL-drawn cover with its title and author printed on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    d = ImageDraw.Draw(img)
    d.rectangle([6, 6, size[0] - 7, size[1] - 7], outline=(240, 240, 240), width=2)
    y = 20
    for word in title.split():
        d.text((12, y), word, fill=(255, 255, 255))
        y += 14
    d.text((12, size[1] - 30), author, fill=(255, 230, 150))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=90)
    return path


TINY_BOOKS = [
    # title, author, year, tags, description, colour
    ("The Wizard School", "Ann Gray", 1997, ["fantasy", "magic", "young-adult"],
     "A boy discovers he is a wizard and goes to a boarding school of magic.", (40, 40, 140)),
    ("Red Planet Alone", "Mark Stone", 2011, ["science-fiction", "space", "survival"],
     "An astronaut stranded on Mars must grow food and survive alone with humour.", (160, 50, 20)),
    ("Murder in Venice", "Clara Bell", 2015, ["mystery", "crime", "cozy-mystery"],
     "A cosy mystery: a retired teacher solves a murder among the canals of Venice.", (20, 90, 90)),
    ("Love on the Farm", "Rosa Lane", 2003, ["romance", "contemporary"],
     "Two rivals fall in love while saving a family farm in a small town.", (200, 120, 150)),
    ("The Garden Year", "Tom Birch", 1988, ["gardening", "non-fiction", "nature"],
     "A practical month by month guide to growing vegetables and flowers.", (40, 130, 40)),
    ("Dragons of the North", "Ann Gray", 2001, ["fantasy", "dragons", "adventure"],
     "A young girl befriends a dragon and crosses the frozen north to save her village.",
     (90, 90, 160)),
]


def build_tiny_home(root: Path, *, ratings: bool = True) -> Path:
    """The six made-up books with drawn covers (and, by default, a few ratings) at root/home."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.store import sha256_file

    home = root / "home"
    cat = Catalog.open(home)
    with cat.transaction():
        for i, (title, author, year, tags, desc, color) in enumerate(TINY_BOOKS):
            cover = draw_cover(root / "covers" / f"{i}.jpg", title, author, color)
            cat.upsert_book("tiny", str(i), {
                "title": title, "authors": [author], "year": year, "description": desc,
                "cover_path": str(cover), "cover_sha256": sha256_file(cover), "language": "eng",
            }, tags=tags)
        for u in range(4 if ratings else 0):
            uid = cat.ensure_user(f"tiny:{u}")
            for b in range(1, 7):
                if (u + b) % 2 == 0:
                    cat.conn.execute(
                        "INSERT INTO ratings(user_id, book_id, rating, source) VALUES (?,?,?,?)",
                        (uid, b, 3 + (u + b) % 3, "tiny"))
    cat.close()
    return home


@pytest.fixture
def tiny_home(tmp_path) -> Path:
    """A data home holding a catalog of six made-up books with drawn covers and a few ratings."""
    return build_tiny_home(tmp_path)
