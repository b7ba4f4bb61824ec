"""Reply shaping: the Reply contract, book cards (hits: no URLs — the HTTP layer adds them),
and the answers about one book (author, year, length, series, what it is about, why it was
suggested)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from coverstory.dialogue.bookindex import BookIndex
from coverstory.dialogue.constraints import author_mask
from coverstory.dialogue.lexicon import FACETS
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.signals import MIN_CO_READERS
from coverstory.dialogue.state import SessionState


@dataclass
class Reply:
    session_id: str
    text: str
    intent: str
    question: str | None = None
    books: list[dict] = field(default_factory=list)
    question_facet: str | None = None          # structured question (for simulators/tests)
    options: list[str] = field(default_factory=list)
    policy: str = "default"
    parse: dict | None = None
    ms: float = 0.0

    def to_dict(self) -> dict:
        return {"session_id": self.session_id, "text": self.text, "intent": self.intent,
                "question": self.question, "books": self.books}

    @property
    def book_ids(self) -> list[int]:
        return [b["id"] for b in self.books]


def card(idx: BookIndex, row: int, score: float, why: str) -> dict:
    """One book of a reply: id, title, authors, year, score, reason (no URLs)."""
    y = idx.years[row]
    return {"id": int(idx.ids[row]), "title": idx.titles[row], "authors": list(idx.authors[row]),
            "year": None if np.isnan(y) else int(y), "score": round(float(score), 4),
            "reason": why}


def summary(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    out = ""
    for s in re.split(r"(?<=[.!?])\s+", text):
        if len(out) + len(s) > limit and out:
            break
        out = (out + " " + s).strip()
    return out[:limit].rstrip() + ("…" if len(out) > limit else "")


def answer(idx: BookIndex, row: int, field_: str, tpl: Templates, age: int | None = None) -> str:
    """The answer to "who wrote it / when / how long / which series / what is it about / is
    it ok for a 7 year old" (``age``: the reader's age said in the question)."""
    title = idx.titles[row]
    if field_ == "audience":
        aud = next((a for a in ("children", "young adult") if idx.has("audience", a)[row]),
                   "adult")
        said = tpl.say("about_audience", title=title, audience=_AUDIENCE_SAY[aud])
        if age is None:
            return said
        low = {"children": 6, "young adult": 12, "adult": 16}[aud]
        an = "an" if str(age).startswith("8") or age in (11, 18) else "a"
        return said + " " + tpl.say("about_audience_fits" if age >= low else
                                    "about_audience_older", age=age, an=an)
    author = ", ".join(idx.authors[row]) or "an unknown author"
    if field_ == "title":
        return tpl.say("about_title", title=title, author=author)
    if field_ == "author":
        return tpl.say("about_author", title=title, author=author)
    if field_ == "year":
        y = idx.years[row]
        return (tpl.say("about_year", title=title, year=int(y)) if not np.isnan(y)
                else f"I don't know when {title} was published.")
    if field_ == "pages":
        p = idx.pages[row]
        return (tpl.say("about_pages", title=title, pages=int(p)) if not np.isnan(p)
                else tpl.say("about_pages_unknown", title=title))
    if field_ == "series":
        pos = idx.series.position(row)
        if pos is None:
            return tpl.say("about_series_none", title=title)
        return tpl.say("about_series", title=title, num=_num(pos[1]), series=pos[0])
    if idx.descriptions[row]:
        return tpl.say("about_what", title=title, author=author,
                       summary=summary(idx.descriptions[row]))
    tags = ", ".join(t.replace("-", " ") for t in idx.book_tags[row][:5]) or "nothing yet"
    return tpl.say("about_unknown", title=title, tags=tags)


_AUDIENCE_SAY = {"children": "a children's book", "young adult": "young adult",
                 "adult": "a book for adults"}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def explain(idx: BookIndex, row: int, st: SessionState, coreaders=None,
            versus: int | None = None) -> str:
    """Why a shown book was suggested: the stored reason, the constraints it satisfies,
    and, against a "like X" book, shared shelves and co-readers (with their number)."""
    title = idx.titles[row]
    bits = []
    stored = st.reasons.get(str(int(idx.ids[row])))
    if stored:
        bits.append(stored[0].lower() + stored[1:])
    passage = _passage(idx, row, " ".join(st.about[-4:]))
    if passage:
        bits.append(f"its description says “{passage}”")
    fits = satisfied(idx, row, st)
    if fits:
        bits.append("it fits what you asked for: " + ", ".join(fits))
    other = versus if versus is not None else (idx.row.get(st.anchors[-1]) if st.anchors else None)
    if other is not None and other != row:
        shared = [t.replace("-", " ") for t in idx.book_tag_names(row)
                  if t in set(idx.book_tag_names(other)) and t not in idx.facet_tags][:5]
        if shared:
            bits.append(f"like {idx.titles[other]}, it is shelved as " + ", ".join(shared))
        if coreaders is not None:
            _, co = coreaders.similar(other)
            if co[row] >= MIN_CO_READERS:        # a few co-readers are chance, not evidence
                bits.append(f"{int(co[row])} readers who liked {idx.titles[other]} also liked it")
    if not bits:
        bits.append("it is one of the closest matches to what you said")
    return f"I suggested {title} because " + "; ".join(dict.fromkeys(bits)) + "."


def _passage(idx: BookIndex, row: int, about: str, limit: int = 160) -> str:
    """The description sentence that shares most words with what the reader said."""
    desc = idx.descriptions[row]
    words = set(idx.matched_terms(row, about, limit=8)) if about and desc else set()
    if not words:
        return ""
    best, hits = "", 0
    for sent in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", desc)):
        k = sum(1 for w in words if re.search(rf"\b{re.escape(w)}", sent, re.I))
        if k > hits:
            best, hits = sent, k
    return best if len(best) <= limit else best[: limit - 1].rsplit(" ", 1)[0] + "…"


def satisfied(idx: BookIndex, row: int, st: SessionState) -> list[str]:
    """The stated constraints this book meets, in words."""
    out = []
    for a in st.prefs.get("author", {}):
        if author_mask(idx, a)[row]:
            out.append(f"by {a}")
    for facet in ("genre", "mood"):
        for v in st.prefs.get(facet, {}):
            if idx.has(facet, v)[row]:
                out.append(v)
    if st.audience and idx.has("audience", "children" if st.audience == "picture book"
                               else st.audience)[row]:
        out.append(f"for {st.audience}" + (" readers" if st.audience != "children" else ""))
    if st.pages and not np.isnan(idx.pages[row]):
        out.append(f"{int(idx.pages[row])} pages")
    if st.years and not np.isnan(idx.years[row]):
        out.append(f"published {int(idx.years[row])}")
    for kind, vals in st.excl.items():
        if vals and kind in FACETS:
            out.append("no " + ", no ".join(vals))
    return out
