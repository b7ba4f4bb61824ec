"""The slots of one utterance, matched against what the catalog knows.

Facet values from the lexicon, the catalog's own tags (themes), its authors and titles
(exact phrases, then fuzzy with rapidfuzz after words such as "like" or "called"),
references to the books just shown ("the second one", "it"); a negation cue before a slot
turns it into an exclusion ("no romance", "nothing too dark"). ``nlu.py`` puts them
together with the intent, the sentiment and the years (``years.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from coverstory.catalog.normalize import fold, norm_title
from coverstory.dialogue.bookindex import BookIndex, facet_alias
from coverstory.dialogue.lexicon import EVERYDAY_WORDS, FACETS, NEGATORS, REFINE, SCOPE_BREAK
from coverstory.dialogue.said import NEWCOMER_VERBS, fix_ordinals, newcomer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
            "4th": 3, "fifth": 4, "5th": 4, "last": -1, "latter": -1, "former": 0}
NUMBER_REF = {"one": 0, "two": 1, "three": 2, "four": 3, "five": 4, "1": 0, "2": 1, "3": 2,
              "4": 3, "5": 4}
TITLE_TRIGGERS = ("like", "liked", "loved", "love", "read", "called", "titled", "enjoyed",
                  "to", "than", "hated", "finished", "reread", "wrote")
COMMON_TITLE = 0.5       # a one-word title that is an everyday word ("Road", "It")
PRIORITY = {"title": 5, "author": 4, "refine": 3, "facet": 2, "tag": 1}


@dataclass
class Slot:
    kind: str              # facet name, "tag", "author", "title", "refine", "ref"
    value: str | int       # canonical value / author name / book id / list index
    negated: bool = False
    start: int = 0         # token span in the utterance
    end: int = 0
    surface: str = ""
    score: float = 1.0


class SlotMatcher:
    """Finds slots in text using a BookIndex's vocabulary (tags, authors, titles)."""

    def __init__(self, index: BookIndex):
        self.index = index
        phrases: dict[tuple[str, ...], list[tuple[str, str | int, float]]] = {}

        def add(surface: str, kind: str, value, score: float = 1.0) -> None:
            toks = tuple(_WORD.findall(fold(surface)))
            if toks:
                phrases.setdefault(toks, []).append((kind, value, score))

        for facet in FACETS.values():
            for v in facet.values:
                for s in (v.name, *v.say):
                    add(s, facet.name, v.name)
                    if " " in s and not s.endswith("s"):
                        add(s + "s", facet.name, v.name)      # "young adults"
        for phrase, (facet, value) in REFINE.items():
            add(phrase, "refine", f"{facet}:{value}")
        # themes: the catalog's tags, as words; singular and plural both
        for t in index.tag_names:
            words = t.replace("-", " ")
            alias = facet_alias(t)
            if alias:                      # "fantasy books" says the genre, not a theme
                add(words, alias[0], alias[1])
                continue
            add(words, "tag", t, 0.9)
            if words.endswith("s") and len(words) > 4:
                add(words[:-1], "tag", t, 0.85)      # variants lose to an exact tag
            elif not words.endswith("s"):
                add(words + "s", "tag", t, 0.85)
        # authors: full names (any book), surnames that are rare enough to be safe
        surname_count: dict[str, set[str]] = {}
        weight: dict[str, float] = {}
        self.known_surnames: set[str] = set()
        first_names = {_WORD.findall(fold(a))[0] for names in index.authors for a in names
                       if len(_WORD.findall(fold(a))) >= 2}
        for r, names in enumerate(index.authors):
            for k, a in enumerate(names):
                add(a, "author", a, 1.0)
                parts = _WORD.findall(fold(a))
                for alias in _initials(parts):           # "george rr martin", "jrr tolkien"
                    add(alias, "author", a, 0.95)
                if len(parts) >= 2:
                    surname_count.setdefault(parts[-1], set()).add(a)
                if len(parts) >= 3 and len(parts[-2]) >= 2 and len(parts[-1]) >= 3:
                    add(" ".join(parts[-2:]), "author", a, 0.9)   # "conan doyle", "le guin"
                if k == 0:
                    weight[a] = weight.get(a, 0.0) + 1.0 + float(index.popularity[r])
        common = _common_words()
        for sur, full in surname_count.items():
            if len(sur) < 5 or sur in common:
                continue
            ranked = sorted(full, key=lambda a: -weight.get(a, 0.0))
            if len(ranked) == 1 or weight.get(ranked[0], 0.0) >= 3 * weight.get(ranked[1], 0.0):
                add(sur, "author", ranked[0], 0.8)    # "chandler": Raymond, by far the most read
                if weight.get(ranked[0], 0.0) >= 5 and sur not in first_names:
                    self.known_surnames.add(sur)
        # a surname read as the author with no "by" around it ("a shorter steinbeck", "a
        # shakespeare comedy"): an author with 5+ books whose name is rarely in others' titles
        in_titles: dict[str, int] = {}
        for r, t in enumerate(index.titles):
            mine = {_WORD.findall(fold(a))[-1] for a in index.authors[r] if _WORD.findall(fold(a))}
            for w in set(_WORD.findall(fold(t))) & self.known_surnames - mine:
                in_titles[w] = in_titles.get(w, 0) + 1
        self.known_surnames = {w for w in self.known_surnames if in_titles.get(w, 0) <= 4}
        # titles: the normalised title (series and subtitle dropped), 2+ words or rare words
        self.title_ids: dict[str, list[int]] = {}
        order = np.argsort(-index.popularity)
        for i in order:
            nt = norm_title(index.titles[i])
            if not nt:
                continue
            self.title_ids.setdefault(nt, []).append(int(index.ids[i]))
        known = phrases_keys(phrases)
        for nt, ids in self.title_ids.items():
            toks = nt.split()
            if len(toks) >= 2 or (len(toks) == 1 and len(nt) >= 4 and nt not in common
                                  and nt not in known):
                add(nt, "title", ids[0], 1.0 if len(toks) >= 2 else 0.7)
                if " and " in f" {nt} " and len(toks) >= 3:     # "calvin & hobbes": "&" is
                    add(re.sub(r"\band\b", " ", nt), "title", ids[0], 1.0)   # no word
            elif len(toks) == 1 and len(nt) >= 4:
                add(nt, "title", ids[0], COMMON_TITLE)     # "The Road": only when capitalised
        self.phrases = phrases
        self.max_len = max(len(k) for k in phrases)
        self._title_choices = list(self.title_ids)

    def spell(self, toks: list[str]) -> list[str]:
        """'mistery' -> 'mystery': a word the catalog's text never uses, one edit or two
        from a facet word readers use ("romance", "thriller", "biography")."""
        from rapidfuzz import fuzz, process

        vocab = self.__dict__.get("_facet_words")
        if vocab is None:
            vocab = self._facet_words = sorted({w for k in self.phrases if len(k) == 1
                                                for w in k if len(w) >= 5 and any(
                                                    kind in FACETS for kind, _, _ in self.phrases[k])})
        out = []
        for t in toks:
            if len(t) >= 5 and t not in vocab and self.index.df_of(t) == 0 and t.isalpha() \
                    and t not in _common_words():          # "story" is no misspelt "history"
                got = process.extractOne(t, vocab, scorer=fuzz.ratio, score_cutoff=80)
                if got:
                    t = got[0]
            out.append(t)
        return out

    def _rare(self, word: str) -> bool:
        """A word few books use (so, alone, it may name a title)."""
        return self.index.df_of(word) <= max(3, 0.003 * len(self.index))

    # ---- matching -------------------------------------------------------------------
    def match(self, text: str, allow_fuzzy_titles: bool = True) -> tuple[list[Slot], list[str]]:
        toks = self.spell(tokens(text))
        capital = capitalised(text, len(toks))
        cands: list[Slot] = []
        loose: set[int] = set()            # surnames taken as authors without "by" or "books"
        for i in range(len(toks)):
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                key = tuple(toks[i:i + n])
                for kind, value, score in self.phrases.get(key, ()):
                    named = kind == "title" and n == 1 and capital[i] and i > 0 and \
                        toks[i - 1] != BREAK           # "I hated Twilight", "like The Road"
                    if kind == "title" and n == 1 and not _title_context(toks, i) and not named:
                        continue
                    if kind == "title" and all(t.isdigit() for t in key):
                        continue                       # years are not titles
                    if kind == "title" and n == 1 and not self._rare(key[0]) and not named:
                        continue                       # "read next" is no title
                    if kind == "title" and score <= COMMON_TITLE and not named:
                        continue
                    if kind == "length" and n == 1 and i + 1 < len(toks) and \
                            toks[i + 1] in _NOT_A_LENGTH:
                        continue                       # "long island", "a long time ago"
                    if key == ("heavy",) and {"hold", "carry", "lift", "lug"} & set(toks[i - 3:i]):
                        continue                       # "can't hold heavy books": their weight
                    if kind == "author" and n == 1 and key[0] in _NATIONALITIES and \
                            (i == 0 or toks[i - 1] not in ("by", "from", "author")):
                        continue                       # "the french novel with hedgehog"
                    if kind == "author" and n == 1 and not _author_context(toks, i):
                        listed = i >= 2 and toks[i - 1] in ("or", "nor", "and") and any(
                            c.kind == "author" and c.end == i - 1 and c.start not in loose
                            for c in cands)                # "nothing by dickens or austen"
                        if not listed and not (key[0] in self.known_surnames
                                               and _loose_author_context(toks, i)):
                            continue
                        if not listed:
                            loose.add(i)
                    if kind == "title":                # named as a title ("like X") or not
                        score = 0.95 if _title_context(toks, i) else min(score, 0.6)
                    cands.append(Slot(kind, value, False, i, i + n, " ".join(key), score))
        if allow_fuzzy_titles:
            exact = [(c.start, c.end) for c in cands if c.kind == "title" and c.score >= 0.95]
            # "similar to Pride and Prejudice but modern" names Pride and Prejudice, not
            # (fuzzily) Pride and Prejudice and Zombies
            cands += [f for f in self._fuzzy_titles(toks)
                      if not any(f.start <= a and b <= f.end for a, b in exact)]
        cands += _ref_slots(toks)
        chosen = _non_overlapping(cands)
        if any(c.kind == "author" and c.start not in loose for c in chosen):
            # "rivers of london by ben aaronovitch": Aaronovitch, not Francine Rivers
            chosen = [c for c in chosen if not (c.kind == "author" and c.start in loose
                                                and c.end - c.start == 1)]
        chosen = _named_again(chosen, toks)
        _negate(chosen, toks, _commas(text, len(toks)))
        return chosen, toks

    def _fuzzy_titles(self, toks: list[str]) -> list[Slot]:
        from rapidfuzz import fuzz, process

        out = []
        for i, t in enumerate(toks):
            if not _is_trigger(toks, i):
                continue
            j = i + 1
            if j < len(toks) and toks[j] in ("the", "a", "an"):
                j += 1
            if j >= len(toks) or toks[j] in ORDINALS or toks[j] in _NOT_TITLE_START:
                continue
            best = None
            for n in range(min(7, len(toks) - j), 0, -1):
                span = " ".join(toks[j:j + n])
                if n == 1 and (len(span) < 5 or span in _common_words() or not self._rare(span)):
                    continue
                span_norm = norm_title(span)
                got = process.extractOne(span_norm, self._title_choices, scorer=fuzz.ratio,
                                         score_cutoff=88 if n > 1 else 95)
                if got and (best is None or got[1] > best[1] + 2):
                    best = (got[0], got[1], j, j + n)
            if best:
                title, score, a, b = best
                out.append(Slot("title", self.title_ids[title][0], False, a, b,
                                " ".join(toks[a:b]), score / 100.0))
        return out


def capitalised(text: str, n: int) -> list[bool]:
    """Per token of ``tokens(text)``: was it written with a capital letter? (all False when
    the two tokenisations do not line up)."""
    import unicodedata

    t = _INITIAL_DOT.sub(r"\1 ", text).replace("\u2019", "'").replace("'s ", " ").replace("'", "")
    t = re.sub(r"[.!?;]+(\s|$)|\s[-\u2013\u2014]+\s", f" {BREAK} ", t)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    cased = re.findall(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", t)
    if len(cased) != n:
        return [False] * n
    return [c[:1].isupper() for c in cased]


def phrases_keys(phrases) -> set[str]:
    return {" ".join(k) for k in phrases}


BREAK = "xxbreakxx"           # token standing for the end of a sentence
_INITIAL_DOT = re.compile(r"\b([A-Za-z])\.(?=\s?[A-Za-z])")    # "R.K. Narayan": no sentence end


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes dropped ("didn't" -> "didnt"), "'s" split off;
    sentence ends (. ! ? ;) become a BREAK token, so no phrase or negation crosses them."""
    text = _INITIAL_DOT.sub(r"\1 ", text).lower().replace("\u2019", "'").replace("'s ", " ")
    text = fix_ordinals(text)                                            # "the frist one"
    text = text.replace("'", "")
    text = re.sub(r"[.!?;]+(\s|$)|\s[-\u2013\u2014]+\s", f" {BREAK} ", text)   # "not X - Y"
    return _WORD.findall(fold(text))


_NOT_TITLE_START = frozenset("""something anything some a an books book one ones more that this it
them those these stories story novels novel""".split())


def _is_trigger(toks: list[str], j: int) -> bool:
    """toks[j] introduces a title: "like X", "read X"... but not "I'd like something"."""
    if toks[j] not in TITLE_TRIGGERS:
        return False
    if toks[j] == "like" and j > 0 and toks[j - 1] in ("id", "would", "d", "wed", "youd"):
        return False
    if toks[j] == "read" and j > 0 and toks[j - 1] in ("to", "can", "could", "should", "will"):
        return False                               # "something to read on the beach"
    if toks[j] == "to" and not (j > 0 and toks[j - 1] in ("similar", "close", "closest",
                                                          "compared", "sequel", "next")):
        return False                               # "from 1960 to 1999" is no title
    return True


def _title_context(toks: list[str], i: int) -> bool:
    if i > 0 and toks[i - 1] in ("the", "a", "an"):
        i -= 1
    return i > 0 and _is_trigger(toks, i - 1)


_KIND_NOUNS = frozenset("""comedy comedies tragedy tragedies play plays novel novels book books
mystery mysteries thriller thrillers story stories poem poems poetry collection essays""".split())
_LOOSE_BEFORE = frozenset("""another more any shorter longer early late lesser best other
different classic latest recent some""".split())


def _initials(parts: list[str]) -> list[str]:
    """Other ways to write a name with initials (["george", "r", "r", "martin"]): the
    initials run together ("george rr martin") and left out ("george martin")."""
    if len(parts) < 3 or not any(len(w) == 1 for w in parts[1:-1]):
        return []
    joined = re.sub(r"\b(\w) (?=\w\b)", r"\1", " ".join(parts))
    dropped = " ".join(w for w in parts if len(w) > 1)
    out = {joined} | ({dropped} if len(dropped.split()) >= 2 else set())
    return sorted(out - {" ".join(parts)})


def _loose_author_context(toks: list[str], i: int) -> bool:
    """A well-known surname used as the author without "by": "a shakespeare comedy",
    "a shorter steinbeck", "another dickens"."""
    return (i + 1 < len(toks) and toks[i + 1] in _KIND_NOUNS) or \
        (i > 0 and toks[i - 1] in _LOOSE_BEFORE) or i == 0      # "wodehouse, the jeeves ones"


def _author_context(toks: list[str], i: int) -> bool:
    """A surname said as an author: "by X", "X books", "le carre", "what else has X written"."""
    before = toks[i - 1] if i > 0 else ""
    after = toks[i + 1] if i + 1 < len(toks) else ""
    return before in ("by", "from", "author", "not", "no", "than", "except", "besides",
                      "nor", "isnt", "arent", "without") or before in _PARTICLES or \
        after in ("books", "novels", "book", "novel", "written", "wrote", "writes") or \
        (before in ("has", "did", "does", "else") and after in ("done", "got", "write")) or \
        (before in ("what", "which", "any", "other", "more") and after in ("do", "have", "you"))


_NOT_A_LENGTH = frozenset("""island ago time way lost term shot run beach john haired hair train ride
flight journey trip drive commute haul wait day days week weeks weekend night nights holiday
holidays vacation bus car plane""".split())      # "a long train ride coming up": no page count
_NATIONALITIES = frozenset("""french english russian american british irish scottish welsh german
italian spanish japanese chinese indian african canadian australian""".split())
_PARTICLES = frozenset("le la de du da del della di van von der st mc mac".split())


def _ref_slots(toks: list[str]) -> list[Slot]:
    out = []
    for i, t in enumerate(toks):
        if t in ORDINALS and (i + 1 >= len(toks) or toks[i + 1] in ("one", "book", "suggestion",
                                                                    "title", "of", "and", "or")
                              or i > 0 and toks[i - 1] == "the"):
            out.append(Slot("ref", ORDINALS[t], False, i, i + 1, t, 1.0))
        elif t == "number" and i + 1 < len(toks) and toks[i + 1] in NUMBER_REF:
            out.append(Slot("ref", NUMBER_REF[toks[i + 1]], False, i, i + 2, "number", 1.0))
        elif t in ("it", "that", "this") and (i + 1 >= len(toks) or toks[i + 1] in (
                "one", "book", "already", "last", "a", "and", "but", "is", "was", "sounds",
                "looks", "out")):
            out.append(Slot("ref", "it", False, i, i + 1, t, 0.5))
    return out


def _non_overlapping(cands: list[Slot]) -> list[Slot]:
    def rank(s: Slot) -> int:          # a title not named as one ("a ghost story") loses
        return 0 if s.kind == "title" and s.score < 0.85 else PRIORITY.get(s.kind, 2)

    cands.sort(key=lambda s: (-(s.end - s.start), -rank(s), -s.score, s.start))
    taken: set[int] = set()
    out = []
    for s in cands:
        span = set(range(s.start, s.end))
        if span & taken:
            continue
        taken |= span
        out.append(s)
    out.sort(key=lambda s: s.start)
    return out


_NEG = sorted((tuple(n.replace("'", "").split()) for n in NEGATORS), key=len, reverse=True)


def _named_again(slots: list[Slot], toks: list[str]) -> list[Slot]:
    """The surname of an author named in full earlier in the message is that author again:
    "erik larson type history, but not larson himself"."""
    taken = {i for s in slots for i in range(s.start, s.end)}
    said = {fold(str(s.value)).split()[-1]: s for s in slots if s.kind == "author" and
            s.end - s.start >= 2 and str(s.value).strip()}
    again = [Slot("author", said[t].value, False, i, i + 1, t, 0.8) for i, t in enumerate(toks)
             if t in said and i not in taken and i >= said[t].end]
    return sorted(slots + again, key=lambda s: s.start)


def _commas(text: str, n: int) -> set[int]:
    """Token positions that follow a comma (none when the tokenisations do not line up)."""
    marked = tokens(text.replace(",", " xxcommaxx "))
    at = [j for j, t in enumerate(marked) if t == "xxcommaxx"]
    return {i - k for k, i in enumerate(at)} if len(marked) - len(at) == n else set()


def _negate(slots: list[Slot], toks: list[str], commas: set[int] = frozenset()) -> None:
    """A slot is negated when a negation cue precedes it in its clause (or it ends in -free);
    a negation reaches past a comma only to a slot of the same kind ("no horror, romance or
    thrillers", but "isn't seuss, picture books" asks for picture books)."""
    prev_end, prev_neg, prev_kind = -1, False, ""
    for s in slots:
        if s.kind in ("ref",):
            continue
        neg = False
        j = s.start - 1
        while j >= 0 and j >= s.start - 5:
            w = toks[j]
            if any(tuple(toks[j - len(n) + 1:j + 1]) == n for n in _NEG if j - len(n) + 1 >= 0):
                neg = True
                break
            if j < prev_end:                        # reached the previous slot
                neg = prev_neg and (prev_kind == s.kind or not commas & set(
                    range(prev_end, s.start + 1))) and all(t in ("or", "nor", "and", "any", "too", "anything",
                                             "else", "other", "kind", "sort", "type", "of")
                                       for t in toks[prev_end:s.start])   # "or anything paranormal"
                break
            if w in SCOPE_BREAK or w == BREAK:
                break
            j -= 1
        if s.end < len(toks) and toks[s.end] == "free":
            neg = True
        if neg and newcomer(toks, s.start, s.end, BREAK):
            neg = False
        if s.kind == "refine" and str(s.value).split(":")[1].startswith("-"):
            neg = False                             # "less dark" already says it
        s.negated = neg
        prev_end, prev_neg, prev_kind = s.end, neg, s.kind
    asked = {(s.kind, s.value) for s in slots if not s.negated and s.kind in FACETS}
    for s in slots:                   # "poetry for someone who never reads poetry": asked for
        if s.negated and (s.kind, s.value) in asked and \
                NEWCOMER_VERBS & set(toks[max(0, s.start - 3):s.start]):
            s.negated = False


_COMMON = None


def _common_words() -> frozenset[str]:
    """Everyday English words that must not be read as a surname or one-word title."""
    global _COMMON
    if _COMMON is None:
        from coverstory.dialogue.bookindex import _STOP

        _COMMON = frozenset(set(EVERYDAY_WORDS) | set(_STOP))
    return _COMMON
