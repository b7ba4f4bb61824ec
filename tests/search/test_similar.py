"""Similar books: the array form of the scoring gives exactly what the per-candidate loop it
replaced gave (kept here as the reference), on random vector spaces with shared authors and
books listed twice in a space."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.index import make_index
from coverstory.results import Hit
from coverstory.search.similar import REASONS, Similar, TagSpace


def reference(sim: Similar, book_id: int, k: int = 10, exclude=()) -> list[Hit]:
    """The per-candidate loop of search/similar.py before issue 15 (dicts per candidate)."""
    parts = {m: dict(zip(ids.tolist(), z.tolist()))              # the neighbours: shared
             for m, (ids, z) in sim.neighbour_z(book_id).items()}
    mine = {a.lower() for a in sim.authors.get(book_id, [])}
    if not parts and not mine:
        return []
    floor = {m: min(v.values()) for m, v in parts.items()}
    cand = set().union(*[set(v) for v in parts.values()]) if parts else set()
    if mine:
        by_author = sim._books_by_author()
        cand |= set().union(*(by_author.get(a, set()) for a in mine)) - {book_id}
    excl = {int(e) for e in exclude} | {book_id}
    scored = []
    for b in cand:
        if b in excl:
            continue
        contrib = {m: sim.weights.get(m, 0.5) * parts[m].get(b, floor[m]) for m in parts}
        if mine and mine & {a.lower() for a in sim.authors.get(b, [])}:
            contrib["author"] = sim.weights["author"] * 2.0
        total = sum(contrib.values()) / max(1e-6, sum(sim.weights.get(m, 0.5) for m in parts))
        scored.append((total, b, contrib))
    scored.sort(key=lambda t: -t[0])
    return [Hit(int(b), round(float(total), 4), REASONS.get(max(contrib, key=contrib.get),
                                                              "similar"),
                {m: round(float(v), 3) for m, v in contrib.items()})
            for total, b, contrib in scored[:k]]


class _Twice:
    """A space whose neighbour lists name some books twice (an approximate index can): the
    list of an exact index, every third book of it also listed before it at a lower score."""

    def __init__(self, idx):
        self.idx = idx

    def __len__(self):
        return len(self.idx)

    def __contains__(self, book_id):
        return book_id in self.idx

    def neighbours(self, book_id, k):
        s, ids = self.idx.search(self.idx.reconstruct(book_id), min(k, len(self.idx)))
        s, ids = s[0], ids[0]
        again = np.arange(0, len(ids), 3)
        return (np.concatenate([s[again] - 0.5, s]).astype(np.float32),
                np.concatenate([ids[again], ids]))


class _Book:
    def __init__(self, i, tags):
        self.id, self.tags, self.categories = i, tags, []


@pytest.fixture(scope="module")
def spaces():
    rng = np.random.default_rng(3)
    n = 400
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    indexes = {}
    for m, dim, share in (("text", 16, 1.0), ("cover", 8, 0.7), ("fused", 12, 0.9)):
        keep = ids[rng.random(n) < share]           # not every book in every space
        v = rng.normal(size=(len(keep), dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        idx = make_index(dim, len(keep), kind="exact")
        idx.add(keep, v)
        indexes[m] = idx
    vocab = [f"t{j}" for j in range(30)]
    books = [_Book(int(b), list(rng.choice(vocab, size=rng.integers(0, 5), replace=False)))
             for b in ids]
    indexes["tags"] = TagSpace(books)
    indexes["twice"] = _Twice(indexes["text"])
    names = [f"Author {j}" for j in range(60)] + ["AUTHOR 1"]   # case folds together
    authors = {int(b): list(rng.choice(names, size=rng.integers(0, 3), replace=False))
               for b in ids}
    return ids, indexes, authors


@pytest.mark.parametrize("depth", [5, 50, 200])
def test_same_hits_as_the_per_candidate_loop(spaces, depth):
    ids, indexes, authors = spaces
    sim = Similar(indexes, authors, depth=depth)
    rng = np.random.default_rng(depth)
    checked = 0
    for b in rng.choice(ids, 40, replace=False).tolist():
        excl = rng.choice(ids, 5).tolist()
        for k in (3, 10, 100):
            got, want = sim.similar(b, k=k, exclude=excl), reference(sim, b, k=k, exclude=excl)
            assert [(h.book_id, h.score, h.reason, h.details) for h in got] == \
                [(h.book_id, h.score, h.reason, h.details) for h in want]
            checked += bool(want)
    assert checked > 100


def test_authors_only_and_nothing(spaces):
    ids, indexes, authors = spaces
    only_authors = Similar({}, authors)
    b = next(int(x) for x in ids if authors[int(x)])
    got, want = only_authors.similar(b, k=20), reference(only_authors, b, k=20)
    assert [(h.book_id, h.score, h.details) for h in got] == \
        [(h.book_id, h.score, h.details) for h in want]
    assert Similar({}, {}).similar(b) == []


def test_a_book_listed_twice_counts_once_with_its_last_score(spaces, monkeypatch):
    """Without the dedupe a book listed twice would keep its first score, and the lowest
    score (a missing book's) could come from a listing a dict overwrites: the scores then
    differ from the reference."""
    import coverstory.search.similar as similar

    ids, indexes, authors = spaces
    sim = Similar(indexes, authors, depth=200)
    books = ids[:60].tolist()

    def same() -> bool:
        return all([(h.book_id, h.score) for h in sim.similar(b, k=100)]
                   == [(h.book_id, h.score) for h in reference(sim, b, k=100)] for b in books)

    assert same()
    monkeypatch.setattr(similar, "_last_of_each", lambda i, z: (i, z))
    assert not same()
