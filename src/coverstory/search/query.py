"""What a text query says before any book is scored: "books like X", an ISBN, a series
number, spoken numbers; and the normalised forms the retrievers compare.

The query *type* (known item / description / "like X") is not decided here by rules: the
features computed here feed a classifier learned on the dev queries (``search.ranker``).

>>> like_target("books similar to the da vinci code")
'the da vinci code'
>>> isbn13_of("ISBN 0-670-01821-X")
'9780670018215'
>>> digits_for_number_words("slaughterhouse five")
'slaughterhouse 5'
"""

from __future__ import annotations

import re
import unicodedata

_LIKE = re.compile(
    r"^\s*(?:(?:please\s+)?(?:show\s+me|find(?:\s+me)?|give\s+me|i\s+want|i'?d\s+like|"
    r"recommend(?:\s+me)?|suggest|any|some)\s+)?"
    r"(?:(?:some|any|other|more)\s+)?"
    r"(?:(?:good\s+)?(?:books?|novels?|something|stories|reads?|titles?|series|anything|stuff)\s+)?"
    r"(?:(?:just\s+|a\s+bit\s+|a\s+lot\s+)?(?:like|similar\s+to|along\s+the\s+lines\s+of|"
    r"in\s+the\s+vein\s+of|comparable\s+to|read-?alikes?\s+(?:for|of|to)))\s+(.+?)\s*[?.!]*\s*$",
    re.IGNORECASE)
_LIKED = re.compile(r"^\s*(?:if\s+)?i\s+(?:really\s+)?(?:liked|loved|enjoyed)\s+(.+?)"
                    r"(?:\s*,?\s*what\s+(?:should|can|else).*)?\s*[?.!]*\s*$", re.IGNORECASE)
_ISBN = re.compile(r"(?<![\dX])((?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dX])(?![\dX])", re.IGNORECASE)
_SERIES_NUMBER = re.compile(
    r"\b(?:book|volume|vol|part|number|no|#)\s*\.?\s*(\d{1,2})\b|"
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final)\b"
    r"(?:\s+(?:book|one|novel|volume|part|installment))?", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1, "final": -1}
_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
#: the words ``digits_for_number_words`` reads as numbers
NUMBER_WORDS = frozenset(_UNITS) - {"zero"} | frozenset(_TENS)


def norm_text(s: str) -> str:
    """Lower case, accents removed, punctuation to spaces, spaces collapsed."""
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def like_target(query: str) -> str | None:
    """X of "books like X" / "something similar to X" / "i loved X", else None."""
    for pat in (_LIKE, _LIKED):
        m = pat.match(query or "")
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def isbn13_of(query: str) -> str | None:
    """The ISBN-13 a query consists of (an ISBN-10 is converted), else None.

    The query may say "isbn", "isbn13" or "isbn-10" and group the digits with hyphens or
    spaces; a check digit that does not verify means it is not an ISBN.
    """
    q = re.sub(r"(?i)\bisbn(?:[\s-]?1[03])?\s*:?", " ", query or "").strip()
    m = _ISBN.fullmatch(q) if q else None
    if not m:
        return None
    d = re.sub(r"[\s-]", "", m.group(1)).upper()
    if len(d) == 13 and d.isdigit():
        return d if _check13(d[:12]) == d[12] else None
    if len(d) == 10:
        if not d[:9].isdigit():
            return None
        total = sum((10 - i) * int(c) for i, c in enumerate(d[:9]))
        check = (11 - total % 11) % 11
        if ("X" if check == 10 else str(check)) != d[9]:
            return None
        core = "978" + d[:9]
        return core + _check13(core)
    return None


def _check13(core12: str) -> str:
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core12))
    return str((10 - s % 10) % 10)


def series_number(query: str) -> int | None:
    """The position in a series the query asks for ("book 3", "the second", "the last" = -1)."""
    m = _SERIES_NUMBER.search(query or "")
    if not m:
        tail = re.search(r"\b(\d{1,2})\s*$", norm_text(query))
        return int(tail.group(1)) if tail and int(tail.group(1)) <= 20 else None
    if m.group(1):
        return int(m.group(1))
    return _ORDINALS[m.group(2).lower()]


def digits_for_number_words(text: str) -> str:
    """Spoken numbers as digits: "five" -> 5, "twenty two" -> 22, "nineteen eighty four" -> 1984."""
    words = norm_text(text).split()
    out: list[str] = []
    i = 0
    while i < len(words):
        n, used = _number_at(words, i)
        if used:
            out.append(str(n))
            i += used
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def _number_at(words: list[str], i: int) -> tuple[int, int]:
    """(value, words used) of a spoken number starting at words[i]; a year said as two
    pairs ("nineteen eighty four") gives the four-digit number."""
    first, used = _small_at(words, i)
    if not used:
        return 0, 0
    if 10 <= first <= 20 and used == 1:                # "nineteen eighty four"
        second, used2 = _small_at(words, i + 1)
        if used2 and 10 <= second <= 99:
            return first * 100 + second, 1 + used2
    return first, used


def _small_at(words: list[str], i: int) -> tuple[int, int]:
    if i >= len(words):
        return 0, 0
    w = words[i]
    if w in _TENS:
        if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
            return _TENS[w] + _UNITS[words[i + 1]], 2
        return _TENS[w], 1
    if w in _UNITS and w != "zero":
        return _UNITS[w], 1
    return 0, 0
