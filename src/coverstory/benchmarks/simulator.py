"""Simulated readers for ``coverstory bench dialogue``, speaking their own words.

A reader has one target book in mind. What they know of it comes from the book's own
record in the catalog (its shelf tags, year, page count and description), read the way a
person who knows the book would: a broad genre or two, who it is for, roughly when it came
out, its tone, whether it is long, and a couple of half-remembered things from the story.
What they *say* comes from the hand-written vocabulary in this module, never from the
bot's lexicon, the catalog's tag names or the search index:

- facets are said in several paraphrases per value ("sci-fi", "something set in space",
  "futuristic stuff"); the era is a decade, sometimes misremembered by about ten years;
- plot memory is a few nouns (and sometimes their adjective) taken from one or two random
  sentences of the description -- no word statistics of any kind -- some replaced by a
  hand-written synonym, some forgotten; words that are the book's own shelf names, its
  title words and its author's name are never used;
- noise: typos in a few per cent of the longer words, and now and then some chit-chat.

The reader answers a question when they can map its options to what they know (and says
they don't know or don't mind otherwise), rejects wrong suggestions (sometimes saying why,
in their own words), volunteers one more thing when not asked, and accepts as soon as the
target is among the books shown ("the second one!"). They use only the bot's public reply:
its books, text, question and options.
"""

from __future__ import annotations

import random
import re
import time

from coverstory.benchmarks.simulator_knowledge import _ranked, _scores, BookKnowledge
from coverstory.benchmarks.simulator_words import (_ACCEPT, _BOOKKEEPING, _CHAT, _DONT_KNOW, _LENGTH_SAY,
                                             _NONE_OF, _OPEN_INTRO, _OPEN_VAGUE, _ORD, _REASONS,
                                             _REJECT, _STUCK, _words, AUDIENCES, GENRES, TONES,
                                             Value)
# the reader's vocabulary, read as simulator.X by the dialogue benchmark and its tests
from coverstory.benchmarks.simulator_words import FUNCTION, phrases, vocabulary  # noqa: F401


class Reader(BookKnowledge):
    """One simulated reader of one target book (see the module docstring)."""

    # ---- judging the bot's options ----------------------------------------------------------
    def _hear(self, option: str, tables) -> tuple[tuple, Value] | None:
        low = " " + " ".join(_words(option.replace("-", " "))) + " "
        raw = option.lower()
        best = None
        for table in tables:
            for v in table:
                for h in v.hear:
                    if "-" in h or " " in h:
                        hit = h in raw or f" {h.replace('-', ' ')} " in low
                    else:
                        hit = f" {h}" in low if len(h) > 3 else f" {h} " in low
                    if hit and (best is None or len(h) > best[0]):
                        best = (len(h), table, v)
        return (best[1], best[2]) if best else None

    def _years_of(self, option: str) -> tuple[float, float] | None:
        low = option.lower()
        nums = [int(n) for n in re.findall(r"\b(1[0-9]{3}|20[0-9]{2})\b", low)]
        dec = re.search(r"\b(1[0-9]{3}|20[0-9]{2})s\b", low) or re.search(r"\b([0-9]0)s\b", low)
        if "before" in low and nums:
            return (-1e9, nums[0] - 0.5)
        if re.search(r"or later|after|since|onwards|or newer", low) and nums:
            return (nums[0], 1e9)
        if len(nums) >= 2:
            return (nums[0], nums[1] + 0.99)
        if dec:
            d = int(dec.group(1))
            d = d + (1900 if d < 100 else 0)
            return (d, d + 9.99)
        if "century" in low:
            m = re.search(r"(\d{2})(st|nd|rd|th)", low)
            if m:
                c = int(m.group(1))
                return ((c - 1) * 100, c * 100 - 0.01)
        if re.search(r"recent|new|latest|modern", low):
            return (2010, 1e9)
        return None

    def _knows_shelf(self, option: str) -> bool | None:
        opt = option.lower().strip()
        slug = opt.replace(" ", "-")
        if any(b in slug for b in _BOOKKEEPING) or re.search(r"\d", slug):
            return None                                   # not something a reader knows
        if slug in self.tags:
            if slug not in self.recall:
                self.recall[slug] = self.rng.random() < 0.75
            return True if self.recall[slug] else None
        ws = [w for w in _words(opt) if len(w) >= 4]
        if ws and all(w in self.desc_words or w.rstrip("s") in self.desc_words
                      or w + "s" in self.desc_words for w in ws):
            return True
        return False

    def judge(self, option: str, facet: str | None) -> tuple[bool | None, str | None]:
        """(does the option fit the book -- None if the reader can't tell, own words for it)."""
        if facet in ("era", "year", "decade") or (facet is None and re.search(r"\d{4}|\d0s", option)):
            yrs = self._years_of(option)
            if yrs is None or self.year is None:
                return None, None
            fits = yrs[0] <= self.year <= yrs[1]
            return fits, (self._era_phrase() if fits else None)
        if facet == "length" or (facet is None and re.search(r"\bpages?\b", option.lower())):
            if self.length is None:
                return None, None
            low = option.lower()
            m = re.search(r"(under|less than|up to|over|more than|at least)\s*(\d+)", low)
            pages = getattr(self.book, "pages", None)
            if m and pages:
                n = int(m.group(2))
                fits = pages < n if m.group(1) in ("under", "less than", "up to") else pages > n
            else:
                want = "short" if re.search(r"short|quick", low) else \
                    "long" if re.search(r"long|epic|thick", low) else "medium"
                fits = want == self.length
            return fits, (self._pick(_LENGTH_SAY.get(self.length, ())) if fits else None)
        order = {"audience": (AUDIENCES, GENRES, TONES), "mood": (TONES, GENRES, AUDIENCES),
                 "tone": (TONES, GENRES, AUDIENCES)}.get(facet, (GENRES, TONES, AUDIENCES))
        if facet not in ("theme", "themes", "tag"):
            got = self._hear(option, order)
            if got is not None:
                table, v = got
                mine = {id(GENRES): self.genres, id(TONES): self.tones,
                        id(AUDIENCES): self.audience}[id(table)]
                fits = v.name in mine
                return fits, (self._pick(v.say) if fits else None)
        known = self._knows_shelf(option)
        return known, None

    # ---- one turn -------------------------------------------------------------------------------
    def opening(self) -> str:
        r = self.rng.random()
        g = self.genres[0] if self.genres else None
        if g is None or r < 0.25:
            return self._finish(self._pick(_OPEN_VAGUE) or "Hello.")
        x = self._pick(self._value(GENRES, g).say)
        if x is None:
            return self._finish(self._pick(_OPEN_VAGUE) or "Hello.")
        intro = self._pick(_OPEN_INTRO)
        s = intro.format(x=x) if intro else x
        if r > 0.75:
            more = self._fact(*self.facts.pop(0)) if self.facts else None
            s = f"{s} {more}" if more else s
        return self._finish(s)

    def respond(self, reply) -> tuple[str, bool]:
        """(what the reader says next, whether they accept)."""
        ids = [int(b["id"]) for b in (getattr(reply, "books", None) or [])]
        if self.target in ids:
            o = _ORD[ids.index(self.target)] if ids.index(self.target) < len(_ORD) else "last"
            i = ids.index(self.target)
            said = (self._pick([a.format(o=o) for a in _ACCEPT])
                    or self._pick([f"Yes, number {i + 1}!", "Yes! That's it."]) or "Yes!")
            self.said.append(said)
            return said, True
        parts = []
        if ids:
            parts.append(self.rng.choice(_REJECT))
            if self.rng.random() < 0.6:
                why = self._reason(ids)
                if why:
                    parts.append(why)
        question = getattr(reply, "question", None)
        facet = getattr(reply, "question_facet", None)
        options = list(getattr(reply, "options", None) or [])
        if question or facet or options:
            parts.append(self._answer(question or "", facet, options))
        else:
            fact = self.volunteer()
            parts.append(fact or self.rng.choice(_STUCK))
        return self._finish(" ".join(p for p in parts if p)), False

    def _answer(self, question: str, facet: str | None, options: list[str]) -> str:
        if not options:
            return self._open_answer(question, facet)
        yes, no = [], []
        for o in options:
            fits, own = self.judge(o, facet)
            if fits is True:
                say = own if own and self.rng.random() < 0.5 else o.replace("-", " ")
                if not self._clean(say):
                    say = own if own and self._clean(own) else None
                if say:
                    yes.append(say)
            elif fits is False and self._clean(o):
                no.append(o.replace("-", " "))
        if yes:
            words = " and ".join(yes[:2])
            s = self.rng.choice((f"{words}, I think.", f"Yes, {words}.",
                                 f"{words} sounds right."))
            s = s[0].upper() + s[1:]
            if no and self.rng.random() < 0.5:
                s = s[:-1] + f", but not {self.rng.choice(no)}."
            return s
        if no:
            more = self.volunteer() if self.rng.random() < 0.5 else None
            return self.rng.choice(_NONE_OF) + (f" {more}" if more else "")
        return self.rng.choice(_DONT_KNOW)

    def _open_answer(self, question: str, facet: str | None) -> str:
        q = question.lower()
        kind = facet
        if kind is None:
            kind = ("audience" if re.search(r"\bwho\b|\bfor whom\b|\bage\b", q) else
                    "era" if re.search(r"\bwhen\b|old|new|recent|decade|year", q) else
                    "tone" if re.search(r"mood|feel|tone", q) else
                    "length" if re.search(r"long|length|pages|short", q) else
                    "genre" if re.search(r"genre|kind of|type of", q) else "about")
        s = None
        if kind in ("about", "themes", "theme", "plot", "tag"):
            s = self._memory_phrase()
            if s is None:
                s = self.volunteer()
                s = s and "I don't remember much about the story, sorry. " + s
        elif kind == "era":
            s = self._fact("era", None)
        elif kind == "audience":
            s = self._fact("audience", self.audience[0])
        elif kind in ("mood", "tone") and self.tones:
            s = self._fact("tone", self.tones[0])
        elif kind == "length" and self.length in ("short", "long"):
            s = self._fact("length", self.length)
        elif kind == "genre" and self.genres:
            s = self._fact("genre", self.genres[0])
        return s or self.rng.choice(_DONT_KNOW)

    def _reason(self, ids: list[int]) -> str | None:
        """Why the first suggestion is wrong, in the reader's words (when they can tell)."""
        other = self.lookup(ids[0]) if self.lookup else None
        if other is None:
            return None
        reasons = []
        words = set(_words(other.description or ""))
        og = _ranked(_scores(list(other.tags), words, GENRES), 1.5, 0.25)[:1]
        if og and og[0] not in self.genres:
            x = self._pick(self._value(GENRES, og[0]).no)
            if x:
                reasons.append(self.rng.choice(_REASONS[:3]).format(x=x))
        oa = _scores(list(other.tags), words, AUDIENCES)
        other_aud = [a for a in ("children", "teen") if oa[a] >= 3] or ["adult"]
        if other_aud[0] not in self.audience:
            mine = self.audience[0]
            reasons.append("It should be for a child." if mine == "children" else
                           "Something for teenagers." if mine == "teen" else
                           "Not a kids' book." if other_aud[0] == "children" else "For grown-ups.")
        if self.year is not None and other.year is not None and abs(self.year - other.year) > 15:
            reasons.append(self.rng.choice(_REASONS[3:5] if self.year < other.year
                                           else _REASONS[5:7]))
        reasons = [r for r in reasons if self._clean(r)]
        return self.rng.choice(reasons) if reasons else None

    # ---- noise ------------------------------------------------------------------------------------
    def _finish(self, text: str) -> str:
        # a last guard: a sentence with a title or author word is not said
        text = " ".join(x for x in re.split(r"(?<=[.!?])\s+", text) if self._clean(x)) \
            or self._pick(_STUCK) or "Hmm."
        if self.rng.random() < 0.15:
            chat = self._pick(_CHAT)
            if chat:
                text = f"{chat} {text}" if self.rng.random() < 0.5 else f"{text} {chat}"
        out = []
        for tok in re.split(r"(\s+)", text):
            if len(tok) >= 4 and tok.isalpha() and self.rng.random() < 0.03:
                typo = _typo(tok, self.rng)
                tok = typo if self._clean(typo) else tok   # a typo never makes a title word
            out.append(tok)
        text = "".join(out)
        self.said.append(text)
        return text


_KEYS = "qwertyuiop asdfghjkl zxcvbnm"


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:                                      # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:                                      # drop one
        return word[:i] + word[i + 1:]
    if kind == 2:                                      # double one
        return word[:i] + word[i] + word[i:]
    row = next((r for r in _KEYS.split() if word[i].lower() in r), None)   # neighbouring key
    if not row:
        return word
    j = row.index(word[i].lower())
    near = row[j - 1] if j > 0 and (j == len(row) - 1 or rng.random() < 0.5) else row[min(j + 1, len(row) - 1)]
    return word[:i] + near + word[i + 1:]


# ---- running conversations -------------------------------------------------------------------
class Shelf:
    """Book records by id from a catalog, cached (what a reader can know of a book)."""

    def __init__(self, catalog):
        self.catalog = catalog
        self._books: dict[int, object] = {}

    def __call__(self, book_id: int):
        b = int(book_id)
        if b not in self._books:
            got = self.catalog.books([b])
            self._books[b] = got[0] if got else None
        return self._books[b]

    def preload(self, ids) -> None:
        missing = [int(i) for i in ids if int(i) not in self._books]
        for b in self.catalog.books(missing):
            self._books[b.id] = b


def reader_for(book, seed: int, lookup=None) -> Reader:
    """The reader of one target: the same person (same knowledge) under every policy."""
    return Reader(book, random.Random(f"reader:{seed}:{int(book.id)}"), lookup)


def simulate(engine, shelf: Shelf, book_ids: list[int], policy: str, max_turns: int,
             seed: int, tag: str = "sim", keep: int = 3) -> list[dict]:
    """One conversation per target through ``engine.turn`` (text only); per-target outcomes.

    success_turn = the first turn whose reply shows the target (turn 1 answers the opening);
    ms = wall time of each ``engine.turn`` call. Transcripts are kept for the first ``keep``
    targets, and the reader's lines for all (for the leak audit)."""
    shelf.preload(book_ids)
    out = []
    for n, bid in enumerate(book_ids):
        book = shelf(bid)
        reader = reader_for(book, seed, shelf)
        sid = f"{tag}-{policy}-{seed}-{int(bid)}"
        text, success, ms, lines = reader.opening(), None, [], []
        for t in range(1, max_turns + 1):
            t0 = time.perf_counter()
            reply = engine.turn(sid, text=text)
            ms.append((time.perf_counter() - t0) * 1000)
            books = getattr(reply, "books", None) or []
            lines.append({"reader": text, "bot": getattr(reply, "text", ""),
                          "question": getattr(reply, "question", None),
                          "options": list(getattr(reply, "options", None) or []),
                          "books": [b.get("title") for b in books]})
            text, accepted = reader.respond(reply)
            if accepted:
                success = t
                lines.append({"reader": text})
                break
        out.append({"book_id": int(bid), "success_turn": success, "turns": len(ms), "ms": ms,
                    "shown_per_turn": [len(x["books"]) for x in lines if "books" in x],
                    "lines": lines, "keep": n < keep})
    return out


def summarise(results: list[dict]) -> dict:
    import numpy as np

    n = len(results)
    ok = [r["success_turn"] for r in results if r["success_turn"] is not None]
    ms = [m for r in results for m in r["ms"]]
    shown = [s for r in results for s in r.get("shown_per_turn", [])]
    return {"n": n,
            "success@1": sum(1 for s in ok if s <= 1) / n if n else None,
            "success@3": sum(1 for s in ok if s <= 3) / n if n else None,
            "success@5": sum(1 for s in ok if s <= 5) / n if n else None,
            "success@max": len(ok) / n if n else None,
            "mean_turns_to_success": float(np.mean(ok)) if ok else None,
            "turns": len(ms),
            "p50_ms": float(np.percentile(ms, 50)) if ms else None,
            "p95_ms": float(np.percentile(ms, 95)) if ms else None,
            "books_per_turn": float(np.mean(shown)) if shown else None}
