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
    """Per book row: its series key and number; per series: rows in reading order."""

    of_row: dict[int, tuple[str, float]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)             # key -> display name
    members: dict[str, list[int]] = field(default_factory=dict)     # key -> rows by number

    @classmethod
    def from_titles(cls, titles, popularity) -> "Series":
        s = cls()
        best: dict[tuple[str, float], int] = {}
        for r, t in enumerate(titles):
            p = parse(t)
            if p is None:
                continue
            k = key(p[0])
            s.names.setdefault(k, p[0])
            s.of_row[r] = (k, p[1])
            cur = best.get((k, p[1]))
            if cur is None or popularity[r] > popularity[cur]:
                best[(k, p[1])] = r             # one edition per number: the most read
        into = _merges({k for k, _ in best}, {k: {n for kk, n in best if kk == k} for k, _ in best})
        if into:           # "(Hitchhiker's Guide, #2)" and "(Hitchhiker's Guide to the Galaxy, #4)"
            s.of_row = {r: (into.get(k, k), n) for r, (k, n) in s.of_row.items()}
            merged: dict[tuple[str, float], int] = {}
            for (k, n), r in best.items():
                kk = (into.get(k, k), n)
                if kk not in merged or popularity[r] > popularity[merged[kk]]:
                    merged[kk] = r
            best = merged
        for (k, num), r in sorted(best.items(), key=lambda x: (x[0][0], x[0][1])):
            s.members.setdefault(k, []).append(r)
        return s

    def position(self, row: int) -> tuple[str, float] | None:
        """(series display name, number) of a book, or None."""
        got = self.of_row.get(row)
        return (self.names[got[0]], got[1]) if got else None

    def _step(self, row: int, step: int) -> int | None:
        got = self.of_row.get(row)
        if got is None:
            return None
        rows = self.members[got[0]]
        nums = [self.of_row[r][1] for r in rows]
        whole = [i for i, n in enumerate(nums) if float(n).is_integer()]   # #2.5 novellas skipped
        later = [i for i in whole if (nums[i] > got[1] if step > 0 else nums[i] < got[1])]
        if not later:
            return None
        return rows[min(later, key=lambda i: nums[i]) if step > 0 else max(later, key=lambda i: nums[i])]

    def next(self, row: int) -> int | None:
        return self._step(row, +1)

    def previous(self, row: int) -> int | None:
        return self._step(row, -1)

    def in_order(self, row_or_key) -> list[int]:
        k = row_or_key if isinstance(row_or_key, str) else self.of_row.get(row_or_key, ("",))[0]
        return [r for r in self.members.get(k, []) if float(self.of_row[r][1]).is_integer()]

    def find(self, text: str) -> str | None:
        """The series a phrase names: exact after folding ("the hunger games series"), else
        the longest series whose name starts with or contains the phrase ("percy jackson")."""
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
        return next((r for r in self.in_order(k) if self.of_row[r][1] == n), None)
