"""Simulated readers for the dialogue benchmark.

A reader has one target book in mind and knows its genres, audience, era, moods, shelf
tags (themes), author and description. They open vaguely, answer the bot's questions
truthfully (from the target's attributes), reject wrong suggestions saying why (an
attribute the suggestion has and the target lacks, or the other way round), volunteer
one more fact when not asked, and accept as soon as the target is shown. They never say
the target's title or author (the bot does not ask for them); description words that
occur in the title or the author's name are never used.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import numpy as np

from coverstory.dialogue.bookindex import _STOP, BookIndex

ORD = ["first", "second", "third", "fourth", "fifth"]
_W = re.compile(r"[A-Za-z][a-z]+")
_BANNED = frozenset("""book books novel novels story stories series reader readers author life
world time year years new york times bestselling bestseller edition volume award winning
nothing everything something anything""".split())


def _words(text: str) -> set[str]:
    return {w.lower() for w in _W.findall(text or "")}


@dataclass
class Reader:
    """One simulated reader (see module docstring)."""

    idx: BookIndex
    row: int
    rng: random.Random
    said: set = field(default_factory=set)

    def __post_init__(self):
        idx, r = self.idx, self.row
        self.target = int(idx.ids[r])
        self.values = {f: idx.book_values(r, f) for f in ("genre", "audience", "era", "mood")}
        # themes a reader remembers: the book's more specific shelves first
        df = np.asarray(idx.tags.sum(axis=0)).ravel()
        leak = _words(idx.titles[r]) | {w for a in idx.authors[r] for w in _words(a)}
        th = [t for t in idx.book_tag_names(r) if t not in idx.facet_tags
              and not set(t.split("-")) <= leak]
        self.themes = sorted(th, key=lambda t: df[idx.tag_column(t)] * (0.5 + self.rng.random()))
        kws = []
        desc = idx.descriptions[r]
        if desc:
            # what a reader remembers of a story: its salient words -- frequent in the
            # description and rare in the catalog (tf x idf), but not one-off words (a word
            # must occur in at least 5 books), no names, never title or author words
            from coverstory.dialogue.bookindex import stem

            df = getattr(idx, "_sim_df", None)
            if df is None:
                df = idx._sim_df = np.diff(idx.terms.indptr)           # csc: books per term
            tf: dict[str, int] = {}
            for w in _W.findall(desc):
                lw = w.lower()
                if (lw in leak or lw in _STOP or lw in _BANNED or len(lw) < 4
                        or w[0].isupper()):
                    continue
                tf[lw] = tf.get(lw, 0) + 1

            def salience(w):
                j = idx.term_vocab.get(stem(w))
                if j is None or df[j] < (5 if len(idx) > 1000 else 1):
                    return -1.0
                return tf[w] * float(idx.term_idf[j])
            kws = [w for w in sorted(tf, key=salience, reverse=True) if salience(w) > 0]
        self.keywords = kws[:12]

    # ---- what the reader says -------------------------------------------------------------
    def opening(self) -> str:
        g = self.values["genre"]
        if g and self.rng.random() < 0.6:
            return self.rng.choice([f"I'm looking for a {self.rng.choice(g)} book",
                                    f"Can you recommend some {self.rng.choice(g)}?",
                                    f"I feel like reading {self.rng.choice(g)}"])
        return self.rng.choice(["Can you recommend a good book?", "What should I read next?",
                                "I need something to read"])

    def respond(self, reply) -> tuple[str, bool]:
        """(what the reader says next, whether they accept)."""
        ids = reply.book_ids
        if self.target in ids:
            i = ids.index(self.target)
            return f"Yes! The {ORD[i]} one is exactly what I was looking for.", True
        parts = []
        if ids:
            why = self._reject_reason(ids[0])
            parts.append("No, not those." + (f" {why}" if why else ""))
        if reply.question_facet:
            parts.append(self._answer(reply.question_facet, reply.options))
        else:
            fact = self._volunteer()
            if fact:
                parts.append(fact)
        return " ".join(p for p in parts if p) or "Something else please.", False

    def _answer(self, facet: str, options: list[str]) -> str:
        if facet == "about":
            kws = [k for k in self.keywords if k not in self.said][:4]
            if kws:
                self.said.update(kws)
                return "It's about " + ", ".join(kws[:-1]) + " and " + kws[-1] + "." \
                    if len(kws) > 1 else f"It's about {kws[0]}."
            th = self._themes(2)
            return f"Something with {' and '.join(th)}." if th else "I don't know."
        if facet == "themes":                       # open: the reader's own words
            th = self._themes(2)
            if th:
                return f"Something with {' and '.join(th)}."
            return self._answer("about", []) if self.keywords else "I don't mind."
        if facet == "theme":
            have = [o for o in options if o in self.themes]
            lack = [o for o in options if o not in self.themes]
            self.said.update(have)
            if have:
                out = " and ".join(h.replace("-", " ") for h in have) + " would be good"
                if lack:
                    out += ", but no " + " or ".join(x.replace("-", " ") for x in lack)
                return out + "."
            th = self._themes(1)
            return (f"None of those, but {th[0]}." if th else "None of those.")
        mine = self.values.get(facet, [])
        have = [o for o in options if o in mine]
        lack = [o for o in options if o not in mine]
        if facet in ("genre", "mood") and have:
            for h in have:
                self.said.add((facet, h))
            words = " and ".join(have)
            out = (f"{words.capitalize()}, please" if facet == "genre" else f"Something {words}")
            if lack:
                out += ", but not " + " or ".join(lack)
            return out + "."
        if have:
            self.said.add((facet, have[0]))
            return self._phrase(facet, have[0])
        if mine:
            v = self.rng.choice(mine)
            self.said.add((facet, v))
            return "None of those. " + self._phrase(facet, v)
        return "I don't mind."

    def _phrase(self, facet: str, value: str) -> str:
        if facet == "era":
            return f"Something from {value}."
        if facet == "audience":
            return f"It's for {'adults' if value == 'adult' else value}."
        if facet == "mood":
            return f"Something {value}."
        return f"{value.capitalize()}, please."

    def _themes(self, n: int) -> list[str]:
        out = [t for t in self.themes if t not in self.said][:n]
        self.said.update(out)
        return [t.replace("-", " ") for t in out]

    def _volunteer(self) -> str:
        options = []
        if [k for k in self.keywords if k not in self.said]:
            options.append(lambda: self._answer("about", []))
        if [t for t in self.themes if t not in self.said]:
            options.append(lambda: "Maybe something with " + self._themes(1)[0] + ".")
        for f in ("audience", "era", "mood"):
            vals = [v for v in self.values[f] if (f, v) not in self.said]
            if vals:
                def say(f=f, vals=vals):
                    v = self.rng.choice(vals)
                    self.said.add((f, v))
                    return self._phrase(f, v)
                options.append(say)
        return self.rng.choice(options)() if options else ""

    def _reject_reason(self, book_id: int) -> str:
        idx = self.idx
        r = idx.row.get(int(book_id))
        if r is None:
            return ""
        reasons = []
        for f in ("genre", "mood"):
            extra = [v for v in idx.book_values(r, f) if v not in self.values[f]]
            if extra:
                v = self.rng.choice(extra)
                reasons.append(f"No {v} please." if f == "genre" else f"Nothing too {v}.")
        missing = [t for t in self.themes if t not in idx.book_tag_names(r)]
        if missing:
            t = missing[0]
            reasons.append(f"I'd like something with {t.replace('-', ' ')}.")
        ta, ba = self.values["era"], idx.book_values(r, "era")
        if ta and ba and ta[0] != ba[0]:
            ty, by = idx.years[self.row], idx.years[r]
            reasons.append("Something newer." if ty > by else "Something older.")
        return self.rng.choice(reasons) if reasons else ""


def simulate(engine, idx: BookIndex, rows: list[int], policy: str, max_turns: int,
             seed: int, tag: str = "sim") -> list[dict]:
    """Run one conversation per target row; returns per-target outcomes."""
    out = []
    for n, r in enumerate(rows):
        rng = random.Random(seed * 1_000_003 + int(idx.ids[r]))
        reader = Reader(idx, r, rng)
        sid = f"{tag}-{policy}-{seed}-{int(idx.ids[r])}"
        engine.store.catalog.conn.execute("DELETE FROM sessions WHERE id=?", (sid,))
        engine.store.load(sid, policy=policy)
        text, success, turns, ms = reader.opening(), None, 0, []
        transcript = []
        for t in range(1, max_turns + 1):
            reply = engine.turn(sid, text=text)
            ms.append(reply.ms)
            transcript.append((text, reply.text, reply.book_ids))
            turns = t
            text, accepted = reader.respond(reply)
            if accepted:
                success = t
                break
        out.append({"book_id": int(idx.ids[r]), "success_turn": success, "turns": turns,
                    "ms": ms, "transcript": transcript if n < 3 else None})
    return out


def summarise(results: list[dict]) -> dict:
    n = len(results)
    st = [r["success_turn"] for r in results]
    ok = [s for s in st if s is not None]
    return {"n": n,
            "success@1": sum(1 for s in ok if s <= 1) / n,
            "success@3": sum(1 for s in ok if s <= 3) / n,
            "success@5": sum(1 for s in ok if s <= 5) / n,
            "success@max": len(ok) / n,
            "mean_turns_to_success": float(np.mean(ok)) if ok else None}
