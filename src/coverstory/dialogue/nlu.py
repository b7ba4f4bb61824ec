"""Understanding one utterance: the intent (trained classifier) and the slots (catalog-aware).

Slots are matched against what the catalog knows (``slots.py``: facet values, tags,
authors, titles, references to the books shown, negation); the years asked for come from
``years.py``; sentiment comes from a small lexicon.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from coverstory.dialogue.bookindex import BookIndex
from coverstory.dialogue.lexicon import CHOOSING, FACETS, NEGATIVE, POSITIVE
from coverstory.dialogue.slots import Slot, SlotMatcher, tokens
from coverstory.dialogue.years import years_range
from coverstory.dialogue.said import fix_ordinals

__all__ = ["NLU", "Parse", "Slot", "SlotMatcher", "sentiment", "tokens", "years_range"]


@dataclass
class Parse:
    text: str
    intent: str
    confidence: float
    slots: list[Slot] = field(default_factory=list)
    sentiment: float = 0.0          # -1 .. 1
    years: tuple[int, int] | None = None

    def of(self, kind: str, negated: bool | None = None) -> list[Slot]:
        return [s for s in self.slots if s.kind == kind and (negated is None or s.negated == negated)]

    def to_dict(self) -> dict:
        return asdict(self)


_FLIP = ("not", "didnt", "dont", "never", "wasnt", "isnt", "doesnt", "hardly")


def sentiment(toks: list[str]) -> float:
    """-1 .. 1 from a small lexicon; 'didn't like' and 'not good' flip."""
    text = " " + " ".join(toks) + " "
    score = 0.0
    for phrase in sorted(NEGATIVE, key=len, reverse=True):
        p = " " + phrase.replace("'", "") + " "
        if p in text:
            score -= text.count(p)
            text = text.replace(p, " ")
    for phrase in CHOOSING:
        if f" {phrase} " in text:
            score += text.count(f" {phrase} ")
    words = text.split()
    for i, w in enumerate(words):
        if w in POSITIVE:
            if w == "like" and not (i > 0 and words[i - 1] in ("i", "really", "we", "did", "do",
                                                                "would", "didnt", "dont")):
                continue
            flip = i > 0 and words[i - 1] in _FLIP or i > 1 and words[i - 2] in _FLIP
            score += -1 if flip else 1
    return float(np.tanh(score))


class NLU:
    """intent + slots + sentiment for one utterance."""

    def __init__(self, index: BookIndex, classifier):
        self.matcher = SlotMatcher(index)
        self.classifier = classifier

    def parse(self, text: str) -> Parse:
        intent, conf = self.classifier.predict(fix_ordinals(text))   # "the frist one"
        slots, toks = self.matcher.match(text)
        years = years_range(text)
        if years:
            have = {s.value for s in slots if s.kind == "era"}
            for v in FACETS["era"].values:
                if v.years[0] < years[1] and years[0] < v.years[1] and v.name not in have:
                    slots.append(Slot("era", v.name, False, 0, 0, "year", 0.9))
        return Parse(text=text, intent=intent, confidence=conf, slots=_corrected(slots, toks),
                     sentiment=sentiment(toks), years=years)


_CORRECTS = {("actually",), ("scratch", "that"), ("make", "that"), ("no", "wait"), ("i", "mean")}


def _corrected(slots: list[Slot], toks: list[str]) -> list[Slot]:
    """Authors named before a correction in the same message give way to the ones named
    after it ("novels by Kazuo Ishiguro and Julian Barnes? Actually, just Ishiguro.")."""
    for i in range(3, len(toks)):
        if tuple(toks[i:i + 1]) in _CORRECTS or tuple(toks[i:i + 2]) in _CORRECTS:
            if any(s.kind == "author" and s.start >= i for s in slots):
                return [s for s in slots if not (s.kind == "author" and s.end <= i)]
            after = set(toks[i:])                  # "actually, just Ishiguro": a surname said
            before = [s for s in slots if s.kind == "author" and s.end <= i]
            kept = [s for s in before if after & set(toks[s.start:s.end])]
            if kept and len(kept) < len(before):
                return [s for s in slots if s in kept or s not in before]
            break
    return slots
