"""Auditing simulated conversations for leaks of the target's identity or the bot's vocabulary.

Used by the tests and by ``coverstory bench dialogue`` on every conversation it runs; the
reader (``coverstory.benchmarks.simulator``) never sees any of this. A reader line leaks when it
contains
- a word of the target's title (not a stop word), or of its author's name (3+ letters);
- one of the target's *rare* shelf tags (on at most 1 % of the catalog's books) verbatim,
  unless every word of it was in the bot's previous message (an echoed option: "children
  and young adult" answering "children, young adult or adult?");
and the description words the reader uses are compared with the description's other words by
IDF (computed here over the catalog's descriptions): the mean IDF rank percentile of the used
words (0 = the rarest word of that description) against a random draw of as many words and
against the top-IDF choice a leaky reader would make.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter

STOPWORDS = frozenset("""a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him himself his how i
if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself
yourselves one two three""".split())

RARE_SHARE = 0.01
_TOK = re.compile(r"[a-z]+")


def tokens(text: str) -> list[str]:
    from coverstory.catalog.normalize import fold

    return _TOK.findall(fold(text or "").replace("'", ""))


def _alnum(text: str) -> str:
    from coverstory.catalog.normalize import fold

    return " " + " ".join(re.findall(r"[a-z0-9]+", fold(text or "").replace("'", ""))) + " "


def title_words(book) -> set[str]:
    return {w for w in tokens(book.title) if w not in STOPWORDS and len(w) >= 2}


def author_words(book) -> set[str]:
    return {w for a in book.authors for w in tokens(a) if w not in STOPWORDS and len(w) >= 3}


class Audit:
    """Leak checks over conversations (see the module docstring)."""

    def __init__(self, tag_df: dict[str, int], n_books: int, descriptions, own_words=(),
                 seed: int = 0):
        self.rare_limit = max(1, int(RARE_SHARE * n_books))
        self.tag_df = tag_df
        df: Counter = Counter()
        n = 0
        for d in descriptions:
            if d:
                n += 1
                df.update(set(tokens(d)))
        self.idf = {w: math.log((n + 1) / (c + 1)) + 1 for w, c in df.items()}
        self.own = frozenset(own_words)
        self.rng = random.Random(seed)
        self.leaks: list[dict] = []
        self.used_pct: list[float] = []
        self.random_pct: list[float] = []
        self.top_pct: list[float] = []
        self.conversations = 0
        self.lines = 0

    def rare_tags(self, book) -> set[str]:
        return {t for t in book.tags if self.tag_df.get(t, 0) <= self.rare_limit}

    def check(self, book, lines: list[dict]) -> list[dict]:
        """Audit one conversation: lines as written by ``simulate`` (reader text, then the
        bot's reply to it). Returns the leaks found (also accumulated)."""
        self.conversations += 1
        banned_title, banned_author = title_words(book), author_words(book)
        rare = {t: _alnum(t.replace("-", " ")) for t in self.rare_tags(book)}
        desc = [w for w in dict.fromkeys(tokens(book.description or ""))
                if len(w) >= 4 and w not in STOPWORDS]
        order = sorted(desc, key=lambda w: -self.idf.get(w, 0.0))
        pct = {w: i / max(len(order) - 1, 1) for i, w in enumerate(order)}
        found = []
        used: set[str] = set()
        for i, line in enumerate(lines):
            said = line.get("reader") or ""
            self.lines += 1
            prev = lines[i - 1] if i else {}
            bot = " ".join([prev.get("bot") or "", prev.get("question") or "",
                            " ".join(prev.get("options") or [])])
            bot_toks = set(tokens(bot))
            bot_low = _alnum(bot)
            toks = tokens(said)
            low = _alnum(said)
            for w in toks:
                if w in banned_title:
                    found.append({"kind": "title word", "word": w, "line": said})
                elif w in banned_author:
                    found.append({"kind": "author name", "word": w, "line": said})
            for t, phrase in rare.items():
                echoed = {w for w in phrase.split() if w not in STOPWORDS} <= set(bot_low.split())
                if phrase.strip() and phrase in low and not echoed:
                    found.append({"kind": "rare tag", "word": t, "line": said})
            used.update(w for w in toks if w in pct and w not in self.own and w not in bot_toks)
        if used and len(order) > 1:
            k = len(used)
            self.used_pct += [pct[w] for w in used]
            self.random_pct += [pct[w] for w in self.rng.sample(order, k)]
            self.top_pct += [pct[w] for w in order[:k]]
        for f in found:
            f["book_id"] = int(book.id)
        self.leaks += found
        return found

    def summary(self) -> dict:
        def mean(x):
            return sum(x) / len(x) if x else None

        kinds = Counter(f["kind"] for f in self.leaks)
        return {"conversations": self.conversations, "reader_lines": self.lines,
                "leaks": len(self.leaks), "by_kind": dict(kinds),
                "rare_tag_limit_books": self.rare_limit,
                "description_words_used": len(self.used_pct),
                "idf_rank_pct_used": mean(self.used_pct),
                "idf_rank_pct_random": mean(self.random_pct),
                "idf_rank_pct_top_idf": mean(self.top_pct),
                "examples": self.leaks[:10]}


def tag_frequencies(catalog) -> tuple[dict[str, int], int]:
    """(books per shelf tag, number of books with shelf tags) over the whole catalog."""
    df, n = catalog.tag_frequencies("tag")
    return df, int(n)
