"""The labelled book sets the fusion models are trained and evaluated on, and their splits.

Splits are by book: books sharing an ISBN-13 or a normalised title + first-author surname
(``catalog.normalize.norm_key``) form one group, and whole groups go to train / val / test
(80/10/10) by a seeded permutation of the group keys, so no work is on both sides.

Tasks
- ``genre``: Book Depository books with a cover; 33 categories. A book may sit in several;
  its label is the *first* category of its Book Depository record (the listing order of
  the source CSV), and the full set is kept for the "any of its categories" score.
- ``reader_needs``: goodbooks books with a cover and a description, labelled with one of the
  paper's eight reader-need categories from their shelf tags (``fusion.reader_needs``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class Task:
    name: str
    ids: np.ndarray                    # book ids, int64 [n]
    y: np.ndarray                      # primary label, int64 [n]
    labels: list[str]                  # label names
    label_sets: list[frozenset[int]]   # every label of each book
    split: np.ndarray                  # "train" | "val" | "test" per book
    books: dict = field(default_factory=dict)   # id -> Book

    def index(self, part: str) -> np.ndarray:
        return np.flatnonzero(self.split == part)

    def counts(self) -> dict:
        return {p: int((self.split == p).sum()) for p in SPLITS}


def group_keys(books) -> dict[int, str]:
    """book id -> dedup group key (union of shared ISBN-13 and normalised title+author)."""
    from coverstory.catalog.normalize import norm_key

    parent: dict[str, str] = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for b in books:
        node = f"book:{b.id}"
        find(node)
        if b.isbn13:
            union(node, f"isbn:{b.isbn13}")
        key = norm_key(b.title, b.authors)
        if key.split("|")[0]:
            union(node, f"key:{key}")
    return {b.id: find(f"book:{b.id}") for b in books}


def split_books(books, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> dict[int, str]:
    """book id -> "train" | "val" | "test", whole dedup groups at a time."""
    keys = group_keys(books)
    groups = sorted(set(keys.values()))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(groups))
    n = len(groups)
    cut1 = int(round(fractions[0] * n))
    cut2 = int(round((fractions[0] + fractions[1]) * n))
    part = {}
    for rank, gi in enumerate(order):
        part[groups[gi]] = "train" if rank < cut1 else ("val" if rank < cut2 else "test")
    return {bid: part[k] for bid, k in keys.items()}


def _bookdepository_categories(data: Path) -> dict[str, list[str]]:
    path = Path(data) / "covers" / "bookdepository.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; the genre task needs the shared data "
                                "folder (set COVERSTORY_DATA or pass --data)")
    with open(path, newline="") as f:
        return {r["isbn13"]: [c for c in r["categories"].split("|") if c]
                for r in csv.DictReader(f)}


def genre_task(cat, data: Path, seed: int = 0) -> Task:
    """Book Depository covers + titles, 33 categories (see module doc for the label)."""
    bd = _bookdepository_categories(data)
    rows = []
    for b in cat.books():
        if not b.cover_path:
            continue
        src = [s.split(":", 1)[1] for s in b.sources if s.startswith("bookdepository:")]
        cats = next((bd[s] for s in src if s in bd), None)
        if cats:
            rows.append((b, cats))
    if not rows:
        raise ValueError("no Book Depository books with covers in this catalog; import "
                         "them first (`coverstory import`)")
    labels = sorted({c for _, cs in rows for c in cs})
    li = {c: i for i, c in enumerate(labels)}
    books = [b for b, _ in rows]
    part = split_books(books, seed)
    return Task("genre", np.array([b.id for b in books], np.int64),
                np.array([li[cs[0]] for _, cs in rows], np.int64), labels,
                [frozenset(li[c] for c in cs) for _, cs in rows],
                np.array([part[b.id] for b in books]), {b.id: b for b in books})


def reader_needs_task(cat, seed: int = 0) -> Task:
    """Goodbooks books with cover + description, labelled by reader need."""
    from coverstory.fusion.reader_needs import NEEDS, reader_need

    rows = []
    for b in cat.books():
        if not (b.cover_path and b.description and b.tags
                and any(s.startswith("goodbooks:") for s in b.sources)):
            continue
        primary, present = reader_need(b.tags)
        if primary:
            rows.append((b, primary, present))
    if not rows:
        raise ValueError("no goodbooks books with cover, description and tags in this catalog")
    li = {n: i for i, n in enumerate(NEEDS)}
    books = [b for b, _, _ in rows]
    part = split_books(books, seed)
    return Task("reader_needs", np.array([b.id for b in books], np.int64),
                np.array([li[p] for _, p, _ in rows], np.int64), list(NEEDS),
                [frozenset(li[n] for n in s) for _, _, s in rows],
                np.array([part[b.id] for b in books]), {b.id: b for b in books})


def feature_matrix(home: Path, feature: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors [n, d] aligned with ids (zeros where missing), present bool [n])."""
    from coverstory.encoders.cache import load_features

    fids, vecs = load_features(home, feature)
    pos = {int(i): r for r, i in enumerate(fids)}
    out = np.zeros((len(ids), vecs.shape[1]), np.float32)
    present = np.zeros(len(ids), bool)
    for r, i in enumerate(ids):
        j = pos.get(int(i))
        if j is not None:
            out[r] = vecs[j]
            present[r] = True
    return out, present


def assemble(home: Path, task: Task, inputs: dict[str, str]):
    """A FeatureSet for the task: ``inputs`` maps an input name to a feature source —
    a feature-cache name ("title/minilm-l6.pretrained") or "maps" (the cover's multi-scale
    maps, giving inputs NAME@c1, NAME@c2, NAME@c3)."""
    from coverstory.fusion.maps import load_cover_maps
    from coverstory.fusion.features import FeatureSet

    x, mask = {}, {}
    for name, source in inputs.items():
        if source == "maps":
            shas = [task.books[int(i)].cover_sha256 or "" for i in task.ids]
            m = load_cover_maps(home, shas)
            for sc in ("c1", "c2", "c3"):
                x[f"{name}@{sc}"] = m[sc]
            mask[name] = m["found"]
        elif source == "maps-global":
            shas = [task.books[int(i)].cover_sha256 or "" for i in task.ids]
            m = load_cover_maps(home, shas)
            x[name], mask[name] = m["global"], m["found"]
        else:
            x[name], mask[name] = feature_matrix(home, source, task.ids)
    return FeatureSet(x, task.y.copy(), task.ids.copy(), mask)
