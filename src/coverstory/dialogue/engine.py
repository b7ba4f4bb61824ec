"""The dialogue engine: one turn in (text, photo or audio), one reply out.

>>> eng = DialogueEngine("/path/to/home")                              # doctest: +SKIP
>>> eng.turn("s1", text="a cosy mystery set in Venice, nothing too dark").to_dict()  # doctest: +SKIP

NLU (trained intent classifier + catalog-aware slots) -> session state (sessions table) ->
policy (rank, diversify, maybe ask one question) -> explanations -> templated reply
(optionally rephrased by an OpenAI-compatible endpoint). Search and recommendation are
the shared services (``coverstory.search.service.SearchService``,
``coverstory.recommend.service.RecommendService``), passed in or created on first use.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coverstory.catalog import Catalog
from coverstory.config import home_dir
from coverstory.dialogue import bookindex, intents
from coverstory.dialogue.explain import reason
from coverstory.dialogue.bookindex import _STOP
from coverstory.dialogue.lexicon import FACETS, NEGATIVE, NEGATORS, POSITIVE
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import NLU, Parse, tokens
from coverstory.dialogue.policy import Signals, hybrid_scores, make_policy
from coverstory.dialogue.state import SessionState, SessionStore

log = logging.getLogger(__name__)

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
spirit style read reads next xxbreakxx""".split())


RARE_SHARE = 0.003  # outside descriptions, a stray word counts when it singles out few books
SEARCH_WEIGHT = 0.3                  # share of SearchService.text in text relevance
_SENTIMENT = frozenset(w.replace("'", "") for p in (*POSITIVE, *NEGATIVE, *NEGATORS)
                       for w in p.split())


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


class DialogueEngine:
    """Conversational recommendation over one data home (see module docstring)."""

    def __init__(self, home=None, policy: str = "default", search=None, recommend=None,
                 catalog: Catalog | None = None, llm=None, seed: int = 0, k: int = 3):
        self.home = home_dir(home)
        self.catalog = catalog if catalog is not None else Catalog.open(self.home)
        self.policy_name = policy
        self.arms = ab_arms(policy)               # fail early on an unknown name
        self.seed = seed
        self.k = k
        self._search = search                     # None: created on first use; False: off
        self._recommend = recommend
        if llm is None:
            from coverstory.dialogue.llm import ChatAdapter

            llm = ChatAdapter.from_settings()
        self.llm = llm or None
        self.store = SessionStore(self.catalog)
        self._index = None
        self._nlu = None
        self._policies: dict[str, object] = {}
        self._broken: dict[str, float] = {}        # service call -> retry after (monotonic)
        self._text_cache: dict[str, list] = {}     # query -> search hits (same catalog)

    # ---- lazily built parts --------------------------------------------------------------
    @property
    def index(self) -> bookindex.BookIndex:
        if self._index is None:
            self._index = bookindex.for_home(self.home)
        return self._index

    @property
    def nlu(self) -> NLU:
        if self._nlu is None:
            self._nlu = NLU(self.index, intents.load_or_train(self.home))
        return self._nlu

    @property
    def search(self):
        if self._search is None:
            try:
                from coverstory.search.service import SearchService
            except ImportError as e:
                log.warning("SearchService not available (%s); text relevance uses the "
                            "dialogue's own term index only", e)
                self._search = False
            else:
                self._search = SearchService(self.home)
        return self._search or None

    @property
    def recommend(self):
        if self._recommend is None:
            try:
                from coverstory.recommend.service import RecommendService
            except ImportError as e:
                log.warning("RecommendService not available (%s); no profile scores", e)
                self._recommend = False
            else:
                self._recommend = RecommendService(self.home)
        return self._recommend or None

    def assign(self, session_id: str) -> str:
        """The policy of a new session: the engine's, or for "ab:a,b,..." one arm chosen by a
        stable hash of the session id (an existing session keeps the one it has)."""
        if len(self.arms) == 1:
            return self.arms[0]
        return self.arms[zlib.crc32(session_id.encode()) % len(self.arms)]

    def policy_for(self, name: str):
        p = self._policies.get(name)
        if p is None:
            p = self._policies[name] = make_policy(name, self.seed)
        return p

    def close(self) -> None:
        self.catalog.close()

    # ---- the public contract ------------------------------------------------------------
    def turn(self, session_id: str, text: str | None = None, photo: bytes | None = None,
             audio: bytes | None = None) -> Reply:
        t0 = time.perf_counter()
        st = self.store.load(session_id, policy=self.assign(session_id))
        st.turns += 1
        tpl = Templates(session_id, st.turns)
        if audio is not None and not text:
            from coverstory.dialogue import voice

            try:
                text = voice.transcribe(audio, self.home, self.index)
            except voice.VoiceUnavailable:
                return self._finish(st, Reply(session_id, tpl.say("voice_unavailable"), "help"),
                                    t0, text)
        if photo is not None:
            reply = self._photo_turn(st, tpl, photo, text)
        else:
            reply = self._text_turn(st, tpl, (text or "").strip())
        return self._finish(st, reply, t0, text)

    def feedback(self, session_id: str, book_id: int, kind: str) -> Reply:
        """A like / dislike / read on a book (buttons in the interfaces); replies with more."""
        if kind not in ("like", "dislike", "read"):
            raise ValueError(f"feedback kind must be like, dislike or read, not {kind!r}")
        t0 = time.perf_counter()
        st = self.store.load(session_id, policy=self.assign(session_id))
        st.turns += 1
        tpl = Templates(session_id, st.turns)
        if int(book_id) not in self.index.row:
            raise ValueError(f"no book with id {book_id} in the catalog")
        reply = self._after_feedback(st, tpl, [int(book_id)], kind)
        return self._finish(st, reply, t0, None)

    # ---- turns ----------------------------------------------------------------------------
    def _text_turn(self, st: SessionState, tpl: Templates, text: str) -> Reply:
        sid = st.session_id
        if not text:
            return Reply(sid, tpl.say("help"), "help")
        p = self.nlu.parse(text)
        intent = p.intent
        pending = st.question
        st.question = None
        if intent == "greeting" and not p.slots:
            return Reply(sid, tpl.say("greeting"), "greeting", parse=p.to_dict())
        if intent == "help":
            return Reply(sid, tpl.say("help"), "help", parse=p.to_dict())
        if intent == "reset":
            st.forget_preferences()
            return Reply(sid, tpl.say("reset"), "reset", parse=p.to_dict())
        if intent == "ask_about":
            return self._ask_about(st, tpl, p)
        if intent == "identify_photo" and not [s for s in p.slots if s.kind != "ref"]:
            return Reply(sid, tpl.say("photo_please"), "identify_photo", parse=p.to_dict())
        if intent == "feedback":
            targets = self._targets(st, p)
            if targets:
                toks = set(tokens(text))
                kinds = []
                if toks & {"read", "already", "finished", "reread"}:
                    kinds.append("read")
                if p.sentiment > 0.2 or (not kinds and p.sentiment >= 0 and
                                         not toks & {"no", "not", "nope"}):
                    kinds.append("like")
                elif p.sentiment < -0.2 or toks & {"no", "not", "nope"}:
                    kinds.append("dislike")
                reply = None
                for kind in kinds:
                    reply = self._after_feedback(st, tpl, targets, kind, parse=p)
                return reply
        # everything else updates the state, then recommends
        if pending and intent in ("dont_care",):
            st.asked.append(pending["facet"])
        self._reject_unaccepted(st, p)
        if intent == "similar_to" and any(s.kind == "title" and not s.negated and
                                          int(s.value) not in st.anchors for s in p.slots):
            st.forget_preferences()               # "like X" starts a new search
        self._apply(st, p, pending)
        if intent == "similar_to" and not st.anchors and st.last_books:
            st.anchors.append(st.last_books[0])
        describe = intent == "describe"
        return self._recommend_reply(st, tpl, intent if intent in (
            "describe", "similar_to", "refine") else "recommend", p, k=5 if describe else self.k,
            may_ask=not describe)

    def _photo_turn(self, st: SessionState, tpl: Templates, photo: bytes, text: str | None) -> Reply:
        sid = st.session_id
        search = self.search
        if search is None:
            return Reply(sid, tpl.say("photo_unavailable"), "identify_photo")
        res = search.photo(photo, k=5)
        best = getattr(res, "best", None)
        if getattr(res, "in_catalog", False) and best is not None:
            b = self.catalog.book(best.book_id)
            st.anchors = [best.book_id]
            st.shown.append(best.book_id)
            if text:
                self._apply(st, self.nlu.parse(text), None)
            rest = self._decide(st, k=self.k, may_ask=False, intent="similar_to")
            first = self._book_dict(b, best.score, "Matches your photo of the cover")
            reply = Reply(sid, tpl.say("photo_found", title=b.title, author=b.author or "unknown"),
                          "identify_photo", books=[first] + rest[0])
            st.last_books = [best.book_id] + [x["id"] for x in rest[0]]
            st.shown += [x["id"] for x in rest[0]]
            return reply
        hits = list(getattr(res, "suggestions", None) or getattr(res, "hits", []))[: self.k]
        books = []
        for h in hits:
            b = self.catalog.book(h.book_id)
            if b is not None:
                books.append(self._book_dict(b, h.score, h.reason or "Looks close to your photo"))
        st.last_books = [x["id"] for x in books]
        st.shown += st.last_books
        return Reply(sid, tpl.say("photo_unknown"), "identify_photo", books=books)

    # ---- state updates ----------------------------------------------------------------------
    def _apply(self, st: SessionState, p: Parse, pending: dict | None) -> None:
        idx = self.index
        used = set()
        for s in p.slots:
            used.update(range(s.start, s.end))
            if s.kind in FACETS:
                (st.exclude if s.negated else st.prefer)(s.kind, s.value)
            elif s.kind == "tag":
                (st.exclude if s.negated else st.prefer)("tag", s.value)
            elif s.kind == "author":
                (st.exclude if s.negated else st.prefer)("author", s.value)
            elif s.kind == "title":
                if s.score < 0.85 and p.intent != "similar_to":
                    used.difference_update(range(s.start, s.end))   # just words, then
                elif s.negated:
                    st.rejected.append(int(s.value))
                elif p.intent in ("similar_to", "recommend", "refine") and int(s.value) not in st.anchors:
                    st.anchors = (st.anchors + [int(s.value)])[-2:]
            elif s.kind == "refine":
                facet, val = str(s.value).split(":")
                if facet == "era":
                    ys = [idx.years[idx.row[b]] for b in st.last_books if b in idx.row]
                    ys = [int(y) for y in ys if not np.isnan(y)]
                    if val == "+":      # newer than (at least) the oldest book just shown
                        st.years = [min(ys) + 1 if ys else 2000, 3000]
                    else:
                        st.years = [-3000, max(ys) if ys else 1990]
                elif val.startswith("-"):
                    st.exclude(facet, val[1:])
                else:
                    st.prefer(facet, val)
        if p.years:
            st.years = list(p.years)
        if pending and pending["facet"] not in st.asked:
            st.asked.append(pending["facet"])
        # words that no slot explained are what the book should be about
        toks = tokens(p.text)
        rest = [t for i, t in enumerate(toks) if i not in used and t not in FILLER and len(t) > 2
                and t not in _STOP and t not in _SENTIMENT]
        if p.intent != "describe" and not (pending and pending["facet"] in ("about", "themes")):
            rare = max(3, RARE_SHARE * len(idx))                     # "venice", not "next"
            rest = [t for t in rest if 0 < idx.df_of(t) <= rare]
        if rest and p.intent not in ("dont_care",):
            st.about.append(" ".join(rest) if p.intent != "describe" else p.text)

    def _reject_unaccepted(self, st: SessionState, p: Parse) -> None:
        """Books just shown that the reader moved past are rejected when they say no."""
        if not st.last_books:
            return
        toks = set(tokens(p.text))
        if toks & {"no", "not", "nope", "none", "neither", "wrong", "nah"} or p.sentiment < -0.2:
            for b in st.last_books:
                if b not in st.rejected:
                    st.rejected.append(b)

    def _targets(self, st: SessionState, p: Parse) -> list[int]:
        out = []
        for s in p.slots:
            if s.kind == "ref":
                if s.value == "it":
                    if st.focus is not None:
                        out.append(st.focus)
                    elif st.last_books:
                        out.append(st.last_books[0])
                elif st.last_books and -len(st.last_books) <= int(s.value) < len(st.last_books):
                    out.append(st.last_books[int(s.value)])
            elif s.kind == "title":
                out.append(int(s.value))
        if not out and st.focus is not None:
            out.append(st.focus)
        elif not out and st.last_books:
            out.append(st.last_books[0])
        return list(dict.fromkeys(out))

    def _after_feedback(self, st: SessionState, tpl: Templates, targets: list[int], kind: str,
                        parse: Parse | None = None) -> Reply:
        rec = self.recommend
        for b in targets:
            if rec is not None:
                rec.feedback(st.user_id, b, kind)
            else:
                rating = {"like": 5.0, "dislike": 1.0}.get(kind)
                if rating is not None:
                    self.catalog.set_rating(st.user_id, b, rating, source="dialogue")
                self.catalog.log_event(kind, user_id=st.user_id, session_id=st.session_id,
                                       book_id=b, payload={"via": "dialogue"})
            if kind == "like":
                if b not in st.liked:
                    st.liked.append(b)
                if st.accepted is None:
                    st.accepted, st.accepted_turn = b, st.turns
                    self.catalog.log_event("accept", user_id=st.user_id, session_id=st.session_id,
                                           book_id=b, payload={"turns": st.turns,
                                                               "policy": st.policy})
                st.anchors = ([a for a in st.anchors if a != b] + [b])[-2:]
            elif kind == "dislike":
                if b not in st.rejected:
                    st.rejected.append(b)
                st.anchors = [a for a in st.anchors if a != b]
            elif kind == "read":
                if b not in st.read:
                    st.read.append(b)
        r = self.index.row.get(targets[0])
        title = self.index.titles[r] if r is not None else "that"
        st.focus = targets[0]
        key = {"like": "liked", "dislike": "disliked", "read": "read"}[kind]
        books, decision = self._decide(st, k=self.k, may_ask=False,
                                       intent="similar_to" if kind == "like" else "recommend")
        st.last_books = [b["id"] for b in books]
        st.shown += st.last_books
        return Reply(st.session_id, tpl.say(key, title=title), "feedback", books=books,
                     parse=parse.to_dict() if parse else {"feedback": kind, "book_id": targets[0]})

    def _ask_about(self, st: SessionState, tpl: Templates, p: Parse) -> Reply:
        targets = self._targets(st, p)
        if not targets:
            return Reply(st.session_id, tpl.say("no_books"), "ask_about", parse=p.to_dict())
        idx = self.index
        r = idx.row.get(targets[0])
        if r is None:
            return Reply(st.session_id, tpl.say("no_books"), "ask_about", parse=p.to_dict())
        st.focus = targets[0]
        title, author = idx.titles[r], ", ".join(idx.authors[r]) or "an unknown author"
        year = None if np.isnan(idx.years[r]) else int(idx.years[r])
        toks = set(tokens(p.text))
        if toks & {"who", "author", "wrote", "written", "writer"}:
            text = tpl.say("about_author", title=title, author=author)
        elif toks & {"when", "year", "published", "came", "old", "date"}:
            text = (tpl.say("about_year", title=title, year=year) if year
                    else f"I don't know when {title} was published.")
        elif idx.descriptions[r]:
            text = tpl.say("about_what", title=title, author=author,
                           summary=_summary(idx.descriptions[r]))
        else:
            tags = ", ".join(t.replace("-", " ") for t in idx.book_tags[r][:5]) or "nothing yet"
            text = tpl.say("about_unknown", title=title, tags=tags)
        card = self._card(r, 1.0, "The book you asked about")
        return Reply(st.session_id, text, "ask_about", books=[card], parse=p.to_dict())

    # ---- recommending ----------------------------------------------------------------------
    def _signals(self, st: SessionState, intent: str) -> Signals:
        idx = self.index
        sig = Signals()
        about = " ".join(st.about[-4:])
        if about:
            bm25, _ = idx.term_query(about)
            text = bm25 / max(float(bm25.max()), 1e-6)
            search = self.search
            if search is not None:
                hits = self._text_cache.get(about)
                if hits is None and self._broken.get("search.text", 0) <= time.monotonic():
                    try:
                        hits = search.text(about, k=200)
                    except Exception as e:  # noqa: BLE001 - a broken index must not end the chat
                        log.warning("text search failed (%s); not trying again for 10 minutes", e)
                        self._broken["search.text"] = time.monotonic() + 600
                        hits = None
                    if hits is not None:
                        if len(self._text_cache) > 256:
                            self._text_cache.clear()
                        self._text_cache[about] = hits
                if hits:
                    # the service finds titles and authors by name (the NLU's slots do that
                    # here) and, when MiniLM features are built, meaning; the dialogue's own
                    # term index covers shelves and descriptions: a weighted blend
                    sem = np.zeros(len(idx), np.float32)
                    top = max(h.score for h in hits) or 1.0
                    for h in hits:
                        r = idx.row.get(int(h.book_id))
                        if r is not None:
                            sem[r] = max(0.0, h.score / top)
                    text = (1 - SEARCH_WEIGHT) * text + SEARCH_WEIGHT * sem
            sig.text = text.astype(np.float32)
        if st.anchors:
            anchor = np.zeros(len(idx), np.float32)
            for a in st.anchors[-2:]:
                r = idx.row.get(int(a))
                if r is None:
                    continue
                title = idx.titles[r]
                # content: shared specific shelves and description words -- always available
                part = idx.similar_content(r)
                part[r] = 0.0
                for r2 in np.argsort(-part)[:20]:
                    sig.anchor_reason.setdefault(int(r2), f"shares shelves and themes with {title}")
                search, rec = self.search, self.recommend
                if search is not None:
                    sim = self._hits_array(lambda: search.similar(int(a), k=100), "search.similar")
                    part = np.maximum(part, sim)
                    for rr in np.flatnonzero(sim > 0.5):
                        sig.anchor_reason[int(rr)] = f"close to {title} in text and cover"
                if rec is not None:
                    cf = self._hits_array(lambda: rec.similar_items(int(a), k=100),
                                          "recommend.similar_items")
                    part = np.maximum(part, cf)
                    for rr in np.flatnonzero(cf > 0.3):
                        sig.anchor_reason[int(rr)] = f"readers who liked {title} liked this"
                part[r] = 0.0
                same = np.array([bool(set(a[:1]) & set(idx.authors[r][:1])) for a in idx.authors])
                part = np.where(same, 0.5 * part, part)        # not just the same series
                part = part / max(float(part.max()), 1e-6)       # the closest book = 1
                anchor = np.maximum(anchor, part)
            sig.anchor = anchor
        # the reader's profile, for the best few hundred by everything else
        rec = self.recommend
        if rec is not None and (st.liked or st.rejected):
            base, _ = hybrid_scores(idx, st, sig)
            top = np.argsort(-base)[:300]
            try:
                prof = np.asarray(rec.score(st.user_id, [int(idx.ids[r]) for r in top]), np.float32)
            except Exception as e:  # noqa: BLE001
                log.warning("profile scores failed: %s", e)
                prof = None
            if prof is not None and len(prof) and np.isfinite(prof).any():
                lo, hi = float(np.nanmin(prof)), float(np.nanmax(prof))
                span = hi - lo or 1.0
                sig.profile = {int(r): float((v - lo) / span) for r, v in zip(top, prof)}
        return sig

    def _hits_array(self, fn, name: str) -> np.ndarray:
        idx = self.index
        out = np.zeros(len(idx), np.float32)
        if self._broken.get(name, 0) > time.monotonic():
            return out
        try:
            hits = fn()
        except Exception as e:  # noqa: BLE001 - a missing model must not end the chat
            log.warning("%s failed (%s); not trying again for 10 minutes", name, e)
            self._broken[name] = time.monotonic() + 600
            return out
        if hits:
            top = max(h.score for h in hits) or 1.0
            for h in hits:
                r = idx.row.get(int(h.book_id))
                if r is not None:
                    out[r] = max(0.0, h.score / top)
        return out

    def _decide(self, st: SessionState, k: int, may_ask: bool, intent: str):
        idx = self.index
        sig = self._signals(st, intent)
        policy = self.policy_for(st.policy)
        d = policy.decide(idx, st, sig, k=k, may_ask=may_ask)
        about = " ".join(st.about[-4:])
        books = []
        for r, sc in zip(d.rows, d.scores):
            why = reason(idx, r, st, d.parts.get(r, {}), about,
                         anchor_reason=sig.anchor_reason.get(r, ""),
                         profile_reason="fits what you liked so far" if sig.profile.get(r, 0) > 0.8 else "")
            books.append(self._card(r, sc, why))
        return books, d

    def _recommend_reply(self, st: SessionState, tpl: Templates, intent: str, p: Parse,
                         k: int, may_ask: bool) -> Reply:
        had_rejections = bool(st.rejected) and bool(st.last_books)
        books, d = self._decide(st, k=k, may_ask=may_ask, intent=intent)
        if not books:
            return Reply(st.session_id, tpl.say("nothing"), intent, parse=p.to_dict())
        if intent == "describe":
            head = tpl.say("describe")
        elif intent == "similar_to" and st.anchors:
            r = self.index.row.get(st.anchors[-1])
            head = tpl.say("similar", anchor=self.index.titles[r] if r is not None else "that")
        elif had_rejections:
            head = tpl.say("recommend_after_reject")
        else:
            head = tpl.say("recommend")
        question = None
        if d.question:
            q = d.question
            question = tpl.question(q["facet"], q["options"])
            st.question = {"facet": q["facet"], "options": q["options"]}
            st.questions_in_row += 1
            if q["facet"] not in st.asked:
                st.asked.append(q["facet"])
        else:
            st.questions_in_row = 0
        st.last_books = [b["id"] for b in books]
        st.shown += st.last_books
        st.focus = None
        text = head + ("\n" + tpl.say("preview", question=question) if question else "")
        return Reply(st.session_id, text, intent, question=question, books=books,
                     question_facet=d.question["facet"] if d.question else None,
                     options=list(d.question["options"]) if d.question else [],
                     parse=p.to_dict())

    # ---- cards and bookkeeping ----------------------------------------------------------
    def _card(self, row: int, score: float, why: str) -> dict:
        idx = self.index
        y = idx.years[row]
        bid = int(idx.ids[row])
        return {"id": bid, "title": idx.titles[row], "authors": list(idx.authors[row]),
                "year": None if np.isnan(y) else int(y),
                "cover_url": f"/api/books/{bid}/cover" if idx.has_cover[row] else None,
                "score": round(float(score), 4), "reason": why}

    def _book_dict(self, b, score: float, why: str) -> dict:
        return {"id": b.id, "title": b.title, "authors": list(b.authors), "year": b.year,
                "cover_url": f"/api/books/{b.id}/cover" if b.cover_path else None,
                "score": round(float(score), 4), "reason": why}

    def _finish(self, st: SessionState, reply: Reply, t0: float, text: str | None) -> Reply:
        reply.policy = st.policy
        if self.llm is not None and reply.text:
            reply.text = self.llm.rephrase(reply.text, text)
        self.store.save(st)
        reply.ms = round((time.perf_counter() - t0) * 1000, 2)
        self.catalog.log_event("turn", user_id=st.user_id, session_id=st.session_id, payload={
            "intent": reply.intent, "policy": st.policy, "turn": st.turns,
            "books": reply.book_ids, "question": reply.question_facet, "ms": reply.ms})
        return reply


def ab_arms(policy: str) -> list[str]:
    """'default' -> ['default']; 'ab' -> all policies; 'ab:default,popular' -> those two."""
    from coverstory.dialogue.policy import POLICIES

    if policy == "ab":
        arms = sorted(POLICIES)
    elif policy.startswith("ab:"):
        arms = [a.strip() for a in policy[3:].split(",") if a.strip()]
    else:
        arms = [policy]
    for a in arms:
        make_policy(a)
    if not arms:
        raise ValueError("an A/B policy needs at least one arm, e.g. 'ab:default,popular'")
    return arms


def _summary(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    parts = re.split(r"(?<=[.!?])\s+", text)
    out = ""
    for s in parts:
        if len(out) + len(s) > limit and out:
            break
        out = (out + " " + s).strip()
    return out[:limit].rstrip() + ("…" if len(out) > limit else "")


def engine_for(home: str | Path | None = None, **kw) -> DialogueEngine:
    return DialogueEngine(home, **kw)
