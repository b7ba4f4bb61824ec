"""Simulated readers: truthful, never leak the title or author, and a conversation runs."""

from __future__ import annotations

import random

from coverstory.catalog.normalize import fold
from coverstory.eval.simulator import Reader, simulate, summarise


def test_readers_never_leak_title_or_author(engine):
    idx = engine.index
    for r in range(len(idx)):
        res = simulate(engine, idx, [r], "default", max_turns=5, seed=3, tag="leak")
        said = [u for u, _, _ in res[0]["transcript"]]
        title = fold(idx.titles[r])
        for u in said:
            text = fold(u)
            assert title not in text, (title, u)
            for a in idx.authors[r]:
                assert fold(a).split()[-1] not in text.split(), (a, u)


def test_answers_are_truthful(engine):
    idx = engine.index
    r = idx.titles.index("Murder in Venice")
    reader = Reader(idx, r, random.Random(0))
    from coverstory.dialogue.lexicon import GENRE

    for _ in range(10):
        said = reader.opening().lower()
        named = [v.name for v in GENRE.values if f" {v.name}" in f" {said}"]
        assert all(g in idx.book_values(r, "genre") for g in named), said
    ans = reader._answer("genre", ["romance", "mystery", "fantasy"])
    assert ans.startswith("Mystery") and "not romance or fantasy" in ans
    assert reader._answer("about", []) .startswith("It's about")
    assert "2010 or later" in reader._answer("era", ["2000 to 2009", "2010 or later"])


def test_a_simulated_conversation_reaches_its_book(engine):
    idx = engine.index
    rows = list(range(len(idx)))
    res = simulate(engine, idx, rows, "default", max_turns=5, seed=0, tag="sim")
    s = summarise(res)
    assert s["n"] == len(rows) and s["success@5"] >= 0.5
    for r in res:
        assert r["turns"] >= 1 and len(r["ms"]) == r["turns"]
