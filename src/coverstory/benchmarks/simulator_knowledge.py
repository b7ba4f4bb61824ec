"""What a simulated reader knows of their target book (coverstory.benchmarks.simulator): the
facets read from its record, plot memory from its description, and how a fact is said
(``BookKnowledge``, the base of ``Reader``). A pure move out of simulator.py."""

from __future__ import annotations

import random
import re

from coverstory.benchmarks.simulator_words import (_ADJ, _ADJ_END, _DECADE_WORD, _DETERMINERS, _ERA_SAY,
                                             _GENERIC, _LENGTH_SAY, _MEMORY_ONE, _MEMORY_TWO,
                                             _NOT_NOUN, _NOUN_LIKE_ADJ, _SENT, _TOKEN, _words,
                                             AUDIENCES, FUNCTION, GENRES, SYNONYMS, TONES, Value)


# ---- what the reader knows about a book --------------------------------------------------
def _tag_hits(tag: str, cues: tuple[str, ...]) -> bool:
    toks = tag.lower().split("-")
    for c in cues:
        if "-" in c:
            if c in tag.lower():
                return True
        elif len(c) <= 3:
            if c in toks:
                return True
        elif any(t.startswith(c) for t in toks):
            return True
    return False


def _scores(tags: list[str], words: set[str], table: tuple[Value, ...]) -> dict[str, float]:
    """How strongly the book's own shelves and description suggest each value: a shelf that
    matches k values counts 1/k for each; a suggestive description word 0.5 (at most 2)."""
    sc = {v.name: 0.0 for v in table}
    for t in tags:
        hit = [v.name for v in table if _tag_hits(t, v.tags)]
        for n in hit:
            sc[n] += 1.0 / len(hit)
    for v in table:
        sc[v.name] += min(2.0, 0.5 * len(words & set(v.words)))
    return sc


def _ranked(sc: dict[str, float], floor: float, share: float) -> list[str]:
    best = max(sc.values(), default=0.0)
    return [n for n, s in sorted(sc.items(), key=lambda x: -x[1])
            if s >= floor and s >= share * best]


def _is_adj(word: str) -> bool:
    if word in _ADJ:
        return True
    if word in _NOUN_LIKE_ADJ:
        return False
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        return True                                   # "a loved one", "the haunted house"
    if len(word) <= 5:
        return False
    return word.endswith(_ADJ_END) or word.endswith("ing")


def _banned(book) -> set[str]:
    """Title and author words (and their simple plural / singular forms)."""
    from coverstory.catalog.normalize import fold

    out = set()
    for w in re.findall(r"[a-z]+", fold(" ".join([book.title, *book.authors]))):
        if w in FUNCTION or len(w) < 2:
            continue
        out.update({w, w + "s", w + "es", w[:-1] if w.endswith("s") else w})
    return out


def _a(word: str) -> str:
    if word.endswith("s") or " " in word:
        return word
    return ("an " if word[0] in "aeiou" else "a ") + word


class BookKnowledge:
    """What one reader knows of their target book and how they say a fact (the base of
    :class:`coverstory.benchmarks.simulator.Reader`)."""

    def __init__(self, book, rng: random.Random, lookup=None):
        self.book, self.rng, self.lookup = book, rng, lookup
        self.target = int(book.id)
        self.banned = _banned(book)
        desc = book.description or ""
        self.desc_words = set(_words(desc))
        tags = list(book.tags) + list(getattr(book, "categories", []) or [])
        self.tags = {t.lower() for t in tags}
        self.genres = _ranked(_scores(tags, self.desc_words, GENRES), 1.5, 0.35)[:3]
        aud = _scores(tags, self.desc_words, AUDIENCES)
        self.audience = [a for a in ("children", "teen") if aud[a] >= 3] or ["adult"]
        self.tones = _ranked(_scores(tags, self.desc_words, TONES), 1.5, 0.4)[:2]
        self.year = None
        if book.year is not None:
            slip = rng.random() < 0.25          # misremembers the decade now and then
            self.year = int(book.year) + (rng.choice((-1, 1)) * rng.randint(6, 12) if slip else 0)
        pages = getattr(book, "pages", None)
        self.length = None if not pages else ("short" if pages < 250 else
                                              "long" if pages > 450 else "medium")
        self.memory = self._remember(desc)
        self.recall = {}                         # shelf -> whether this reader would know it
        self.facts = self._facts()
        self.said: list[str] = []

    # ---- knowledge ------------------------------------------------------------------------
    def _usable(self, word: str) -> bool:
        return (word.isalpha() and len(word) >= 4 and word not in FUNCTION
                and word not in _GENERIC and word not in _DETERMINERS
                and word not in self.banned and word not in self.tags
                and word not in _NOT_NOUN and not word.endswith("ly"))

    def _remember(self, desc: str) -> list[list[str]]:
        """One or two fragments of the story: nouns (with an adjective now and then) that follow
        a determiner in a random sentence; some swapped for a synonym, some forgotten."""
        sentences = [s for s in _SENT.split(desc) if len(s.split()) >= 6
                     and not re.search(r"librarian|isbn|edition|copyright|bestsell", s, re.I)]
        found = []
        for s in self.rng.sample(sentences, len(sentences)):
            toks = _TOKEN.findall(s)
            cands = []
            for i, w in enumerate(toks[:-1]):
                if w.lower() not in _DETERMINERS:
                    continue
                run = []                     # lower-case content words after the determiner
                for x in toks[i + 1:i + 4]:
                    if not x.islower() or x in _NOT_NOUN or x in FUNCTION or x.endswith("ly"):
                        break
                    run.append(x)
                if len(run) < len(toks[i + 1:i + 4]) and i + 1 + len(run) < len(toks) \
                        and toks[i + 1 + len(run)][:1].isupper():
                    continue                 # "the proud Darcy": a name follows
                adj = None
                for j, x in enumerate(run):
                    if _is_adj(x) and j + 1 < len(run):
                        adj = x              # a modifier: the noun comes after it
                        continue
                    if not _is_adj(x) and self._usable(x):
                        cands.append((adj if adj and self._usable(adj) else None, x))
                    break
            if not cands:
                continue
            picked = self.rng.sample(cands, min(len(cands), self.rng.choice((1, 2, 2))))
            frag = []
            for adj, noun in picked:
                r = self.rng.random()
                if r < 0.2:
                    continue                                # forgotten
                if r < 0.5 and noun in SYNONYMS and self._clean(SYNONYMS[noun]) \
                        and self._not_shelf(SYNONYMS[noun]):
                    noun = SYNONYMS[noun]
                    adj = None
                words = f"{adj} {noun}" if adj and self.rng.random() < 0.3 else noun
                if self._clean(words) and self._not_shelf(words) and words not in frag:
                    frag.append(words)
            if frag:
                found.append(frag)
            if len(found) == 2:
                break
        return found

    def _clean(self, text: str) -> bool:
        """No title or author word."""
        from coverstory.catalog.normalize import fold

        return not any(w in self.banned for w in re.findall(r"[a-z]+", fold(text)))

    def _not_shelf(self, phrase: str) -> bool:
        """A remembered phrase is never one of the book's shelf names verbatim."""
        low = " ".join(_words(phrase.replace("-", " ")))
        return not any(low == t.replace("-", " ") or low.endswith(" " + t.replace("-", " "))
                       for t in self.tags)

    def _pick(self, options) -> str | None:
        ok = [o for o in options if self._clean(o)]
        return self.rng.choice(ok) if ok else None

    def _value(self, table, name):
        return next(v for v in table if v.name == name)

    def _era_phrase(self) -> str | None:
        y = self.year
        if y is None:
            return None
        if y < 1900:
            opts = (_ERA_SAY[7], _ERA_SAY[8], _ERA_SAY[9])
        elif y < 1960:
            d = (y // 10) * 10
            opts = (_ERA_SAY[10], f"from the {d}s", _ERA_SAY[3]) + (
                (f"from the {_DECADE_WORD[d % 100]}",) if d % 100 in _DECADE_WORD else ())
        elif y < 2000:
            d = (y // 10) * 10
            opts = (f"from the {d % 100}s", f"from the {_DECADE_WORD[d % 100]}",
                    f"written in the {d}s", f"from around {y} I think")
        elif y < 2010:
            opts = (_ERA_SAY[11], "from the 2000s", f"from around {y} I think")
        else:
            opts = (_ERA_SAY[4], _ERA_SAY[5], _ERA_SAY[12])
        return self._pick(opts)

    def _memory_phrase(self) -> str | None:
        while self.memory:
            frag = self.memory.pop(0)
            items = [_a(w) if self.rng.random() < 0.5 else w for w in frag]
            if len(items) == 1:
                s = self.rng.choice(_MEMORY_ONE).format(a=items[0])
            else:
                s = self.rng.choice(_MEMORY_TWO).format(a=items[0], b=items[1])
            if self._clean(s):
                return s
        return None

    def _facts(self) -> list:
        """What the reader may volunteer, in a random order (the story first, more often)."""
        facts = [("memory", None)] * len(self.memory)
        facts += [("tone", t) for t in self.tones[:1]]
        if self.year is not None:
            facts.append(("era", None))
        if self.audience != ["adult"] or self.rng.random() < 0.3:
            facts.append(("audience", self.audience[0]))
        if self.length in ("short", "long"):
            facts.append(("length", self.length))
        facts += [("genre", g) for g in self.genres[1:2]]
        self.rng.shuffle(facts)
        facts.sort(key=lambda f: 0 if f[0] == "memory" and self.rng.random() < 0.6 else 1)
        return facts

    def _fact(self, kind: str, value) -> str | None:
        if kind == "memory":
            return self._memory_phrase()
        if kind == "era":
            p = self._era_phrase()
            if p and p.startswith(("a ", "an ", "something", "early")):
                return self._pick((f"I'd like {p}.", f"Maybe {p}."))
            return p and self._pick((f"It should be {p}.", f"Maybe something {p}.",
                                     f"Ideally {p}."))
        if kind == "length":
            p = self._pick(_LENGTH_SAY[value])
            return p and self._pick((f"Oh, and {p}.", f"Ideally {p}.", f"It's {p}."))
        table = {"tone": TONES, "audience": AUDIENCES, "genre": GENRES}[kind]
        p = self._pick(self._value(table, value).say)
        if p is None:
            return None
        if kind == "audience":
            return self._pick((f"It's {p}.", f"Oh, and it's {p}."))
        if kind == "tone":
            if p.startswith(("something", "a ", "the ")):
                return self._pick((f"Ideally {p}.", f"Maybe {p}."))
            return self._pick((f"Something {p}, maybe.", f"Ideally {p}.", f"I'd like it {p}."))
        return self._pick((f"Maybe {p}?", f"Also {p}."))

    def volunteer(self) -> str | None:
        while self.facts:
            kind, value = self.facts.pop(0)
            s = self._fact(kind, value)
            if s:
                return s
        return None
