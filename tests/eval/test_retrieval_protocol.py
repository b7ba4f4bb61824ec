"""Integrity of the fair retrieval protocol (``coverstory bench fusion_retrieval``): test
candidates, validation gallery, early-stopping books and training books are disjoint; the
quick run's candidates are a prefix of the full run's; the title TF-IDF never sees a test
title."""

from __future__ import annotations

import numpy as np


class _Task:
    def __init__(self, n=5000, seed=0):
        rng = np.random.default_rng(seed)
        self.split = rng.choice(["train", "val", "test"], n, p=[0.8, 0.1, 0.1])

    def index(self, part):
        return np.flatnonzero(self.split == part)


def test_parts_are_disjoint_and_from_their_split():
    from coverstory.benchmarks._retrieval_fair import sample

    task = _Task()
    p = sample(task, 0, 300)
    for a in p:
        for b in p:
            if a < b:
                assert not set(p[a]) & set(p[b]), (a, b)
    assert set(task.split[p["test"]]) == {"test"}
    assert set(task.split[p["val"]]) == {"val"} and set(task.split[p["stop"]]) == {"val"}
    assert set(task.split[p["train"]]) == {"train"}


def test_quick_candidates_are_a_prefix_of_the_full_ones():
    from coverstory.benchmarks._retrieval_fair import sample

    task = _Task()
    full, quick = sample(task, 3), sample(task, 3, 200)
    assert (quick["test"] == full["test"][:200]).all()
    assert (quick["val"] == full["val"][:200]).all()
    assert (sample(task, 3)["test"] == full["test"]).all()          # same seed, same rows


def test_char_tfidf_vocabulary_comes_from_the_training_titles_only():
    from coverstory.fusion.crossmodal_text import fit_char_tfidf

    vec = fit_char_tfidf(["the hobbit", "the hobbit", "dune", "dune"])
    assert not any("zq" in t for t in vec.vocabulary_)
    vec2 = fit_char_tfidf(["the hobbit", "the hobbit", "dune", "dune", "zqzq", "zqzq"])
    assert any("zq" in t for t in vec2.vocabulary_)
