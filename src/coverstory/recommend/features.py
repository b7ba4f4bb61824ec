"""Item features for content-aware recommenders, aligned to the model's item columns.

``ItemFeatures`` holds named blocks (e.g. "text", "cover", "tags"), each [n_items, d] float32
with L2-normalised rows and zero rows for items lacking that input. ``matrix()`` concatenates
them with per-block weights: the multimodal book vector the content models use.

Blocks come from the encoder feature cache (``coverstory.encoders.cache.load_features``) and
from the catalog's own shelf tags / shop categories (TF-IDF + truncated SVD, always available).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coverstory.artifacts import COVER_FEATURE, TEXT_FEATURE, TITLE_FEATURE

# block name -> feature name in the encoder cache
CACHE_BLOCKS: dict[str, str] = {
    "text": TEXT_FEATURE,
    "cover": COVER_FEATURE,
    "title": TITLE_FEATURE,
}


@dataclass
class ItemFeatures:
    """Named feature blocks over the same item columns."""

    blocks: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return next(iter(self.blocks.values())).shape[0] if self.blocks else 0

    def add(self, name: str, vectors: np.ndarray, weight: float = 1.0) -> "ItemFeatures":
        V = np.nan_to_num(np.asarray(vectors, dtype=np.float32))
        n = np.linalg.norm(V, axis=1, keepdims=True)
        self.blocks[name] = np.where(n > 0, V / np.maximum(n, 1e-12), 0.0).astype(np.float32)
        self.weights[name] = float(weight)
        return self

    def has(self, names: list[str] | None = None) -> np.ndarray:
        """bool [n_items]: item has at least one of the blocks."""
        out = np.zeros(self.n_items, dtype=bool)
        for k in names or self.blocks:
            out |= np.abs(self.blocks[k]).sum(1) > 0
        return out

    def matrix(self, names: list[str] | None = None) -> np.ndarray:
        """[n_items, sum d] weighted concatenation of the blocks (rows L2-normalised)."""
        names = names or list(self.blocks)
        missing = [k for k in names if k not in self.blocks]
        if missing:
            raise KeyError(f"feature blocks {missing} not present; have {list(self.blocks)}")
        M = np.hstack([self.blocks[k] * np.sqrt(self.weights.get(k, 1.0)) for k in names])
        n = np.linalg.norm(M, axis=1, keepdims=True)
        return (M / np.maximum(n, 1e-12)).astype(np.float32)

    def subset(self, rows: np.ndarray) -> "ItemFeatures":
        return ItemFeatures({k: v[rows] for k, v in self.blocks.items()}, dict(self.weights))

    def to_arrays(self, prefix: str = "feat.") -> dict[str, np.ndarray]:
        out = {f"{prefix}{k}": v.astype(np.float16) for k, v in self.blocks.items()}
        out[f"{prefix}__weights"] = np.array([self.weights[k] for k in self.blocks], np.float32)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], names: list[str],
                    prefix: str = "feat.") -> "ItemFeatures":
        w = arrays.get(f"{prefix}__weights")
        blocks = {k: arrays[f"{prefix}{k}"].astype(np.float32) for k in names}
        weights = {k: float(w[i]) if w is not None else 1.0 for i, k in enumerate(names)}
        return cls(blocks, weights)


def reduce_dim(V: np.ndarray, dim: int, seed: int = 0, rows: np.ndarray | None = None) -> np.ndarray:
    """PCA (fitted on ``rows`` that have data) to at most dim dimensions; zero rows stay zero."""
    from sklearn.decomposition import PCA

    V = np.asarray(V, dtype=np.float32)
    if V.shape[1] <= dim:
        return V
    has = np.abs(V).sum(1) > 0 if rows is None else rows
    if has.sum() <= dim:
        return V[:, :dim]
    pca = PCA(n_components=dim, random_state=seed).fit(V[has])
    out = np.zeros((len(V), dim), dtype=np.float32)
    out[has] = pca.transform(V[has])
    return out


def tag_vectors(docs: list[list[str]], dim: int = 128, seed: int = 0) -> np.ndarray:
    """TF-IDF of tag lists reduced by truncated SVD: a compact genre/shelf vector per item."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [" ".join(t.replace(" ", "_") for t in d) for d in docs]
    has = np.array([bool(t.strip()) for t in texts])
    out = np.zeros((len(docs), dim), dtype=np.float32)
    if has.sum() < 3:
        return out
    vec = TfidfVectorizer(token_pattern=r"[^ ]+", min_df=2 if has.sum() > 50 else 1,
                          sublinear_tf=True)
    M = vec.fit_transform([t for t, h in zip(texts, has) if h])
    k = min(dim, M.shape[1] - 1, M.shape[0] - 1)
    if k < 1:
        return out
    Z = TruncatedSVD(n_components=k, random_state=seed).fit_transform(M)
    out[has, :k] = Z
    return out


def catalog_item_features(home: str | Path, book_ids: np.ndarray, *,
                          blocks: tuple[str, ...] = ("text", "cover", "tags"),
                          max_dim: int = 256, seed: int = 0,
                          weights: dict[str, float] | None = None,
                          log=None) -> ItemFeatures:
    """ItemFeatures for catalog books ``book_ids`` (the model's columns, in order).

    Cache blocks that are not built are skipped with a message (``log``); "tags" comes
    from the catalog. Blocks wider than max_dim are reduced by PCA.
    """
    from coverstory.catalog import Catalog

    book_ids = np.asarray(book_ids, dtype=np.int64)
    pos = {int(b): i for i, b in enumerate(book_ids)}
    feats = ItemFeatures()
    weights = weights or {}
    for name in blocks:
        if name == "tags":
            cat = Catalog.open(home)
            docs = {b.id: b.tags + b.categories for b in cat.books()}
            V = tag_vectors([docs.get(int(b), []) for b in book_ids], dim=min(128, max_dim),
                            seed=seed)
            feats.add("tags", V, weights.get("tags", 1.0))
            continue
        feature = CACHE_BLOCKS.get(name, name)
        try:
            from coverstory.encoders.cache import load_features

            ids, vecs = load_features(home, feature)
        except FileNotFoundError as e:
            if log:
                log(f"content block {name!r} skipped: {e}")
            continue
        V = np.zeros((len(book_ids), vecs.shape[1]), dtype=np.float32)
        for j, b in enumerate(ids.tolist()):
            i = pos.get(b)
            if i is not None:
                V[i] = vecs[j]
        V = reduce_dim(V, max_dim, seed)
        feats.add(name, V, weights.get(name, 1.0))
    if not feats.blocks:
        raise FileNotFoundError("no item features available: build them with "
                                "`coverstory build features` (or include the 'tags' block)")
    return feats


# ---- day-one features: what a publisher or shop knows before anyone has read the book ------
DAY_ONE_BLOCKS = ("d1_text", "d1_cover", "d1_meta")


def day_one_text(title: str, authors: str, description: str = "") -> str:
    """The text a new book is described by on day one: title, authors, blurb (never shelf
    tags, ratings or reviews, which readers create after reading)."""
    parts = [str(title or "").strip(), f"by {authors.strip()}" if authors else "",
             " ".join(str(description or "").split())]
    return ". ".join(p for p in parts if p)


def meta_vectors(years: np.ndarray, pages: np.ndarray) -> np.ndarray:
    """A small dense block from publication year and page count (NaN = unknown): one-hot
    decade-like bins of the year and of log pages, plus "known" flags. Rows of books with
    neither are zero."""
    years = np.asarray(years, np.float64)
    pages = np.asarray(pages, np.float64)
    yb = np.array([-1e9, 1800, 1900, 1950, 1970, 1980, 1990, 1995, 2000, 2003, 2006, 2008,
                   2010, 2012, 2014, 1e9])
    pb = np.array([0, 100, 200, 250, 300, 350, 400, 500, 650, 1e9])
    out = np.zeros((len(years), len(yb) - 1 + len(pb) - 1), np.float32)
    ky = np.isfinite(years)
    out[np.flatnonzero(ky), np.clip(np.searchsorted(yb, years[ky], side="right") - 1, 0,
                                    len(yb) - 2)] = 1.0
    kp = np.isfinite(pages) & (pages > 0)
    out[np.flatnonzero(kp), len(yb) - 1 + np.clip(np.searchsorted(pb, pages[kp], side="right") - 1,
                                                   0, len(pb) - 2)] = 1.0
    return out
