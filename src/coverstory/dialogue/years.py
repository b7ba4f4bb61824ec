"""The years an utterance asks for: "after 2010", "from the 80s", "19th century", "victorian"."""

from __future__ import annotations

import re

from coverstory.catalog.normalize import fold

_YEAR = re.compile(r"\b(before|after|since|from|in|pre|post|older than|newer than)?\s*(?:the\s+)?"
                   r"(1[5-9]\d\d|20[0-3]\d|[2-9]0)('?s)?\b")


_CORRECTION = re.compile(r"\b(?:no|nope|sorry|actually|i mean|i meant|or rather|make that|wait)\b")
_SPAN = re.compile(r"\b(1[5-9]\d\d|20[0-3]\d)(?:\s*(?:to|and|until|till|through|thru|-|–)\s*|\s+)"
                   r"(1[5-9]\d\d|20[0-3]\d)\b")
_NEGATED = re.compile(r"\b(?:nothing|not|no|none|never|avoid|without)\b(?!.*\b(?:but|and)\b)")
_DECADES = ("twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties",
            "nineties")
_DECADE_WORD = re.compile(r"\b(" + "|".join(_DECADES) + r")\b")
_AROUND = re.compile(r"\b(?:around|about|circa|roughly|approximately)\s+(1[5-9]\d\d|20[0-3]\d)\b")
_CENTURY_WORDS = ("fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth")
_CENTURY = re.compile(r"\b(?:(1[5-9]|20|21)(?:st|nd|rd|th)|(" + "|".join(_CENTURY_WORDS) +
                      r"))[ -]cent(?:ury|uries|ruy|rury|ery|uary)\b")
_HUNDRED_WORDS = ("fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_HUNDREDS = re.compile(r"\b(" + "|".join(_HUNDRED_WORDS) + r") hundreds\b")   # "the eighteen hundreds"
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_DECADE_SAID = re.compile(r"\bnineteen[ -](" + "|".join(_TENS) + r")(?:[ -]?(?:something|ish|odd)|ies)\b")


_ERA_WORDS = (                 # when a book was written, for era names readers use
    (r"victorian", (1837, 1902)), (r"edwardian", (1901, 1915)),
    (r"pre-? ?war", (-3000, 1939)), (r"cold war", (1947, 1992)),
    (r"post-? ?war", (1945, 1970)), (r"regency", (1800, 1840)))


def years_range(text: str) -> tuple[int, int] | None:
    """'after 2010' -> (2010, 3000); 'from the 80s' -> (1980, 1990); 'before 1950' -> (-3000,
    1950); '19th century' -> (1800, 1900)."""
    f = fold(text)
    for fix in reversed(list(_CORRECTION.finditer(f))):   # "sci-fi from the 70s... no, the 50s"
        before, after = f[:fix.start()], f[fix.end():]
        if before.strip() and years_range(before) is not None:
            got = years_range(after)
            if got is not None:
                return got
    m = _SPAN.search(f)
    if m and int(m.group(1)) < int(m.group(2)):             # "so 1919 to 1938", "1950-1970"
        return (int(m.group(1)), int(m.group(2)) + 1)
    for pat, span in _ERA_WORDS:                           # "proper victorian novels"
        if re.search(pat, f) and not re.search(r"\bset (?:in|during) (?:the )?" + pat, f):
            return span
    m = re.search(r"\b(1[5-9]\d\d|20[0-3]\d) ?(?:onwards?|or later|and later|and after|"
                  r"or newer|plus|\+)|\b(?:from|since) (1[5-9]\d\d|20[0-3]\d) on\b(?! \w)", f)
    if m:                                                  # "2000 onwards", "from 2000 on"
        return (int(m.group(1) or m.group(2)), 3000)
    if re.search(r"\bthis century\b|\b21st century\b", fold(text)):
        return (2000, 3000)
    if re.search(r"\blast century\b", fold(text)):
        return (1900, 2000)
    h = _HUNDREDS.search(f)
    if h:                                                  # "the eighteen hundreds"
        lo = 100 * (_HUNDRED_WORDS.index(h.group(1)) + 15)
        return (lo, lo + 100)
    c = _CENTURY.search(fold(text))
    if c and re.search(r"\b(?:about|set (?:in|during)|during) (?:the )?$", f[:c.start()]) and \
            re.search(r"\b(?:published|written|came out|out) (?:after|since|before)\b", f):
        c = None                         # "about the 20th century, and published after 2000"
    if c:
        n = int(c.group(1)) if c.group(1) else _CENTURY_WORDS.index(c.group(2)) + 15
        return (100 * (n - 1), 100 * n)
    d = _DECADE_SAID.search(f)
    if d:                                                  # "nineteen thirty-something"
        lo = 1900 + 10 * (_TENS.index(d.group(1)) + 2)
        return (lo, lo + 10)
    w = _DECADE_WORD.search(fold(text))
    if w:                                                  # "from the seventies"
        lo = 1900 + 10 * _DECADES.index(w.group(1)) + 20
        return (lo, lo + 10)
    a = _AROUND.search(fold(text))
    if a:                                                  # "from around 1979"
        y = int(a.group(1))
        return (y - 5, y + 6)
    m = _YEAR.search(fold(text).replace("'", ""))
    if not m:
        return None
    word, num, decade = m.group(1), m.group(2), m.group(3)
    y = int(num)
    if y < 100:
        y = 1900 + y
        decade = "s"
    lo, hi = (y, y + 10) if decade else (y, y + 1)
    if decade and y % 100 == 0 and y < 2000:
        hi = y + 100                                       # "the 1800s": the century
    before = True if word in ("before", "pre", "older than") else \
        False if word in ("after", "since", "post", "newer than") else None
    if before is not None and _NEGATED.search(" ".join(f[:m.start()].split()[-5:])):
        before = not before     # "nothing from before 1980": 1980 on; "nothing after 2000"
        if before:
            return (-3000, hi)
        return (lo, 3000)
    if before:
        return (-3000, lo)
    if before is False:
        return (lo, 3000)
    if not decade and word not in ("in",):
        return None                           # "from 2000" alone: not a range we trust
    return (lo, hi)
