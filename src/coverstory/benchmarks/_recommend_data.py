"""The recommend benchmark's data (a piece of benchmarks/recommend.py, whose docstring gives the
protocol): the goodbooks ratings, the per-reader hold-outs, the cold-book / new-reader split,
and the item features (the catalog's cached encoder vectors, shelf tags, day-one data)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# day-one texts are encoded through this name (tests/eval/test_protocols.py replaces it)
from coverstory.benchmarks._text_cache import cached_encode as _cached_encode


# ---- data -------------------------------------------------------------------------------------
@dataclass
class Ratings:
    users: np.ndarray     # row index
    items: np.ndarray     # column index (goodbooks book_id - 1)
    ratings: np.ndarray
    n_users: int
    n_items: int
    book_ids: np.ndarray  # goodbooks book_id of each column

    def matrix(self, mask: np.ndarray, binary: bool = False) -> sp.csr_matrix:
        v = np.ones(mask.sum(), np.float32) if binary else self.ratings[mask].astype(np.float32)
        return sp.csr_matrix((v, (self.users[mask], self.items[mask])),
                             shape=(self.n_users, self.n_items))


def load_ratings(data, quick: bool, seed: int) -> Ratings:
    path = data / "goodbooks10k" / "ratings_sample.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the recommend benchmark needs the shared "
                                "goodbooks data (set COVERSTORY_DATA or --data)")
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
    u, b, r = a[:, 0], a[:, 1], a[:, 2].astype(np.float32)
    if quick:  # 700 users, the 2,500 most rated books
        rng = np.random.default_rng(seed)
        keep_u = rng.choice(np.unique(u), 700, replace=False)
        cnt = np.bincount(b)
        keep_b = np.argsort(-cnt)[:2500]
        m = np.isin(u, keep_u) & np.isin(b, keep_b)
        u, b, r = u[m], b[m], r[m]
    uu, ui = np.unique(u, return_inverse=True)
    bb, bi = np.unique(b, return_inverse=True)
    if not quick:                      # keep all 10k columns (books unrated here stay)
        bb = np.arange(1, 10001)
        bi = b - 1
    return Ratings(ui.astype(np.int64), bi.astype(np.int64), r, len(uu), len(bb), bb)


def per_user_sample(users: np.ndarray, mask: np.ndarray, frac: float,
                    rng: np.random.Generator) -> np.ndarray:
    """bool over ratings: a random frac (rounded) of each user's rows where mask holds."""
    out = np.zeros(len(users), bool)
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(users[idx], kind="stable")]
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    for grp in np.split(order, bounds):
        n = int(round(frac * len(grp)))
        if n:
            out[rng.choice(grp, n, replace=False)] = True
    return out


def truth_lists(R: Ratings, mask: np.ndarray, rows: np.ndarray | None = None) -> list[np.ndarray]:
    M = R.matrix(mask, binary=True)
    rows = np.arange(R.n_users) if rows is None else rows
    return [M.indices[M.indptr[u]:M.indptr[u + 1]] for u in rows]


# ---- splits ---------------------------------------------------------------------------------------
@dataclass
class ColdSplit:
    """The cold-start protocol's split (see the module docstring)."""

    cold_items: np.ndarray     # columns of the cold books
    is_cold: np.ndarray        # bool over columns
    new_users: np.ndarray      # held-out readers
    fit: np.ndarray            # bool over ratings: what the cold-split models are fitted on
    users: np.ndarray          # evaluated readers (not new, with a held-out positive)
    truth_cold: list           # per evaluated reader: positives on cold books
    truth_warm: list           # per evaluated reader: held-out positives on rated books
    seen: sp.csr_matrix        # per evaluated reader: training positives (excluded)


def cold_split(R: Ratings, train: np.ndarray, test: np.ndarray, seed: int) -> ColdSplit:
    pos = R.ratings >= 4
    rng_c = np.random.default_rng(seed + 100)
    rated = np.flatnonzero(np.bincount(R.items[train], minlength=R.n_items) > 0)
    cold_items = np.sort(rng_c.choice(rated, int(round(0.1 * len(rated))), replace=False))
    is_cold = np.zeros(R.n_items, bool)
    is_cold[cold_items] = True
    new_users = np.sort(rng_c.choice(R.n_users, int(round(0.1 * R.n_users)), replace=False))
    is_new = np.isin(R.users, new_users)
    fit = train & ~is_cold[R.items] & ~is_new
    tc = truth_lists(R, ~is_new & is_cold[R.items] & pos)
    tw = truth_lists(R, ~is_new & test & ~is_cold[R.items])
    users = np.array([u for u in range(R.n_users) if len(tc[u]) or len(tw[u])], np.int64)
    seen = R.matrix(fit & pos, binary=True)[users]
    return ColdSplit(cold_items, is_cold, new_users, fit, users, [tc[u] for u in users],
                     [tw[u] for u in users], seen)


D1_WEIGHTS = {"d1_meta": 0.1}               # block weights in the fused vector
READER_BLOCKS = ("text", "tags")            # made from reader data: never on a cold book
DAY_ONE = ("d1_text", "cover", "d1_meta")   # what a shop knows on day one


def cold_features(feats, is_cold: np.ndarray):
    """The features the cold-split models see: reader-made blocks zeroed for cold books."""
    from coverstory.recommend.features import ItemFeatures

    out = ItemFeatures()
    for k, V in feats.blocks.items():
        if k in READER_BLOCKS:
            V = V.copy()
            V[is_cold] = 0.0
        out.blocks[k] = V
        out.weights[k] = feats.weights[k]
    return out


# ---- features -----------------------------------------------------------------------------------
def bench_features(ctx, R: Ratings):
    """ItemFeatures over the benchmark's columns (goodbooks books) from the catalog's cache."""
    from coverstory.catalog import Catalog
    from coverstory.recommend.features import (CACHE_BLOCKS, ItemFeatures, reduce_dim,
                                               tag_vectors)

    feats = ItemFeatures()
    notes = []
    cat = Catalog.open(ctx.home)
    to_cat = {int(s): int(b) for s, b in cat.source_ids("goodbooks").items()}
    cat_ids = np.array([to_cat.get(int(g), -1) for g in R.book_ids])
    if (cat_ids < 0).all():
        notes.append(f"catalog at {ctx.home} has no goodbooks books: only tag features used")
    else:
        from coverstory.encoders.cache import load_features

        pos = {c: i for i, c in enumerate(cat_ids.tolist()) if c >= 0}
        for name in ("text", "title", "cover"):
            try:
                ids, vecs = load_features(ctx.home, CACHE_BLOCKS[name])
            except FileNotFoundError as e:
                notes.append(f"{name} features missing ({e})")
                continue
            V = np.zeros((R.n_items, vecs.shape[1]), np.float32)
            for j, c in enumerate(ids.tolist()):
                i = pos.get(c)
                if i is not None:
                    V[i] = vecs[j]
            # cover vectors alone rank far below tags here; in the fused vector they weigh 1/4
            feats.add(name, reduce_dim(V, 256, ctx.seed), 0.25 if name == "cover" else 1.0)
            notes.append(f"{name}: {CACHE_BLOCKS[name]} for {int((np.abs(V).sum(1) > 0).sum())} books")
    # goodbooks shelf tags straight from the shared CSV (same as the catalog's tags)
    import csv

    genres = {}
    with open(ctx.data / "goodbooks10k" / "book_genres.csv", newline="") as f:
        for row in csv.DictReader(f):
            genres[int(row["book_id"])] = [t for t in row["genres"].split(",") if t]
    feats.add("tags", tag_vectors([genres.get(int(g), []) for g in R.book_ids], 128, ctx.seed))
    return feats, notes



def day_one_features(ctx, R: Ratings, cover: np.ndarray | None = None):
    """ItemFeatures of what a shop knows about a book on day one (no reader data): MiniLM of
    title + authors + description (descriptions.csv, else descriptions_more.csv), the cover's
    EfficientNet-Lite0 vector (catalog cache), publication year and page count bins.
    Categories: the shop categories (Book Depository) join only 81 of the 10k goodbooks
    books by ISBN-13, so no category block. Returns (features, notes)."""
    import csv

    from coverstory.recommend.features import ItemFeatures, day_one_text, meta_vectors

    gb = ctx.data / "goodbooks10k"
    info = {}
    with open(gb / "books.csv", newline="") as f:
        for r in csv.DictReader(f):
            y = r["original_publication_year"]
            info[int(r["book_id"])] = (r["title"], r["authors"], float(y) if y else np.nan)
    desc = {}
    for fn in ("descriptions_more.csv", "descriptions.csv"):       # descriptions.csv wins
        with open(gb / fn, newline="") as f:
            desc.update({int(r["book_id"]): r["description"] for r in csv.DictReader(f)})
    pages = {}
    with open(gb / "pages.csv", newline="") as f:
        for r in csv.DictReader(f):
            try:
                pages[int(r["book_id"])] = float(r["pages"])
            except ValueError:
                pass
    texts = [day_one_text(*info.get(int(b), ("", "", np.nan))[:2], desc.get(int(b), ""))
             for b in R.book_ids]
    V = _cached_encode(texts)
    feats = ItemFeatures().add("d1_text", V)
    notes = [f"day one: text (title + authors + description) for {len(texts)} books, "
             f"{sum(int(b) in desc for b in R.book_ids)} with a description"]
    if cover is not None and np.abs(cover).sum() > 0:
        feats.add("d1_cover", cover)
        notes.append(f"day one: cover for {int((np.abs(cover).sum(1) > 0).sum())} books")
    years = np.array([info.get(int(b), ("", "", np.nan))[2] for b in R.book_ids])
    pg = np.array([pages.get(int(b), np.nan) for b in R.book_ids])
    feats.add("d1_meta", meta_vectors(years, pg))
    notes.append(f"day one: year for {int(np.isfinite(years).sum())}, pages for "
                 f"{int(np.isfinite(pg).sum())} books")
    return feats, notes

