"""Series from the catalog's "(Series Name, #N)" titles: first, next, previous, in order.

>>> s = Series.from_titles(["Catching Fire (The Hunger Games, #2)",
...                         "Mockingjay (The Hunger Games, #3)"], popularity=[1.0, 0.9])
>>> s.next(0)
1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coverstory.catalog.normalize import fold

_SERIES = re.compile(r"\(([^()#;]+?),?\s*#(\d+(?:\.\d+)?)(?:[-–]\d+)?(?:;[^()]*)?\)\s*$")  # the first of
# several: "(Harry Bosch, #1; Harry Bosch Universe, #1)", "(Discworld, #24; City Watch, #5)"


def parse(title: str) -> tuple[str, float] | None:
    """'Catching Fire (The Hunger Games, #2)' -> ('The Hunger Games', 2.0)."""
    m = _SERIES.search(title or "")
    if not m:
        return None
    return m.group(1).strip(), float(m.group(2))


_PART = re.compile(r"^\s*([^()#;]+?),?\s*#(\d+(?:\.\d+)?)(?:[-–]\d+)?\s*$")


def parse_all(title: str) -> list[tuple[str, float]]:
    """Every series a title names, the main one first: 'Thud! (Discworld, #34; City Watch #7)'
    -> [('Discworld', 34.0), ('City Watch', 7.0)]."""
    first = parse(title)
    if first is None:
        return []
    inner = re.search(r"\(([^()]*)\)\s*$", title).group(1)
    out = [first]
    for part in inner.split(";")[1:]:
        m = _PART.match(part)
        if m:
            out.append((m.group(1).strip(), float(m.group(2))))
    return out


_RANGE = re.compile(r"#\d+(?:\.\d+)?\s*[-–]\s*\d+")


def _rank(title: str, popularity: float) -> tuple[bool, float]:
    """One volume before a boxed set of several ("The Sword of Shannara Trilogy (Shannara,
    #1-3)"), then the most read."""
    return not _RANGE.search(title or ""), float(popularity)


def key(name: str) -> str:
    k = fold(name)
    return k[4:] if k.startswith("the ") else k


def _merges(keys: set[str], numbers: dict[str, set[float]]) -> dict[str, str]:
    """Series written under a short and a long name: the short key -> the long one, when the
    long name starts with the short one's words and no number is in both."""
    out = {}
    for k in keys:
        longer = [K for K in keys if K.startswith(k + " ") and not K.startswith(k + " s ")
                  and not numbers[K] & numbers[k]]                  # not "fool" / "fool's gold"
        if len(longer) == 1:
            out[k] = longer[0]
    return out


@dataclass
class Series:
    """Per book row: its (main) series key and number, and every series it is in (a book of
    a sub-series: "(Discworld, #30; Tiffany Aching, #1)"); per series: rows in reading order."""

    of_row: dict[int, tuple[str, float]] = field(default_factory=dict)   # the main series
    names: dict[str, str] = field(default_factory=dict)             # key -> display name
    members: dict[str, list[int]] = field(default_factory=dict)     # key -> rows by number
    within: dict[int, dict[str, float]] = field(default_factory=dict)  # row -> {key: number}

    @classmethod
    def from_titles(cls, titles, popularity) -> "Series":
        s = cls()
        best: dict[tuple[str, float], int] = {}
        for r, t in enumerate(titles):
            for i, (name, num) in enumerate(parse_all(t)):
                k = key(name)
                if not k:                       # a name of no Latin letters: "(Ορέστεια, #1-3)"
                    continue
                s.names.setdefault(k, name)
                if i == 0:
                    s.of_row[r] = (k, num)
                s.within.setdefault(r, {}).setdefault(k, num)
                cur = best.get((k, num))
                if cur is None or _rank(titles[r], popularity[r]) > _rank(titles[cur], popularity[cur]):
                    best[(k, num)] = r              # one edition per number: the most read
                    #                                  volume ("(Shannara, #1-3)" only if alone)
        into = _merges({k for k, _ in best}, {k: {n for kk, n in best if kk == k} for k, _ in best})
        if into:           # "(Hitchhiker's Guide, #2)" and "(Hitchhiker's Guide to the Galaxy, #4)"
            s.of_row = {r: (into.get(k, k), n) for r, (k, n) in s.of_row.items()}
            s.within = {r: {into.get(k, k): n for k, n in ks.items()} for r, ks in s.within.items()}
            merged: dict[tuple[str, float], int] = {}
            for (k, n), r in best.items():
                kk = (into.get(k, k), n)
                if kk not in merged or _rank(titles[r], popularity[r]) > \
                        _rank(titles[merged[kk]], popularity[merged[kk]]):
                    merged[kk] = r
            best = merged
        for (k, num), r in sorted(best.items(), key=lambda x: (x[0][0], x[0][1])):
            s.members.setdefault(k, []).append(r)
        return s

    def num(self, row: int, k: str) -> float | None:
        """A book's number in the series ``k`` (None: not in it)."""
        return self.within.get(row, {}).get(k)

    def position(self, row: int, k: str | None = None) -> tuple[str, float] | None:
        """(series display name, number) of a book in its main series or in ``k``, or None."""
        if k is not None and self.num(row, k) is not None:
            return self.names[k], self.num(row, k)
        got = self.of_row.get(row)
        return (self.names[got[0]], got[1]) if got else None

    def _step(self, row: int, step: int, k: str | None = None) -> int | None:
        k = k if k is not None and self.num(row, k) is not None else self.of_row.get(row, (None,))[0]
        if k is None:
            return None
        at = self.num(row, k)
        rows = self.members[k]
        nums = [self.num(r, k) for r in rows]
        whole = [i for i, n in enumerate(nums) if float(n).is_integer()]   # #2.5 novellas skipped
        later = [i for i in whole if (nums[i] > at if step > 0 else nums[i] < at)]
        if not later:
            return None
        return rows[min(later, key=lambda i: nums[i]) if step > 0 else max(later, key=lambda i: nums[i])]

    def next(self, row: int, k: str | None = None) -> int | None:
        return self._step(row, +1, k)

    def previous(self, row: int, k: str | None = None) -> int | None:
        return self._step(row, -1, k)

    def in_order(self, row_or_key) -> list[int]:
        k = row_or_key if isinstance(row_or_key, str) else self.of_row.get(row_or_key, ("",))[0]
        return [r for r in self.members.get(k, []) if float(self.num(r, k)).is_integer()]

    def after_in(self, row: int, k: str) -> int | None:
        """The first book of the sub-series ``k`` after a book of the series that holds it
        that is not itself in ``k``: after Guards! Guards! (Discworld #8), City Watch's
        Men at Arms (Discworld #15; City Watch #2)."""
        main = self.of_row.get(row)
        if main is None:
            return None
        later = [(self.num(r, main[0]), r) for r in self.in_order(k)
                 if (self.num(r, main[0]) or 0) > main[1]]
        return min(later)[1] if later else None

    def find(self, text: str, fuzzy: bool = False) -> str | None:
        """The series a phrase names: exact after folding ("the hunger games series"), else
        the longest series whose name starts with or contains the phrase ("percy jackson");
        ``fuzzy``: else a series of 2+ books spelled nearly so ("vampire acadamy")."""
        whole = key(re.sub(r"\s+", " ", fold(text)).strip())
        if whole in self.members:                       # "a series of unfortunate events"
            return whole
        t = key(re.sub(r"\b(series|books|book|trilogy|saga|novels|please|pls|ones|all|the|comics|"
                       r"comic|graphic novels|manga)\b", " ", fold(text)))
        t = re.sub(r"\s+", " ", t).strip()
        if not t:
            return None
        if t in self.members:
            return t
        if " " not in t and 3 <= len(t) <= 8:           # "acotar", "asoiaf", "lotr"
            short = self._acronyms().get(t)
            if short:
                return short
        hits = [k for k in self.members if len(t) >= 4 and (k.startswith(t + " ") or
                                                               f" {t} " in f" {k} ")]
        if not hits and fuzzy and len(t) >= 5:
            from rapidfuzz import fuzz, process

            many = getattr(self, "_many", None)
            if many is None:                         # computed once: series of 2+ books
                many = self._many = [k for k in self.members if len(self.in_order(k)) >= 2]
            got = process.extractOne(t, many, scorer=fuzz.ratio, score_cutoff=86)
            return got[0] if got else None
        return max(hits, key=lambda k: len(self.in_order(k)), default=None)

    def _acronyms(self) -> dict[str, str]:
        """Initials of every series name of 3+ words (the longest series wins a clash)."""
        got = getattr(self, "_initials", None)
        if got is None:
            got = {}
            for k in sorted(self.members, key=lambda k: len(self.in_order(k))):
                words = re.findall(r"[a-z0-9]+", k)
                if len(words) >= 3:
                    got["".join(w[0] for w in words)] = k
            self._initials = got
        return got

    def number(self, k: str, n: int) -> int | None:
        return next((r for r in self.in_order(k) if self.num(r, k) == n), None)
