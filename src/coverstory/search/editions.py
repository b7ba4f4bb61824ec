"""Editions of one work: which catalog records a reader would call the same book.

A catalog merged from several sources holds some works more than once: goodbooks-10k's
"Wild: From Lost to Found on the Pacific Crest Trail" and a shop's "Wild" (Cheryl
Strayed); goodbooks' "1984" and a shop's "Nineteen Eighty-Four" (George Orwell); two
paperbacks of one novel from one shop (the importer never merges two records of one
source). A search shows one record per work, the best-known one; the others are its
``editions``.

Two records are the same work when they share an author (a surname, or a one-word name,
folded) and the same *work title*: lower case, accents and punctuation folded, any
bracketed note ("(The Hunger Games, #1)", "(Penguin Readers, Level 5)"), an edition note
(" - Gryffindor Edition", ": Film Tie-In Edition") and the subtitle after ":" removed, a leading article dropped, spoken numbers written as digits
("nineteen eighty-four" -> "1984"). Records of a work-level source (goodbooks-10k: one
Goodreads *work* per row, its 10,000 ``work_id`` values are distinct) are never two
editions of one work: such a record anchors at most one group. When two records'
subtitles differ (both non-empty), they are only grouped through their full titles, not
their work title ("Batman: Year One" and "Batman: The Killing Joke" stay apart), and a
subtitle that starts with a number ("v. 2", "#14 ...", "Book 3") is part of the work title.

Everything is computed once per catalog load (about 0.3 s for 31k records); a query only
looks rows up.

>>> work_title("Nineteen Eighty-Four (Penguin Modern Classics)")
'1984'
>>> work_title("The Hunger Games (The Hunger Games, #1)")
'hunger games'
>>> sorted(author_keys(["J.R.R. Tolkien", "Christopher Tolkien"]))
['tolkien']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from coverstory.catalog.normalize import fold as _fold_any
from coverstory.search.query import NUMBER_WORDS, digits_for_number_words

#: sources whose every record is a distinct work (goodbooks-10k rows are Goodreads works)
WORK_LEVEL_SOURCES = frozenset({"goodbooks"})

_BRACKETS = re.compile(r"\s*[\(\[][^()\[\]]*[\)\]]")
_ARTICLE = re.compile(r"^(?:the|a|an) ")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_EDITION_NOTE = re.compile("\\s+[-\u2013\u2014]\\s+[^-\u2013\u2014:]*\\bedition\\s*$", re.IGNORECASE)
_VOLUME = re.compile(r"^(?:(?:v|vol|volume|book|part|no|number|issue|tome)\s+)?\d")


def fold(text: str) -> str:
    """``catalog.normalize.fold`` (lower case, accents and punctuation folded), with a fast
    path for plain ASCII."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    return _fold_any(text)


def _digits(folded: str) -> str:
    """Spoken numbers as digits, only when the text has a number word (most titles do not)."""
    if NUMBER_WORDS.isdisjoint(folded.split()):
        return folded
    return digits_for_number_words(folded)


def _titles(title: str) -> tuple[str, str]:
    """(work title, subtitle) of a record's title, both folded; see the module docstring."""
    t = title or ""
    for _ in range(3):                               # nested or several notes
        t2 = _BRACKETS.sub("", t)
        if t2 == t:
            break
        t = t2
    t = _EDITION_NOTE.sub("", t)
    main, sub = (re.split(r":|, or ", t, maxsplit=1) + [""])[:2]
    main = _ARTICLE.sub("", _digits(fold(main))).strip()
    sub = _digits(fold(sub))
    if sub.endswith(" edition") or sub == "edition":      # ": Film Tie-In Edition"
        sub = ""
    if _VOLUME.match(sub):                  # "Workout: v. 2", "Thea Stilton: #14 ...": a volume
        return f"{main} {sub}".strip(), ""
    return main, sub


def work_title(title: str) -> str:
    """The title two editions of one work share (see the module docstring)."""
    return _titles(title)[0]


def author_keys(authors: Sequence[str]) -> set[str]:
    """The folded surnames of a record's authors (the last word of each name; one-letter
    initials ignored), e.g. {"strayed"} for ["Cheryl Strayed"] or ["Strayed", "Cheryl"]."""
    out = set()
    for a in authors or ():
        words = [w for w in fold(a).split() if len(w) > 1]
        if words:
            out.add(words[-1])
    return out


class Editions:
    """Groups of catalog rows that are one work, and each group's representative.

    ``group[row]``: the group's id (the smallest row of the group); ``members(row)``: the
    rows of its work, the most rated first; ``representative(row)``: the record a result
    list shows for the work ``row`` belongs to.
    """

    def __init__(self, books: Sequence, popularity: np.ndarray | None = None):
        n = len(books)
        self.popularity = (np.asarray(popularity, np.float64) if popularity is not None
                           else np.asarray([b.ratings_count or 0 for b in books], np.float64))
        parent = list(range(n))
        anchored = [any(s.split(":", 1)[0] in WORK_LEVEL_SOURCES
                        for s in (getattr(b, "sources", None) or ())) for b in books]

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def union(i: int, j: int) -> None:
            a, b = find(i), find(j)
            if a == b or (anchored[a] and anchored[b]):
                return                               # two works of a work-level source
            if b < a:
                a, b = b, a
            parent[b] = a
            anchored[a] = anchored[a] or anchored[b]

        works, subs, surnames = [], [], []
        for b in books:
            w, s = _titles(b.title)
            works.append(w)
            subs.append(s)
            surnames.append(author_keys(b.authors))
        # the full title first (subtitle kept), then the work title where the subtitles
        # agree: an unsubtitled record joins a subtitled one only when it is unambiguous
        full: dict[tuple[str, str, str], list[int]] = {}
        short: dict[tuple[str, str], list[int]] = {}
        for i in range(n):
            if not works[i]:
                continue
            for a in surnames[i]:
                full.setdefault((works[i], subs[i], a), []).append(i)
                short.setdefault((works[i], a), []).append(i)
        for rows in full.values():
            for j in rows[1:]:
                union(rows[0], j)
        for rows in short.values():
            if len(rows) < 2:
                continue
            distinct = {subs[i] for i in rows if subs[i]}
            if len(distinct) > 1:
                continue                              # "X: A" and "X: B": not by the short title
            if sum(1 for r in {find(i) for i in rows} if anchored[r]) > 1:
                continue                              # which of two works "X" is, unknown
            for j in rows[1:]:
                union(rows[0], j)
        self.group = np.asarray([find(i) for i in range(n)], np.int64)
        self.subtitles = subs
        self._members: dict[int, list[int]] = {}
        for i in np.flatnonzero(np.bincount(self.group, minlength=n)[self.group] > 1).tolist():
            self._members.setdefault(int(self.group[i]), []).append(i)
        for rows in self._members.values():
            rows.sort(key=lambda r: (-self.popularity[r], r))

    def __len__(self) -> int:
        """How many works have more than one record."""
        return len(self._members)

    def members(self, row: int) -> list[int]:
        """Every row of ``row``'s work, the most rated first (``[row]`` when alone)."""
        return self._members.get(int(self.group[row]), [int(row)])

    @staticmethod
    def typed(query: str) -> str:
        """A query folded as titles are, for ``representative``."""
        return f" {_digits(fold(query or ''))} "

    def representative(self, row: int, typed: str = "") -> int:
        """The record shown for ``row``'s work: the most rated; on a tie, ``row`` itself;
        ``row`` itself too when the query (``typed(query)``) holds a subtitle only ``row``
        has (the reader named that edition: "visible learning feedback")."""
        rows = self.members(row)
        best = rows[0]
        if self.popularity[row] >= self.popularity[best]:
            return int(row)
        sub = self.subtitles[row]
        if sub and sub != self.subtitles[best] and f" {sub} " in typed:
            return int(row)
        return best


def collapse(rk, editions: Editions, ids: np.ndarray):
    """A ranking (``search.text.Ranked``) with one place per work: the first (best scored)
    record of each work keeps its place, score and features, and the place shows the
    work's representative (the record an ISBN or a typed subtitle names stays itself);
    ``matched`` keeps the record that earned the place, ``editions`` the book ids of the
    work's other records, which leave the ranking."""
    from dataclasses import replace

    from coverstory.search.ranker import CANDIDATE_FEATURES

    if not len(editions) or not len(rk.rows):
        return rk
    isbn_col = CANDIDATE_FEATURES.index("isbn")
    typed = editions.typed(rk.query.text)
    keep, shown, others = [], [], []
    seen: set[int] = set()
    for j, (row, g) in enumerate(zip(rk.rows.tolist(), editions.group[rk.rows].tolist())):
        if g in seen:
            continue
        seen.add(g)
        keep.append(j)
        if g not in editions._members:               # a work with one record
            shown.append(row)
            others.append([])
            continue
        rep = row if rk.features[j, isbn_col] > 0 else editions.representative(row, typed)
        shown.append(rep)
        others.append([int(ids[r]) for r in editions.members(row) if r != rep])
    keep_a = np.asarray(keep, np.int64)
    return replace(rk, rows=np.asarray(shown, np.int64), scores=rk.scores[keep_a],
                   features=rk.features[keep_a], matched=rk.rows[keep_a], editions=others)
