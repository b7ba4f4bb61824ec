"""The checks of the conversation suite (``coverstory bench conversations``): the check
vocabulary, normalised title/author/tag matching, and the evaluation of one turn's checks
from what the reply showed (a piece of benchmarks/conversations.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coverstory.catalog.normalize import fold as _fold

# check type -> (argument kind, is a constraint on every shown book)
CHECKS: dict[str, tuple[str, bool]] = {
    "books_min": ("count", False),
    "books_max": ("count", False),
    "all_by": ("name", True),
    "none_by": ("name", True),
    "all_tags_any": ("tags", True),
    "none_tags_any": ("tags", True),
    "year_min": ("year", True),
    "year_max": ("year", True),
    "pages_min": ("pages", True),
    "pages_max": ("pages", True),
    "not_shown_before": ("true", True),
    "none_title_word": ("word", True),
    "none_title": ("titles", True),
    "first_title": ("titles", False),
    "any_title": ("titles", False),
    "text_mentions": ("phrases", False),
    "text_mentions_book": ("ordinal_or_title", False),
    "text_mentions_author": ("ordinal", False),
    "no_feedback": ("true", False),
    "feedback": ("feedback", False),
}
CONSTRAINTS = tuple(k for k, (_, c) in CHECKS.items() if c)

VOCABULARY = """\
## The check vocabulary

A conversation is one JSON line: `{"id": slug, "tags": [what it exercises], "turns": [...]}`;
a turn is `{"say": "...", "checks": [...]}` or a button press
`{"feedback": {"ordinal": N, "kind": "like|dislike|read"}, "checks": [...]}` on "the N-th
book": the N-th book of the most recent earlier reply that showed at least N books (so an
explanation that shows one card does not renumber the list under discussion). Each check is a one-key object
`{"type": argument}`; a turn may have none (a setup turn). "Shown books" are the reply's
`books`. Titles are compared normalised: lower case, accents and punctuation folded, a
leading "the/a/an" and any "(Series, #N)" part dropped. Names are matched as whole words of
the folded author list (`"Le Guin"` matches "Ursula K. Le Guin"). A tag list may name a
frozen set of goodbooks shelf tags as `"@name"` (benchmarks/data/conversation_tag_groups.json:
inclusion sets are generous, `*_core` sets, used for exclusions, are narrow); a book's tags
are its shelf tags plus its shop categories, folded to `lower-case-with-dashes`.

| check | argument | passes when |
|---|---|---|
| `books_min` / `books_max` | N | the reply shows at least / at most N books |
| `all_by` / `none_by` * | name | every shown book's authors contain / do not contain the name |
| `all_tags_any` / `none_tags_any` * | [tags or @sets] | every shown book has at least one / none of the tags |
| `year_min` / `year_max` * | year | every shown book with a known year has year >= / <= it (unknown: skipped, counted) |
| `pages_min` / `pages_max` * | pages | every shown book with a known page count has >= / <= (unknown: skipped, counted) |
| `not_shown_before` * | true | no shown book was shown earlier in the conversation |
| `none_title_word` * | word | no shown title contains the word (e.g. "dad" in "a gift for my dad") |
| `none_title` * | title or [titles] | no shown book has that title (e.g. the anchor of "like X") |
| `first_title` | title or [alternatives] | the first shown book has (one of) the title(s) |
| `any_title` | title or [alternatives] | some shown book has (one of) the title(s) |
| `text_mentions` | [alternatives] | the reply text contains one of them (folded, whole words) |
| `text_mentions_book` | N or title | the reply text names that book (N: "the N-th book", as for buttons) |
| `text_mentions_author` | N | the reply text contains the surname of that book's first author |
| `no_feedback` | true | nothing recorded this turn: no new or changed rating and no like/dislike/read event for the session or its user `session:<id>` |
| `feedback` | kind or {"kind", "ordinal"} | a like/dislike/read event of that kind was recorded this turn (or, for like/dislike, a rating >= 4 / <= 2), on the N-th book if an ordinal is given |

\\* constraint checks: on every turn that has any, the report also gives the share of shown
books satisfying all of them (books whose year or page count is unknown count as satisfying
that check and are counted separately). Every turn with a constraint check other than
`not_shown_before` also has `books_min` >= 1, so an empty reply cannot pass a constraint.
"""


# ---------------------------------------------------------------------- normalised matching
def fold(text: str) -> str:
    return _fold(text or "")


def title_key(title: str) -> str:
    """'The Hunger Games (The Hunger Games, #1)' -> 'hunger games' (subtitles kept)."""
    t = fold(re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", " ", (title or "").replace("&", " and ")))
    return re.sub(r"^(the|a|an) ", "", t)


def short_title(title: str) -> str:
    """The title as a reply would name it: no series part, no subtitle, no leading article."""
    t = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", " ", title or "")
    head = re.split(r":|, or ", t)[0]
    return re.sub(r"^(the|a|an) ", "", fold(head)) or title_key(title)


def _contains(text: str, phrase: str) -> bool:
    p = fold(phrase)
    return bool(p) and f" {p} " in f" {fold(text)} "


def norm_tag(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (tag or "").lower()).strip("-")


@dataclass
class BookFacts:
    """What the checks read about a shown book."""

    id: int | None
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    pages: int | None = None
    tags: set[str] = field(default_factory=set)

    @property
    def folded_authors(self) -> str:
        """' ursula k le guin , ... ': the author list folded once, padded for whole words."""
        got = self.__dict__.get("_folded_authors")
        if got is None:
            got = self.__dict__["_folded_authors"] = f" {fold(' , '.join(self.authors))} "
        return got

    @classmethod
    def from_book(cls, b) -> "BookFacts":
        return cls(id=b.id, title=b.title, authors=list(b.authors), year=b.year, pages=b.pages,
                   tags={norm_tag(t) for t in list(b.tags) + list(b.categories)})

    @classmethod
    def from_card(cls, d: dict) -> "BookFacts":
        authors = d.get("authors") or []
        if isinstance(authors, str):
            authors = [authors]
        return cls(id=d.get("id"), title=d.get("title") or "", authors=list(authors),
                   year=d.get("year"), pages=d.get("pages"),
                   tags={norm_tag(t) for t in d.get("tags") or []})


_EXPANDED: dict[tuple, frozenset] = {}


def expand_tags(arg: list[str], groups: dict[str, list[str]]) -> frozenset:
    key = (id(groups), tuple(arg))
    got = _EXPANDED.get(key)
    if got is None:
        out = set()
        for t in arg:
            if t.startswith("@"):
                out.update(norm_tag(x) for x in groups[t[1:]])
            else:
                out.add(norm_tag(t))
        got = _EXPANDED[key] = frozenset(out)
    return got


def book_check(name: str, arg, b: BookFacts, groups, shown_before: set) -> bool | None:
    """One constraint check on one book: True, False, or None (metadata unknown)."""
    if name in ("all_by", "none_by"):
        hit = f" {fold(arg)} " in b.folded_authors
        return hit if name == "all_by" else not hit
    if name in ("all_tags_any", "none_tags_any"):
        hit = bool(b.tags & expand_tags(arg, groups))
        return hit if name == "all_tags_any" else not hit
    if name in ("year_min", "year_max"):
        if b.year is None:
            return None
        return b.year >= arg if name == "year_min" else b.year <= arg
    if name in ("pages_min", "pages_max"):
        if not b.pages:
            return None
        return b.pages >= arg if name == "pages_min" else b.pages <= arg
    if name == "not_shown_before":
        return b.id not in shown_before
    if name == "none_title_word":
        return fold(arg) not in fold(b.title).split()
    if name == "none_title":
        return title_key(b.title) not in {title_key(t) for t in _alts(arg)}
    raise KeyError(name)


def _alts(arg) -> list[str]:
    return [arg] if isinstance(arg, str) else list(arg)


@dataclass
class TurnRecord:
    """What happened in one turn, as the checks see it."""

    books: list[BookFacts]
    text: str
    earlier_lists: list[list[BookFacts]]      # books of earlier replies that showed any, in order
    shown_before: set                          # ids shown earlier in the conversation
    events: list[dict] = field(default_factory=list)     # new feedback events {kind, book_id}
    ratings: dict = field(default_factory=dict)          # book_id -> new or changed rating
    error: str | None = None

    def referred(self, ordinal: int) -> BookFacts | None:
        return referred(self.earlier_lists, ordinal)


def referred(lists: list[list[BookFacts]], ordinal: int) -> BookFacts | None:
    """'The N-th one': the N-th book of the most recent earlier reply that showed at least N
    books (an explanation that shows one card does not renumber the list being discussed)."""
    for books in reversed(lists):
        if 0 < ordinal <= len(books):
            return books[ordinal - 1]
    return None


@dataclass
class CheckResult:
    name: str
    arg: object
    ok: bool
    detail: str = ""
    unknown: int = 0                 # books skipped for unknown year/pages
    per_book: list | None = None     # constraint checks: True/False/None per shown book


def evaluate(checks: list[dict], rec: TurnRecord, groups) -> list[CheckResult]:
    out = []
    for c in checks:
        (name, arg), = c.items()
        if rec.error is not None:
            out.append(CheckResult(name, arg, False, f"turn failed: {rec.error}"))
            continue
        out.append(_evaluate_one(name, arg, rec, groups))
    return out


def _evaluate_one(name: str, arg, rec: TurnRecord, groups) -> CheckResult:
    books = rec.books
    if name in CONSTRAINTS:
        res = [book_check(name, arg, b, groups, rec.shown_before) for b in books]
        bad = [b.title for b, r in zip(books, res) if r is False]
        return CheckResult(name, arg, not bad, ("fails: " + "; ".join(bad)) if bad else "",
                           unknown=sum(r is None for r in res), per_book=res)
    if name == "books_min":
        return CheckResult(name, arg, len(books) >= arg, f"{len(books)} shown")
    if name == "books_max":
        return CheckResult(name, arg, len(books) <= arg, f"{len(books)} shown")
    if name == "first_title":
        ok = bool(books) and title_key(books[0].title) in {title_key(t) for t in _alts(arg)}
        return CheckResult(name, arg, ok, f"first: {books[0].title}" if books else "no books")
    if name == "any_title":
        keys = {title_key(t) for t in _alts(arg)}
        return CheckResult(name, arg, any(title_key(b.title) in keys for b in books))
    if name == "text_mentions":
        return CheckResult(name, arg, any(_contains(rec.text, a) for a in arg))
    if name == "text_mentions_book":
        if isinstance(arg, str):
            title = arg
        else:
            b = rec.referred(arg)
            if b is None:
                return CheckResult(name, arg, False, f"no book {arg} shown before")
            title = b.title
        return CheckResult(name, arg, _contains(rec.text, short_title(title)),
                           f"expected {short_title(title)!r}")
    if name == "text_mentions_author":
        b = rec.referred(arg)
        if b is None or not b.authors:
            return CheckResult(name, arg, False, f"no book {arg} (with an author) shown before")
        surname = (fold(b.authors[0]).split() or [""])[-1]
        if surname in ("jr", "sr", "ii", "iii") and len(fold(b.authors[0]).split()) > 1:
            surname = fold(b.authors[0]).split()[-2]
        return CheckResult(name, arg, _contains(rec.text, surname), f"expected {surname!r}")
    if name == "no_feedback":
        got = [f"{e['kind']} {e.get('book_id')}" for e in rec.events] + \
              [f"rating {r} on {b}" for b, r in rec.ratings.items()]
        return CheckResult(name, arg, not got, ("recorded: " + ", ".join(got)) if got else "")
    if name == "feedback":
        kind = arg if isinstance(arg, str) else arg["kind"]
        target = None
        if isinstance(arg, dict):
            b = rec.referred(arg["ordinal"])
            if b is None:
                return CheckResult(name, arg, False, f"no book {arg['ordinal']} shown before")
            target = b.id
        hits = [e for e in rec.events if e["kind"] == kind]
        if kind == "like":
            hits += [{"book_id": b} for b, r in rec.ratings.items() if r >= 4]
        elif kind == "dislike":
            hits += [{"book_id": b} for b, r in rec.ratings.items() if r <= 2]
        if target is not None:
            hits = [h for h in hits if h.get("book_id") == target]
        got = [f"{e['kind']} {e.get('book_id')}" for e in rec.events]
        return CheckResult(name, arg, bool(hits), "recorded: " + (", ".join(got) or "nothing"))
    raise KeyError(name)
