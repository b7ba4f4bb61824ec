"""Integrity of the fair genre-fusion protocol (``coverstory bench fusion``, issue 16 part 2):
splits disjoint by book and by work, selection that never reads the test split, the lexical
title input fitted on training titles only, paired comparisons on the same seeds."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class FakeBook:
    id: int
    title: str
    authors: list[str]
    isbn13: str | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def author(self) -> str:
        return ", ".join(self.authors)


def _groups_never_span_splits(books, part):
    from coverstory.catalog.normalize import norm_key

    by_isbn, by_key = {}, {}
    for b in books:
        if b.isbn13:
            by_isbn.setdefault(b.isbn13, set()).add(part[b.id])
        by_key.setdefault(norm_key(b.title, b.authors), set()).add(part[b.id])
    assert all(len(s) == 1 for s in by_isbn.values())
    assert all(len(s) == 1 for k, s in by_key.items() if k.split("|")[0])


def test_split_keeps_editions_of_a_work_together():
    from coverstory.fusion.datasets import split_books

    books = []
    for i in range(300):
        books.append(FakeBook(i, f"Book number {i // 3}", [f"Author {i // 3}"],
                              isbn13=f"978{i // 2:010d}"))
    for seed in range(3):
        part = split_books(books, seed)
        assert set(part.values()) == {"train", "val", "test"}
        _groups_never_span_splits(books, part)


@pytest.mark.skipif(not (DATA / "covers" / "bookdepository.csv").exists(),
                    reason="needs ../shared/data")
def test_split_of_real_bookdepository_rows_is_disjoint_by_work():
    """3,000 real Book Depository rows (duplicate titles and ISBNs included)."""
    from coverstory.catalog.normalize import split_authors
    from coverstory.fusion.datasets import split_books

    with open(DATA / "covers" / "bookdepository.csv", newline="") as f:
        rows = [r for _, r in zip(range(3000), csv.DictReader(f))]
    books = [FakeBook(i, r["title"], split_authors(r["author"]), r["isbn13"] or None)
             for i, r in enumerate(rows)]
    for seed in (0, 1, 2, 3, 4):
        part = split_books(books, seed)
        _groups_never_span_splits(books, part)
        counts = {p: sum(v == p for v in part.values()) for p in ("train", "val", "test")}
        assert counts["val"] > 200 and counts["test"] > 200
    # a fresh split per seed: the test sets differ
    t0 = {b for b, p in split_books(books, 0).items() if p == "test"}
    t1 = {b for b, p in split_books(books, 1).items() if p == "test"}
    assert len(t0 & t1) < 0.5 * len(t0)


def _synthetic_parts(seed=0):
    from coverstory.train.trainer import FeatureSet

    fs = FeatureSet.synthetic(n=480, n_classes=4, seed=seed)
    rng = np.random.default_rng(seed)
    fs.x["cover2"] = (fs.x["cover"] + rng.normal(size=fs.x["cover"].shape)).astype(np.float32)
    # precomputed per-class scores (a "scores" candidate): right for about half the books
    sc = rng.normal(size=(len(fs), 4))
    sc[np.arange(len(fs)), fs.y] += 1.5
    fs.x["sc"] = sc.astype(np.float32)
    fs.mask = {k: np.ones(len(fs), bool) for k in fs.x}
    return {"train": fs.subset(np.arange(320)), "val": fs.subset(np.arange(320, 400)),
            "test": fs.subset(np.arange(400, 480))}


def _protocol(parts):
    from coverstory.train.protocol import Candidate, candidate_logits, run_seed
    from coverstory.train.trainer import TrainConfig

    cands = [Candidate("img a", "image", "single", ["cover"]),
             Candidate("img b", "image", "single", ["cover2"]),
             Candidate("txt", "text", "single", ["title"]),
             Candidate("txt scores", "text", "scores", ["sc"]),
             Candidate("txt ensemble", "text", "ensemble", None, ("text",)),
             Candidate("fusion early", "fusion", "early", None),
             Candidate("fusion late", "fusion", "late", None),
             Candidate("fusion ensemble", "fusion", "ensemble", None, ("fusion", "text"))]
    seen_test = []

    def test_eval(row, names):
        seen_test.append(row["label"])
        te = parts["test"]
        return {"test_top1": float((candidate_logits(row["model"], te, names).argmax(1)
                                    == te.y).mean())}

    def cfg(strategy, beta):
        return TrainConfig(strategy, beta=beta, epochs=6, patience=2, batch_size=64, lr=3e-3,
                           out_dim=16, progress=False)

    res = run_seed(parts, cands, ["title"], (0.0, 0.3), cfg, 4,
                   lambda n: "text" if n in ("title", "sc") else "image", test_eval)
    return res, seen_test


def test_selection_never_reads_the_test_split():
    """Scrambling the test labels and features changes test figures, never a choice nor a
    validation figure."""
    parts = _synthetic_parts()
    a, seen = _protocol(parts)
    rng = np.random.default_rng(5)
    bad = parts["test"].subset(np.arange(len(parts["test"])))
    bad.y = rng.permutation(bad.y)
    bad.x = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in bad.x.items()}
    b, _ = _protocol({**parts, "test": bad})
    assert a["choice"] == b["choice"]
    assert [r["val_top1"] for r in a["rows"]] == [r["val_top1"] for r in b["rows"]]
    assert [r["inputs"] for r in a["rows"]] == [r["inputs"] for r in b["rows"]]
    assert [r["test_top1"] for r in a["rows"]] != [r["test_top1"] for r in b["rows"]]
    # each kept model is tested exactly once, after every choice
    assert seen == [r["label"] for r in a["rows"]]
    # the fusion models took the image input chosen on validation
    best_img = next(r for r in a["rows"] if r["label"] == a["choice"]["best_image"])
    for r in a["rows"]:
        if r["family"] == "fusion" and r["strategy"] != "ensemble":
            assert r["inputs"] == ["title"] + best_img["inputs"]
    assert a["choice"]["best_fusion"].startswith("fusion")
    assert a["choice"]["best_single"] in ("img a", "img b", "txt", "txt scores",
                                          "txt ensemble")
    # ensembles: weights fitted on validation; the text one weights text rows only, the
    # fusion one keeps the best image model (weight >= 0.25)
    rows = {r["label"]: r for r in a["rows"]}
    assert set(rows["txt ensemble"]["weights"]) == {"txt", "txt scores"}
    fw = rows["fusion ensemble"]["weights"]
    assert fw[a["choice"]["best_image"]] >= 0.25
    assert {"fusion early", "fusion late", "txt", "txt scores"} <= set(fw)
    assert rows["fusion ensemble"]["weights"] == b["rows"][-1]["weights"]


def test_beta_is_chosen_by_validation_top1():
    from coverstory.train.protocol import Candidate, fit_candidate

    parts = _synthetic_parts(1)
    vals = {0.0: 0.4, 0.3: 0.6, 1.0: 0.6}

    def run(label, strategy, names, beta, tr, va):
        assert len(tr) == 320 and len(va) == 80     # never the test split
        return vals[beta], None, {}

    r = fit_candidate(Candidate("x", "image", "single", ["cover"]), ["cover"],
                      {"train": parts["train"], "val": parts["val"]}, (0.0, 0.3, 1.0),
                      None, 4, lambda n: "image", run)
    assert r["beta"] == 0.3 and r["val_top1"] == 0.6   # ties go to the first


def test_member_weights_use_train_and_validation_only():
    """The ensemble weights are a function of (train, val): test features never enter."""
    import inspect

    from coverstory.encoders.image_ensemble import fit_member_weights

    assert list(inspect.signature(fit_member_weights).parameters)[:4] == [
        "train_parts", "train_y", "val_parts", "val_y"]


def test_lexical_title_input_is_fitted_on_training_titles_only():
    """Changing every test (and validation) title changes no training row of the TF-IDF ->
    SVD input: vocabulary, idf and SVD come from the training titles alone."""
    from types import SimpleNamespace

    from coverstory.benchmarks.fusion import _title_lexical
    from coverstory.fusion.datasets import Task

    def task(heldout_words):
        books = {i: FakeBook(i, f"common words story {i % 7} tale {i % 5}", [f"Jane Doe{i % 3}"])
                 for i in range(60)}
        for i in range(40, 60):
            books[i] = FakeBook(i, f"{heldout_words} {i}", ["Zed Unseen"])
        split = np.array(["train"] * 40 + ["val"] * 10 + ["test"] * 10)
        return Task("genre", np.arange(60), np.zeros(60, np.int64), ["a"],
                    [frozenset()] * 60, split, books)

    ctx = SimpleNamespace(seed=0, progress=lambda m: None)
    a = _title_lexical(ctx, task("story tale common"), dim=8)
    b = _title_lexical(ctx, task("zyxwv qqqqq unseen"), dim=8)
    assert a.shape == (60, 8)
    np.testing.assert_allclose(a[:40], b[:40], atol=1e-6)
    assert not np.allclose(a[40:], b[40:], atol=1e-3)


def test_paired_comparison():
    from coverstory.train.protocol import mean_sd, paired

    c = paired([0.40, 0.42, 0.41, 0.43, 0.40], [0.45, 0.46, 0.40, 0.47, 0.44])
    assert c["n"] == 5 and c["wins"] == 4
    assert c["mean_diff"] == pytest.approx(0.032)
    assert 0 < c["p"] < 1
    m, s = mean_sd([1.0, 2.0, 3.0])
    assert m == 2.0 and s == pytest.approx(1.0)
