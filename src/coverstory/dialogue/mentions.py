"""What a request mentions in passing, read before its slots are applied (a piece of
``update.py``): words and series after a negation, a franchise excluded ("not sherlock
holmes"), a title said with its author ("like Rebecca by du Maurier"), the book a "like X"
names when the slot matcher passed it over ("my son liked holes", "like the foundation
books"), titles the reader has read, kinds of book disliked in passing."""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold
from coverstory.dialogue.bookindex import _STOP, BookIndex
from coverstory.dialogue.lexicon import NEGATIVE, NEGATORS, POSITIVE
from coverstory.dialogue.nlu import Parse, tokens
from coverstory.dialogue.state import SessionState


FILLER = frozenset("""recommend recommendation suggest suggestion want wanted looking look find give
need like love would something anything book books novel novels read reading please thanks
thank could can you me i my some good great nice new title titles story stories kind sort type
set maybe perhaps also really just bit little one ones any tell show get got feel mood
hi hello hey yes no ok okay well so um oh about the a an it its is was that this there where
which what who with without for of to in on at by from and or but not too very more less
into been be are were has have had do does did dont im id ive those these none nothing
exactly idea sure mind fine else other others instead rather prefer something somethings
lot lots kinda thing things stuff pick picks options option them they their again yet still
wrong nope nah neither either try another different same much many few know remember
think guess care matter matters whatever surprise sounds looks seems similar alike vein
spirit style read reads next xxbreakxx actually gift present loves likes enjoys into
year years old aged age pages page written birthday christmas gift present presents
anniversary holiday holidays vacation beach flight trip commute hospital cheer plane train
someone somebody person though anyway fancy after kinda sorta ideally preferably
maybe probably top rated highly best one two three four five six seven eight nine ten
twenty totally completely entirely random club ride journey drive flights trips coming
weekend month week""".split())


SENTIMENT_WORDS = frozenset(w.replace("'", "") for p in (*POSITIVE, *NEGATIVE, *NEGATORS)
                       for w in p.split())


def names_titles_author(idx: BookIndex, p: Parse, s) -> bool:
    """An author slot that only says whose the title before it is: "like Rebecca by (Daphne)
    du Maurier" asks for books like Rebecca, not for du Maurier's books."""
    if s.kind != "author" or s.negated:
        return False
    toks = tokens(p.text)
    for t in p.slots:
        if t.kind == "title" and not t.negated and t.end <= s.start and \
                toks[t.end:s.start][:1] == ["by"] and s.start - t.end <= 3:
            r = idx.row.get(int(t.value))
            return r is not None and s.value in idx.authors[r]
    return False


def disliked_in_passing(p: Parse) -> None:
    """Kinds of book named in a sentence that says they were disliked ("my book club just did
    a psychological thriller and everyone hated it. what next?") are exclusions."""
    from coverstory.dialogue.nlu import sentiment

    toks = tokens(p.text)
    ends = [i for i, t in enumerate(toks) if t == "xxbreakxx"]
    if not ends or ends[-1] == len(toks) - 1 and len(ends) == 1:
        return                                          # one sentence: the usual negation rules
    start = 0
    for end in ends + [len(toks)]:
        if sentiment(toks[start:end]) < -0.2:
            for s in p.slots:
                if start <= s.start < end and s.kind in ("genre", "tag", "mood"):
                    s.negated = True
        start = end + 1


_LIKE_SERIES = re.compile(r"\b(?:like|similar to) (?:the )?([a-z' ]{3,40}?) (?:books|series|novels|"
                          r"saga|trilogy|sequence)\b")


NEGATION_WORDS = frozenset({"not", "no", "without", "nothing", "avoid", "except", "never",
                            "dont", "none", "skip", "isnt", "arent", "wasnt"})


_LOVES_SERIES = re.compile(r"\b(?:loves|loved|liked|likes|enjoyed|enjoys|adored|devoured)\b.*\b(?:"
                           r"next|more|similar|after|else)\b")
_LIKE_WORDS = frozenset("like liked loved enjoyed loves likes enjoys adored devoured".split())


def like_named(idx: BookIndex, p: Parse, st: SessionState) -> tuple[int | None, list[str],
                                                                      str | None]:
    """(anchor book, its words, series key) of "like the foundation books" (a series: its
    first book) or of a title the slot matcher passed over ("my son liked holes")."""
    m = _LIKE_SERIES.search(fold(p.text))
    book = series_start(idx, m.group(1)) if m else None
    if book is not None:
        return book, m.group(1).split(), idx.series.of_row.get(idx.row[book], (None,))[0]
    if not st.anchors and (p.intent == "similar_to" or _LOVES_SERIES.search(fold(p.text))):
        return liked_title(idx, p)          # "my son loves Percy Jackson, what next?"
    return None, [], None


def liked_title(idx: BookIndex, p: Parse) -> tuple[int | None, list[str], str | None]:
    """A book named right after "like" / "liked" that the slot matcher passed over because
    its title is an everyday word ("Holes") or a series name ("Maus"): exact names only."""
    from coverstory.dialogue.lookup import finder
    from coverstory.dialogue.series import key as series_key

    toks = tokens(p.text)
    for i, t in enumerate(toks):
        if t not in _LIKE_WORDS:
            continue
        j = i + 2 if toks[i + 1:i + 2] == ["the"] else i + 1     # "loves the tide saga"
        for n in (4, 3, 2, 1):
            span = toks[j:j + n]
            if len(span) < n or span[0] in FILLER or span[-1] in FILLER or \
                    len(" ".join(span)) < 4 or "xxbreakxx" in span:
                continue
            phrase = " ".join(span)
            first = series_start(idx, phrase)
            if first is not None:
                return first, span, idx.series.of_row.get(idx.row[first], (None,))[0]
            got = finder(idx).title(phrase)
            if got is not None and got[1] >= 100 and \
                    fold(idx.titles[got[0]]).split(" (")[0].removeprefix("the ") == phrase:
                return int(idx.ids[got[0]]), span, None
    return None, [], None


_QUALIFIERS = frozenset("""proper real actual actually full hardcore outright straight pure
typical classic""".split())


def negated_words(idx: BookIndex, p: Parse, used: set[int]) -> list[tuple[int, str, bool]]:
    """Words right after a negation that no slot explains ("not russian ones", "nothing too
    gory"): (token position, word, names a shelf family) — excluded, never searched for."""
    from coverstory.dialogue.bookindex import stem

    parts = idx.__dict__.get("_tag_stems")
    if parts is None:
        parts = idx.__dict__["_tag_stems"] = {stem(w) for n in idx.tag_names for w in n.split("-")}
    toks = tokens(p.text)
    negated = {i for s in p.slots if s.negated for i in range(s.start, s.end)}
    out = []
    for i, t in enumerate(toks):
        if i in used or t in FILLER or t in _STOP or len(t) < 4 or t in SENTIMENT_WORDS:
            continue
        if t in _QUALIFIERS and i + 1 < len(toks) and toks[i + 1] not in FILLER:
            continue                               # "not proper horror": horror, not "proper"
        j = i - 1
        while j >= 0 and toks[j] in ("too", "so", "very", "any", "much", "overly", "a", "an",
                                     "the", "really"):
            j -= 1
        if j >= 0 and toks[j] in NEGATION_WORDS or j >= 1 and toks[j] in ("or", "nor") and (
                j - 1 in negated or j - 1 in {k for k, _, _ in out}):   # "nothing grim or sad"
            out.append((i, t, stem(t) in parts))
            negated.add(i)
    return out


def negated_series(idx: BookIndex, p: Parse, used: set[int]) -> list[tuple[int, int, str]]:
    """A series named right after a negation ("spy novels but not James Bond"):
    (first token, end token, series key)."""
    toks = tokens(p.text)
    out = []
    for i, t in enumerate(toks):
        if t not in NEGATION_WORDS:
            continue
        while i + 1 < len(toks) and toks[i + 1] in ("more", "any", "of", "those", "these"):
            i += 1                                  # "not more wimpy kid books"
        for n in (4, 3, 2, 1):
            span = toks[i + 1:i + 1 + n]
            if n == 1 and span and span[0] in _QUALIFIERS:
                break                               # "not real history": no series "Real"
            if len(span) == n and not used & set(range(i + 1, i + 1 + n)):
                key = idx.series.find(" ".join(span))
                if key is not None and idx.series.find(" ".join(span)) == " ".join(span).removeprefix("the "):
                    out.append((i + 1, i + 1 + n, key))
                    break
    return out


_SKIP_AFTER_NOT = frozenset("more any of those these the another".split())


def negated_franchise(idx: BookIndex, p: Parse,
                      used: set[int]) -> list[tuple[int, int, str, str | None]]:
    """A hero or series named after a negation, as words of several catalog titles ("like
    the hound of the baskervilles, but not sherlock holmes", "not more wimpy kid books"):
    (first token, end token, the phrase, the author of nearly all those books or None)."""
    toks = tokens(p.text)
    out = []
    for i, t in enumerate(toks):
        if t not in NEGATION_WORDS:
            continue
        while i + 1 < len(toks) and toks[i + 1] in _SKIP_AFTER_NOT:
            i += 1
        for n in (3, 2):
            span = toks[i + 1:i + 1 + n]
            if len(span) < n or used & set(range(i + 1, i + 1 + n)) or \
                    any(w in _STOP or w in FILLER for w in (span[0], span[-1])):
                continue
            rows = np.flatnonzero(phrase_mask(idx, " ".join(span)))
            if len(rows) >= 2:
                authors = [idx.authors[r][0] for r in rows if idx.authors[r]]
                top = max(authors, key=authors.count) if authors else None
                share = authors.count(top) / len(rows) if top else 0.0
                out.append((i + 1, i + 1 + n, " ".join(span),
                            top if share >= 0.5 and len(rows) >= 3 else None))
                break
    return out


def phrase_mask(idx: BookIndex, phrase: str) -> np.ndarray:
    """Books whose title (series included) has the phrase as whole words."""
    cache = idx.__dict__.setdefault("_phrase_masks", {})
    m = cache.get(phrase)
    if m is None:
        folded = idx.__dict__.get("_folded_titles")
        if folded is None:
            folded = idx.__dict__["_folded_titles"] = [" " + " ".join(tokens(t)) + " "
                                                       for t in idx.titles]
        m = cache[phrase] = np.array([f" {phrase} " in t for t in folded], bool)
    return m


def series_start(idx: BookIndex, phrase: str) -> int | None:
    """The first book of the series a phrase names ("harry potter"), else None."""
    from coverstory.dialogue.series import key as series_key

    key = idx.series.find(phrase) if len(phrase) >= 4 else None
    said = series_key(phrase)
    if key is not None and key != said and not (     # "alchemist" is no series name; "percy
            len(said.split()) >= 2 and key.startswith(said + " ")):   # jackson" names one
        key = None
    rows = idx.series.in_order(key) if key else []
    return int(idx.ids[rows[0]]) if rows else None


_READ_VERBS = frozenset("read finished reread got own owns have has seen done".split())


def already_read(toks: list[str], s, read_before: set[int]) -> bool:
    """A title said as one the reader has read: "I've read the nightingale", "she's read
    black beauty and war horse" (the second title follows the first after "and")."""
    i = s.start - 1
    while i >= 0 and toks[i] in ("the", "a", "already", "just", "all", "both"):
        i -= 1
    if i < 0:
        return False
    return toks[i] in _READ_VERBS or (toks[i] in ("and", "or") and i in read_before)
