"""Protocol integrity of the recommend, photo and encoders benchmarks: the splits they
report on are disjoint, compared rows rank the same candidates, the data tuning and
calibration see is disjoint from the test data, and a cold book carries no reader data.

Tiny made data (and small slices of the real shared CSVs); no model is trained here."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from coverstory.benchmarks import photo as photo_bench
from coverstory.benchmarks import _recommend_data as rb
from coverstory.benchmarks import _recommend_eval as rbe
from coverstory.recommend.features import ItemFeatures
from coverstory.recommend.tune import validation_split


def _ratings(n_users=60, n_items=80, per_user=25, seed=0) -> rb.Ratings:
    rng = np.random.default_rng(seed)
    u, i, r = [], [], []
    for user in range(n_users):
        items = rng.choice(n_items, per_user, replace=False)
        u += [user] * per_user
        i += items.tolist()
        r += rng.integers(1, 6, per_user).tolist()
    return rb.Ratings(np.array(u), np.array(i), np.array(r, np.float32), n_users, n_items,
                      np.arange(1, n_items + 1))


def _split(R, seed=0):
    rng = np.random.default_rng(seed)
    pos = R.ratings >= 4
    test = rb.per_user_sample(R.users, pos, 0.2, rng)
    test_neg = rb.per_user_sample(R.users, ~pos, 0.2, rng)
    return ~test & ~test_neg, test


# ---- recommend: cold start ----------------------------------------------------------------------
def test_cold_split_books_and_readers_are_held_out():
    R = _ratings()
    train, test = _split(R)
    cs = rb.cold_split(R, train, test, seed=0)
    fit_items = set(R.items[cs.fit].tolist())
    fit_users = set(R.users[cs.fit].tolist())
    assert not fit_items & set(cs.cold_items.tolist())          # cold books: no training rating
    assert not fit_users & set(cs.new_users.tolist())           # new readers: none either
    assert not (cs.fit & test).any()                            # test ratings never fitted
    assert len(cs.cold_items) == round(0.1 * len(np.unique(R.items[train])))
    assert not set(cs.users.tolist()) & set(cs.new_users.tolist())
    for row, tc, tw in zip(range(len(cs.users)), cs.truth_cold, cs.truth_warm):
        seen = set(cs.seen[row].indices.tolist())
        assert not seen & set(tc.tolist()) and not seen & set(tw.tolist())
        assert cs.is_cold[tc].all() and not cs.is_cold[tw].any()


def test_cold_features_carry_no_reader_data():
    n = 30
    is_cold = np.zeros(n, bool)
    is_cold[:5] = True
    rng = np.random.default_rng(0)
    f = ItemFeatures()
    for k in ("text", "tags", "d1_text", "cover", "d1_meta"):
        f.add(k, rng.normal(size=(n, 4)))
    out = rb.cold_features(f, is_cold)
    for k in rb.READER_BLOCKS:
        assert np.abs(out.blocks[k][is_cold]).sum() == 0          # tags, tag-bearing text
        assert np.allclose(out.blocks[k][~is_cold], f.blocks[k][~is_cold])
    for k in rb.DAY_ONE:
        assert np.allclose(out.blocks[k], f.blocks[k])            # day-one data kept
    assert not set(rb.DAY_ONE) & set(rb.READER_BLOCKS)


def test_day_one_text_never_holds_shelf_tags(shared_data, monkeypatch, tmp_path):
    """The day-one text of real goodbooks books is title + authors + blurb: a tag that
    appears in none of those never reaches it."""
    gb = tmp_path / "goodbooks10k"
    gb.mkdir()
    src = shared_data / "goodbooks10k"
    with open(src / "books.csv", newline="") as f:
        rows = [r for _, r in zip(range(5), csv.DictReader(f))]
    with open(gb / "books.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for fn in ("descriptions.csv", "descriptions_more.csv", "pages.csv"):
        with open(src / fn, newline="") as f:
            r = csv.reader(f)
            head = next(r)
            keep = [x for x in r if x[0] in {"1", "2", "3", "4", "5"}]
        with open(gb / fn, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(head)
            w.writerows(keep)
    with open(gb / "book_genres.csv", "w", newline="") as f:
        f.write("book_id,goodreads_book_id,genres\n")
        for r in rows:
            f.write(f"{r['book_id']},{r['goodreads_book_id']},zzqshelftag\n")
    seen = []
    monkeypatch.setattr(rb, "_cached_encode", lambda texts: seen.extend(texts) or
                        np.ones((len(texts), 3), np.float32))
    R = rb.Ratings(np.zeros(1, int), np.zeros(1, int), np.ones(1, np.float32), 1, 5,
                   np.arange(1, 6))
    feats, _ = rb.day_one_features(SimpleNamespace(data=tmp_path), R)
    assert len(seen) == 5 and all("zzqshelftag" not in t for t in seen)
    assert all(rows[i]["title"] in seen[i] for i in range(5))
    assert set(feats.blocks) == {"d1_text", "d1_meta"}


def test_compared_rows_rank_the_same_candidates(monkeypatch):
    """eval_cold ranks every method over the full catalog with the same exclusions."""
    from coverstory.recommend.content import ContentKNN
    from coverstory.recommend.popularity import Popularity

    R = _ratings()
    train, test = _split(R)
    cs = rb.cold_split(R, train, test, seed=0)
    rng = np.random.default_rng(1)
    f = ItemFeatures().add("d1_text", rng.normal(size=(R.n_items, 8)))
    calls = []
    real = rbe.top_k

    def spy(S, k, seen=None, candidates=None):
        calls.append((S.shape, None if seen is None else (seen != 0).nnz, candidates))
        return real(S, k, seen=seen, candidates=candidates)

    monkeypatch.setattr(rbe, "top_k", spy)
    hist = R.matrix(np.zeros(len(R.ratings), bool))[:2]
    new = {1: (hist, [np.array([0]), np.array([1])])}
    X = R.matrix(cs.fit)
    a = rbe.eval_cold(lambda: Popularity(), X, f, cs, new)
    b = rbe.eval_cold(lambda: ContentKNN(), X, f, cs, new)
    assert calls[: len(calls) // 2] == calls[len(calls) // 2:]
    assert all(c[2] is None and c[0][1] == R.n_items for c in calls)   # full catalog
    assert a["cold_recall@20"] == 0.0                      # popularity knows no cold book
    assert 0.0 <= b["cold_recall@20"] <= 1.0


def test_tuning_validation_is_carved_from_training_only():
    R = _ratings(seed=3)
    train, test = _split(R, seed=3)
    cs = rb.cold_split(R, train, test, seed=3)
    X = R.matrix(cs.fit)
    v = validation_split(X, seed=3)
    Xf = v["X_fit"]
    assert (Xf.multiply(X) != 0).nnz == Xf.nnz                      # a subset of X
    assert np.diff(Xf.tocsc().indptr)[v["cold_items"]].sum() == 0   # validation cold books
    assert not set(v["cold_items"].tolist()) & set(cs.cold_items.tolist())
    Xb = (Xf != 0).tocsr()
    for u in range(X.shape[0]):
        held = np.union1d(v["truth_warm"][u], v["truth_cold"][u])
        assert not set(held.tolist()) & set(Xb[u].indices.tolist())
        assert set(held.tolist()) <= set(X[u].indices.tolist())          # only training data
    test_pairs = set(zip(R.users[test].tolist(), R.items[test].tolist()))
    val_pairs = {(u, int(i)) for u in range(X.shape[0])
                 for i in np.union1d(v["truth_warm"][u], v["truth_cold"][u])}
    assert not val_pairs & test_pairs


def test_validation_holds_warm_and_cold_positives_at_one_rate():
    """The tuning objective weighs a cold and a warm positive alike: each reader's liked
    books on validation cold books are held out at the warm rate, the rest excluded."""
    R = _ratings(n_users=200, n_items=150, per_user=60, seed=5)
    X = R.matrix(np.ones(len(R.ratings), bool))
    v = validation_split(X, seed=5, cold_frac=0.2, val_frac=0.25)
    is_c = np.zeros(X.shape[1], bool)
    is_c[v["cold_items"]] = True
    Xp = (X >= 4).tocsr()
    n_cold = n_warm = held_c = held_w = 0
    for u in range(X.shape[0]):
        liked = Xp[u].indices
        lc, lw = liked[is_c[liked]], liked[~is_c[liked]]
        tc, rest = set(v["truth_cold"][u].tolist()), set(v["cold_rest"][u].tolist())
        assert not tc & rest and tc | rest == set(lc.tolist())
        assert set(v["truth_warm"][u].tolist()) <= set(lw.tolist())
        n_cold, n_warm = n_cold + len(lc), n_warm + len(lw)
        held_c, held_w = held_c + len(tc), held_w + len(v["truth_warm"][u])
    assert abs(held_c / n_cold - 0.25) < 0.03 and abs(held_w / n_warm - 0.25) < 0.03
    # few cold positives per reader (1-4): plain rounding would hold out none of them
    v = validation_split(X, seed=5, cold_frac=0.05, val_frac=0.1)
    n_c = sum(len(v["truth_cold"][u]) + len(v["cold_rest"][u]) for u in range(X.shape[0]))
    held = sum(len(t) for t in v["truth_cold"])
    assert abs(held / n_c - 0.1) < 0.04


def test_tune_never_reads_test_interactions(monkeypatch):
    """Every rating matrix the tuning fits or scores with holds only training pairs of the
    cold split (never a test rating, a test cold book or a new reader's rating)."""
    from coverstory.recommend import tune as tune_mod
    from coverstory.recommend.hybrid import Hybrid

    R = _ratings(seed=4)
    train, test = _split(R, seed=4)
    cs = rb.cold_split(R, train, test, seed=4)
    X = R.matrix(cs.fit)
    fit_pairs = set(zip(R.users[cs.fit].tolist(), R.items[cs.fit].tolist()))
    test_pairs = set(zip(R.users[test].tolist(), R.items[test].tolist()))
    seen = []
    real_fit, real_cold, real_parts = Hybrid.fit, Hybrid._fit_cold, Hybrid.parts

    def record(M, users=None, synthetic=False):
        M = sp.csr_matrix(M)
        rows = np.arange(M.shape[0]) if users is None else np.asarray(users)
        r, c = M.nonzero()
        seen.append((synthetic, set(zip(rows[r].tolist(), c.tolist()))))

    def fit(self, M, items=None):
        record(M)
        return real_fit(self, M, items)

    def fit_cold(self, M):
        record(M)
        return real_cold(self, M)

    def parts(self, M, users, als_vectors=None):
        record(M, users, synthetic=users is None)   # None: tune's 3-rating readers
        return real_parts(self, M, users, als_vectors)

    monkeypatch.setattr(Hybrid, "fit", fit)
    monkeypatch.setattr(Hybrid, "_fit_cold", fit_cold)
    monkeypatch.setattr(Hybrid, "parts", parts)
    f = ItemFeatures().add("d1_text", np.random.default_rng(0).normal(size=(R.n_items, 8)))
    tune_mod.tune(X, f, seed=4, base={"factors": 4}, mappers=[("ridge", {"reg_l2": 1.0})])
    assert len(seen) >= 4
    test_items = set(cs.cold_items.tolist())
    for synthetic, pairs in seen:
        assert not {i for _, i in pairs} & test_items          # no test cold book is rated
        if not synthetic:                                     # rows are readers
            assert pairs <= fit_pairs and not pairs & test_pairs
            assert not {u for u, _ in pairs} & set(cs.new_users.tolist())


# ---- photo: not in the catalog ------------------------------------------------------------------
def test_photo_split_is_disjoint():
    ids = np.arange(1000, 1500)
    absent = [f"/x/{i}.jpg" for i in range(900)]
    vi, ti, vo, to = photo_bench.photo_split(ids, absent, np.random.default_rng(5), 100, 300,
                                             200, 400)
    assert len(vi) == 100 and len(ti) == 300 and len(vo) == 200 and len(to) == 400
    assert not set(vi.tolist()) & set(ti.tolist())
    assert not set(vo) & set(to)
    with pytest.raises(RuntimeError, match="absent from the catalog"):
        photo_bench.photo_split(ids, absent[:10], np.random.default_rng(5), 1, 1, 8, 8)
    assert photo_bench.CALIB_SEED_BASE > 1500               # validation photo seeds != test


def test_absent_covers_are_not_gallery_covers(tmp_path):
    """Absent books: no byte-identical gallery cover, no catalog title."""
    from PIL import Image

    root = tmp_path / "covers" / "bookdepository"
    root.mkdir(parents=True)
    for name, colour in (("a", 10), ("b", 20), ("c", 30), ("d", 40)):
        Image.new("RGB", (8, 8), (colour, 0, 0)).save(root / f"{name}.jpg")
    (tmp_path / "covers" / "bookdepository.csv").write_text(
        "isbn13,title,author,format,stars,price,categories,is_color,file\n"
        "1,Catalog Book,Ann Author,,,,,,bookdepository/a.jpg\n"       # title in the catalog
        "2,Same Bytes,Bo B,,,,,,bookdepository/b.jpg\n"               # bytes in the gallery
        "3,Truly New,Cy C,,,,,,bookdepository/c.jpg\n"
        "4,Truly New,Cy C,,,,,,bookdepository/d.jpg\n")               # same title twice
    book = SimpleNamespace(title="Catalog Book", author="Ann Author", authors=["Ann Author"])
    gallery_sha = {photo_bench._sha(root / "b.jpg")}
    out = photo_bench.absent_covers(tmp_path, {1: book}, gallery_sha)
    assert [Path(p).name for _, p in out] == ["c.jpg"]


def test_verifier_threshold_comes_from_validation_only():
    from coverstory.search.photo import FEATURES, fit_verifier

    rng = np.random.default_rng(0)
    n = 200
    inside = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    inl = np.r_[rng.integers(10, 60, n), rng.integers(0, 8, n)]
    X = np.c_[np.ones(2 * n), np.log1p(inl), np.log1p(rng.integers(0, 5, 2 * n)),
              rng.random(2 * n), rng.random(2 * n), np.zeros(2 * n)]
    y = inside.astype(int)
    cal = fit_verifier(X, y, inside)
    assert cal["features"] == FEATURES and 0 < cal["threshold"] < 1
    assert cal["validation_balanced_accuracy"] > 0.9
    again = fit_verifier(X, y, inside)
    assert again == cal                                     # deterministic given validation


def test_threshold_curve_counts():
    rows = ([{"in_gallery": True, "p": 0.9, "top1": True}] * 8
            + [{"in_gallery": True, "p": 0.1, "top1": True}] * 2
            + [{"in_gallery": False, "p": 0.05}] * 9 + [{"in_gallery": False, "p": 0.95}])
    c = {r["threshold"]: r for r in photo_bench.threshold_curve(rows, 0.5)}
    assert c[0.5]["chosen"] and c[0.5]["not-in-catalog recall"] == 0.9
    assert c[0.5]["not-in-catalog precision"] == pytest.approx(9 / 11)
    assert c[0.5]["in-catalog accepted and right"] == pytest.approx(0.8)


# ---- encoders: the supervised comparison trains on other books ----------------------------------
def test_text_eval_books_are_never_training_books():
    from coverstory.train.ssl import is_eval_book

    ids = range(1, 2000)
    train = {i for i in ids if not is_eval_book(i)}
    ev = {i for i in ids if is_eval_book(i)}
    assert train and ev and not train & ev
    val = {i for i in train if i % 10 == 1}
    assert val and not val & ev
