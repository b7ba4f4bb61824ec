"""Finding a named book or author, robust to typos, partial titles, subtitles and "the".

"harry poter and the prisoner of azkban" -> Harry Potter and the Prisoner of Azkaban;
"agatha cristie" -> Agatha Christie. Matching is rapidfuzz over the folded titles (series
suffix dropped) and author names; ties go to the more-read book.
"""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold, norm_title
from coverstory.dialogue.bookindex import BookIndex

TITLE_MIN = 84          # rapidfuzz score (0-100) to say "this is the book you named"
AUTHOR_MIN = 86
_PAREN = re.compile(r"\([^)]*\)")
_MISSING = object()


class Finder:
    """Title and author lookup over one BookIndex (built once per index)."""

    def __init__(self, idx: BookIndex):
        self.idx = idx
        order = np.argsort(-idx.popularity, kind="stable")
        self.keys: list[str] = []           # folded titles (full and short), most read first
        self.rows: list[int] = []
        seen: set[tuple[str, int]] = set()
        for r in order:
            title = idx.titles[r]
            full = fold(_PAREN.sub("", title))
            full = full[4:] if full.startswith("the ") else full
            for key in {full, norm_title(title)}:
                if key and (key, int(r)) not in seen:
                    seen.add((key, int(r)))
                    self.keys.append(key)
                    self.rows.append(int(r))
        names: dict[str, str] = {}
        for a in idx.authors:
            for n in a:
                names.setdefault(fold(n), n)
        self._padded = [f" {k} " for k in self.keys]
        self._heads: dict[int, list[str]] = {}      # query length -> every key's first chars
        self._seen: dict = {}                        # answers already given, by query
        self.author_keys = list(names)
        self.author_names = [names[k] for k in self.author_keys]
        weight: dict[str, float] = {}
        for r, a in enumerate(idx.authors):
            for n in a[:1]:
                weight[n] = weight.get(n, 0.0) + 1.0 + float(idx.popularity[r])
        self.by_surname: dict[str, str] = {}
        for n, w in sorted(weight.items(), key=lambda x: -x[1]):
            parts = fold(n).split()
            if len(parts) >= 2 and len(parts[-1]) >= 4:
                self.by_surname.setdefault(parts[-1], n)
            if len(parts) >= 3 and parts[-1] in ("jr", "sr", "ii", "iii") and len(parts[-2]) >= 4:
                self.by_surname.setdefault(parts[-2], n)
            elif len(parts) >= 3 and len(parts[-2]) >= 2 and len(parts[-1]) >= 3:
                self.by_surname.setdefault(" ".join(parts[-2:]), n)   # "conan doyle", "le guin"

    def titles(self, query: str, limit: int = 5, cutoff: float = 60) -> list[tuple[int, float]]:
        """(row, score 0-100) of the titles closest to a query, best first, one per book
        (remembered: one turn looks the same words up several times)."""
        key = (query, limit, cutoff)
        got = self._seen.get(key)
        if got is None:
            if len(self._seen) > 2048:
                self._seen.clear()
            got = self._seen[key] = self._titles(query, limit, cutoff)
        return list(got)

    def _titles(self, query: str, limit: int, cutoff: float) -> list[tuple[int, float]]:
        from rapidfuzz import fuzz, process

        q = fold(query)
        q = q[4:] if q.startswith("the ") else q
        if len(q) < 3:
            return []
        got = process.extract(q, self.keys, scorer=fuzz.ratio, limit=limit * 4,
                              score_cutoff=cutoff)
        # a short query that is the whole start of a long title ("the name of the wind")
        pre = self._prefixed(q, limit * 2, max(cutoff, 90)) if len(q.split()) >= 2 else []
        if len(q) >= 4 and " " not in q:   # "maus": the first word of a title
            pre = list(pre) + [(k, 92.0, i) for i, k in enumerate(self.keys)
                               if k.startswith(q + " ")]
        if len(q) >= 10 and " " in q:      # "chamber of secrets": a whole part of a title
            inner = f" {q} "
            pre = list(pre) + [(k, 92.0, i) for i, k in enumerate(self._padded)
                               if len(k) > len(q) + 2 and inner in k]
        best: dict[int, float] = {}
        for key, score, i in list(got) + list(pre):
            r = self.rows[i]
            s = float(score) + 2.0 * float(self.idx.popularity[r])     # ties: the more-read one
            if s > best.get(r, -1):
                best[r] = s
        return sorted(best.items(), key=lambda x: -x[1])[:limit]

    def _prefixed(self, q: str, limit: int, cutoff: float) -> list[tuple[str, float, int]]:
        """(key, score, position) of the keys whose start matches the query: rapidfuzz's
        ratio of the query to each key's first len(q) characters (typos in a partial title),
        scaled by 0.9 + 0.1 * len(q) / len(key) so a whole title beats a longer one."""
        from rapidfuzz import fuzz, process

        heads = self._heads.get(len(q))
        if heads is None:
            if len(self._heads) >= 16:
                self._heads.clear()
            heads = self._heads[len(q)] = [k[: len(q)] for k in self.keys]
        out = []
        for _, s, i in process.extract(q, heads, scorer=fuzz.ratio, limit=None,
                                       score_cutoff=cutoff):
            s *= 0.9 + 0.1 * min(1.0, len(q) / max(len(self.keys[i]), 1))
            if s >= cutoff:
                out.append((self.keys[i], s, i))
        return sorted(out, key=lambda x: -x[1])[:limit]

    def title(self, query: str) -> tuple[int, float] | None:
        got = self.titles(query, limit=1, cutoff=TITLE_MIN)
        return got[0] if got else None

    def title_of(self, query: str, author: str, cutoff: float = 80) -> int | None:
        """The row of the author's book whose title is closest to the query (or None)."""
        from rapidfuzz import fuzz, process

        q = fold(query)
        q = q[4:] if q.startswith("the ") else q
        if len(q) < 2:
            return None
        mine = [i for i, r in enumerate(self.rows) if author in self.idx.authors[r]]
        got = process.extractOne(q, [self.keys[i] for i in mine], scorer=fuzz.ratio,
                                 score_cutoff=cutoff)
        if got is None:
            got = process.extractOne(q, [self.keys[i] for i in mine], scorer=_prefix_score,
                                     score_cutoff=max(cutoff, 90))
        return self.rows[mine[got[2]]] if got else None

    def author(self, query: str) -> str | None:
        key = ("author", query)
        got = self._seen.get(key, _MISSING)
        if got is not _MISSING:
            return got
        if len(self._seen) > 2048:
            self._seen.clear()
        got = self._seen[key] = self._author(query)
        return got

    def _author(self, query: str) -> str | None:
        from rapidfuzz import fuzz, process

        q = fold(query)
        if len(q) < 4:
            return None
        got = process.extractOne(q, self.author_keys, scorer=fuzz.ratio, score_cutoff=AUTHOR_MIN)
        if got:
            return self.author_names[got[2]]
        if q.count(" ") == 1 and q in self.by_surname:    # a two-word surname
            return self.by_surname[q]
        if " " not in q:                                   # a surname: the most-read author
            if q in self.by_surname:
                return self.by_surname[q]
            got = process.extractOne(q, list(self.by_surname), scorer=fuzz.ratio,
                                     score_cutoff=AUTHOR_MIN)          # "dostoevsky"
            return self.by_surname[got[0]] if got and len(q) >= 6 else None
        return None


def _prefix_score(q: str, key: str, **_) -> float:
    """100 when the key starts with the whole query (word-aligned), else its ratio to the
    key's first len(q) characters (typos in a partial title)."""
    from rapidfuzz import fuzz

    if not key:
        return 0.0
    head = key[: len(q)]
    s = fuzz.ratio(q, head)
    if key.startswith(q) and (len(key) == len(q) or key[len(q)] == " "):
        s = 100.0
    return s * (0.9 + 0.1 * min(1.0, len(q) / max(len(key), 1)))


_FINDERS: dict[int, Finder] = {}


def finder(idx: BookIndex) -> Finder:
    f = _FINDERS.get(id(idx))
    if f is None or f.idx is not idx:
        _FINDERS.clear()
        f = _FINDERS[id(idx)] = Finder(idx)
    return f
