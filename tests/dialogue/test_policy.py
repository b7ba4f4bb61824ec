"""Policies: the question splits the candidates, MMR diversifies, baselines behave."""

from __future__ import annotations

import numpy as np

from coverstory.dialogue.policy import greedy_split, mmr


def test_greedy_split_prefers_the_halving_value_and_skips_duplicates():
    # 8 candidates; column 0 is in all (no information), 1 halves them, 2 duplicates 1,
    # 3 holds one book of each half (adds information only next to 1)
    m = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0],
                  [1, 0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], bool)
    w = np.ones(8, np.float32)
    cols, bits = greedy_split(m, w, np.ones(4, bool))
    expected = -(2 * (1 / 8) * np.log2(1 / 8) + 2 * (3 / 8) * np.log2(3 / 8))
    assert cols == [1, 3] and abs(bits - expected) < 1e-6
    cols, _ = greedy_split(m, w, np.array([True, False, True, True]))
    assert cols[0] == 2                                   # 1 unusable: its twin instead


def test_mmr_spreads_authors(engine):
    idx = engine.index
    ann = [r for r in range(len(idx)) if "Ann Gray" in idx.authors[r]]
    others = [r for r in range(len(idx)) if r not in ann]
    rows = ann + others
    scores = np.zeros(len(idx), np.float32)
    scores[ann] = [1.0, 0.99]
    scores[others] = 0.98
    picked = mmr(idx, rows, scores, k=2, lam=0.5)
    assert picked[0] == ann[0] and picked[1] not in ann


def test_popular_policy_never_asks_and_follows_popularity(tiny_home):
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, policy="popular", search=False, recommend=False, llm=False)
    r = eng.turn("pop", text="recommend me a book")
    assert r.question is None and len(r.books) == eng.k
    eng.close()


def test_default_asks_about_the_story_first_then_splits(engine):
    r = engine.turn("ask", text="recommend me a book")
    assert r.question_facet == "about"
    r = engine.turn("ask", text="I don't know")
    assert r.question_facet == "themes"                 # the second open question
    r = engine.turn("ask", text="no idea")
    assert r.question_facet in (None, "genre", "audience", "era", "mood", "theme")


def test_ab_assignment_is_per_session_and_stable(tiny_home):
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, policy="ab:default,popular", search=False, recommend=False,
                         llm=False)
    got = {sid: eng.turn(sid, text="a fantasy book").policy for sid in
           [f"ab{i}" for i in range(12)]}
    assert set(got.values()) == {"default", "popular"}
    for sid, pol in got.items():
        assert eng.turn(sid, text="more please").policy == pol
        assert eng.store.load(sid).policy == pol
    eng.close()
