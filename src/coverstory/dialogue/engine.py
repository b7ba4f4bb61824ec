"""The dialogue engine: the turn loop. One turn in (text, photo or audio), one reply out.

>>> eng = DialogueEngine("/path/to/home")                              # doctest: +SKIP
>>> eng.turn("s1", text="a cosy mystery set in Venice, nothing too dark").to_dict()  # doctest: +SKIP

A turn is first given its dialogue act (``acts.py``: small talk, explain, ask about a
book, more, "I've read those", title lookup, series, or a request); a request is parsed
(``nlu.py``: trained intent classifier + catalog-aware slots) and applied to the session
state (``update.py``: replace or refine typed constraints); the policy ranks the books
that pass the hard constraints (``constraints.py``) with the turn's signals
(``signals.py``); ``replies.py`` shapes the reply. Search and recommendation are the shared
services (``SearchService``, ``RecommendService``), passed in or created on first use.

This module holds the turn loop (load the session, give the turn its act, dispatch, save
and log); the handlers of the acts are the mixins of ``turns/``: a request
(``turns/request.py``), a question about a book (``turns/about.py``), a lookup
(``turns/lookup.py``), a series (``turns/series.py``), feedback (``turns/feedback.py``),
and the recommendation with the reply shaped around it (``turns/recommending.py``).
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from pathlib import Path

import numpy as np

from coverstory.catalog import Catalog
from coverstory.catalog.normalize import norm_title
from coverstory.config import home_dir
from coverstory.errors import BadInput, NotFound
from coverstory.dialogue import acts, bookindex, intents, sentences, update
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import NLU
from coverstory.dialogue.policy import make_policy
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.signals import SignalBuilder
from coverstory.dialogue.state import SessionState, SessionStore
from coverstory.dialogue.turns.about import AboutTurns
from coverstory.dialogue.turns.feedback import FeedbackTurns
from coverstory.dialogue.turns.lookup import LookupTurns
from coverstory.dialogue.turns.recommending import Recommending
from coverstory.dialogue.turns.request import RequestTurns
from coverstory.dialogue.turns.series import SeriesTurns
from coverstory.dialogue.turns.series_cue import SeriesCueTurns

log = logging.getLogger(__name__)

__all__ = ["DialogueEngine", "Reply", "ab_arms", "engine_for"]
_FOLLOW_UP = re.compile(r"^(?:and|what about|how about|and what about|also|ok and)?\s*(?:the\s+)?"
                        r"(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|other)"
                        r"(?:\s+one)?\s*\??$")


_VIBES = re.compile(r"^(?:(?:something|anything|books?) (?:with )?)?(?!.*\blike\b)([a-z0-9][\w' .:-]{2,60}?)"
                    r"\s+(?:vibes?|energy)\b(?: (?:please|pls|plz))?[^a-z]*$")
_ELSE = re.compile(r"^(?:and |ok |so )?(?:something|anything|another|some others?)\b.*\b(?:not by|else|"
                   r"other than|besides)\b")
_WHOLE = re.compile(r"\b(?:read|finished|done) (?:the )?(?:whole|entire|full) (?:trilogy|series|saga|lot|"
                    r"set)\b")
_CORRECTION = re.compile(r"\b(?:no wait|sorry|i mean|i meant|make that|scratch that)\b")
_BACK_TO = re.compile(r"^.*?\b(?:no|oh|wait)?,?\s*actually,?\s+([a-z][a-z .'-]{2,40}?) (?:was|is) "
                      r"(?:right|correct|the one)\W*$")


class DialogueEngine(RequestTurns, AboutTurns, LookupTurns, SeriesTurns, SeriesCueTurns,
                     FeedbackTurns, Recommending):
    """Conversational recommendation over one data home (see module docstring)."""

    def __init__(self, home=None, policy: str = "default", search=None, recommend=None,
                 catalog: Catalog | None = None, llm=None, seed: int = 0, k: int = 5):
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
        self.signals = SignalBuilder(self)

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
        st.stamp_limits()
        return self._finish(st, reply, t0, text)

    def feedback(self, session_id: str, book_id: int, kind: str) -> Reply:
        """A like / dislike / read on a book (buttons in the interfaces); replies with more."""
        if kind not in ("like", "dislike", "read"):
            raise BadInput(f"feedback kind must be like, dislike or read, not {kind!r}")
        t0 = time.perf_counter()
        st = self.store.load(session_id, policy=self.assign(session_id))
        st.turns += 1
        tpl = Templates(session_id, st.turns)
        if int(book_id) not in self.index.row:
            raise NotFound(f"no book with id {book_id} in the catalog")
        reply = self._after_feedback(st, tpl, [int(book_id)], kind)
        return self._finish(st, reply, t0, None)

    # ---- turns ----------------------------------------------------------------------------
    def _text_turn(self, st: SessionState, tpl: Templates, text: str) -> Reply:
        """One typed turn; a first sentence of feedback on the book talked about ("read it
        years ago and loved it. what else has he done?") is recorded, then the rest answered."""
        text = sentences.without_small_talk(text)
        text = self._corrected(text)
        lead = sentences.feedback_lead(text)
        target = st.focus if st.focus is not None else (st.last_books[0] if st.last_books
                                                        else None)
        alone = sentences.feedback_alone(text)
        if alone and target in self.index.row:     # "omg i loved that one as a kid"
            st.last_act = ""
            return self._after_feedback(st, tpl, [target], alone)
        if lead is None or target is None or target not in self.index.row:
            return self._dispatch(st, tpl, text)
        kinds, rest = lead
        for kind in kinds:
            self._note_feedback(st, [target], kind)
        st.focus = target
        reply = self._dispatch(st, tpl, rest)
        title = self.index.titles[self.index.row[target]]
        key = "like" if "like" in kinds else "dislike" if "dislike" in kinds else "read"
        reply.text = tpl.say(f"noted_{key}", title=title) + " " + reply.text
        return reply

    def _corrected(self, text: str) -> str:
        """A request with the author the reader corrected to: "books by terry goodkind... no
        wait, I meant terry pratchett" -> "books by terry pratchett"; "danielle steel? no wait,
        i meant nora roberts" or "sorry, i meant neal stephenson not gaiman" -> "actually,
        nora roberts" (a new topic). Other turns, and titles, are left as they are."""
        f = finder(self.index)
        back = _BACK_TO.match(acts.norm(text))     # "books by jojo moyes, no sorry jodi picoult,
        if back and f.author(back.group(1)):        # no actually jojo moyes was right"
            return "books by " + back.group(1)
        m = acts.CORRECTION.match(acts.norm(text))
        if not m:
            return text
        new = m.group("new").strip(" .")
        if f.author(new) is None:
            return text
        before = m.group("before").strip(" ,.?!-")
        by = re.search(r"\b(?:by|from)\s+([a-z][a-z .'-]+?)\W*$", before)
        if by:
            return before[: by.start(1)] + new
        if not before or f.author(before) is not None:
            return "actually, " + new
        return text

    def _other_one(self, st: SessionState, act: acts.Act) -> None:
        """'no, the other one - the kerouac' after The Road: that author's title closest to
        the book talked about (On the Road); words that name no author are the title."""
        from rapidfuzz import fuzz

        from coverstory.dialogue.constraints import author_mask

        idx = self.index
        author = finder(idx).author(act.sub)
        row = idx.row.get(st.focus) if st.focus is not None else None
        mine = np.flatnonzero(author_mask(idx, author)) if author and row is not None else []
        said = norm_title(idx.titles[row]) if row is not None else ""
        got = max(mine, key=lambda r: fuzz.token_set_ratio(said, norm_title(idx.titles[r])),
                  default=None)
        close = got is not None and fuzz.token_set_ratio(said, norm_title(idx.titles[got])) >= 70
        act.query, act.sub = (idx.titles[got], "") if close else (act.sub, "")

    def _bare_ordinal(self, st: SessionState, text: str, act: acts.Act) -> None:
        """"second one?" said alone: book 2 of the series when the one book shown is in one
        ("rivers of london by ben aaronovitch" -> Midnight Riot), else the second book shown
        (never a title lookup of "Second Son")."""
        first = self.index.row.get(st.last_books[0])
        acts.series_follow_up(text, act)
        if act.kind == "series" and act.sub == "number" and not (
                len(st.last_books) == 1 and first is not None and self.index.series.position(first)):
            act.kind, act.sub, act.number = "ask", "about", None
        elif act.kind != "series":
            act.kind, act.sub = "ask", "about"
    def _dispatch(self, st: SessionState, tpl: Templates, text: str) -> Reply:
        sid = st.session_id
        m = _VIBES.match(acts.norm(text))                        # "bel canto vibes pls": like
        got = finder(self.index).title(m.group(1)) if m else None   # the book, not the book
        text = f"something like {m.group(1)}" if got and got[1] >= 90 else text
        act = acts.classify(text)
        prev, st.last_act = st.last_act, ""
        act.prev_act = prev
        if prev.startswith("series") and act.kind in ("request", "more", "series") \
                and not act.query:
            acts.series_follow_up(text, act)       # "and then?", "and the third", "3rd?"
        elif act.kind in ("request", "more") and st.focus in self.index.row and \
                self.index.series.position(self.index.row[st.focus]):
            acts.series_follow_up_named(text, act)  # after "what's Still Life about?":
            #                                          "and the second book?"
            said = acts.nth_named(text) if act.kind != "series" else None
            row = self.index.row[st.focus]
            if said and self.index.series.num(row, self.index.series.find(said[1]) or "") is not None:
                act.kind, act.sub, act.number, act.query = "series", "number", said[0], said[1]
        if act.kind == "request" and prev and not prev.startswith("feedback") and \
                _FOLLOW_UP.match(acts.norm(text)):
            act.kind, _, act.sub = prev.partition(":")           # "and the third?"
        elif act.kind == "request" and st.last_books and _FOLLOW_UP.match(acts.norm(text)):
            self._bare_ordinal(st, text, act)                     # "second one?"
        if act.kind == "smalltalk":
            if act.sub in ("thanks", "ack"):          # "thanks!" then "and number four?"
                st.last_act = prev
            key = {"empty": "help"}.get(act.sub, act.sub)
            intent = {"help": "help", "capabilities": "help", "greeting": "greeting"}.get(key)
            return Reply(sid, tpl.say(key), intent or "smalltalk")
        if act.kind == "reset":
            st.forget_preferences()
            return Reply(sid, tpl.say("reset"), "reset")
        if act.kind == "request" and prev.startswith("series:"):
            got = self._member_described(st, tpl, text, prev.partition(":")[2])
            if got is not None:                       # "and the one where they sail to the
                return got                            # end of the world" (Narnia)
        if act.kind == "request" or act.kind == "ask" and not st.last_books and st.focus is None \
                or act.kind == "series" and (len(act.query.split()) >= 5 or _CORRECTION.search(text)):
            got = self._series_by_cue(st, tpl, text)   # "the discworld ones with moist von
            if got is not None:                        # lipwig the conman, first please"
                return got
        if act.kind in ("explain", "ask"):
            return self._about_book(st, tpl, text, act)
        if act.kind == "read_those":
            if prev.startswith("series"):
                st.last_act = prev                # "I've read the first three" / "so the fourth?"
            self._record(st, list(st.last_books)[: act.number or len(st.last_books)], "read")
            return self._recommend_reply(st, tpl, "more", None, head=tpl.say("read_those"))
        if act.kind == "more":
            st.question = None
            return self._recommend_reply(st, tpl, "more", None, head=tpl.say("more"))
        if act.kind == "series":
            if act.audience:                      # "my ten year old finished redwall, which
                st.set_audience(act.audience, act.age)               # next?": kept for later
            just_rated = prev.partition(":")[2] if prev.startswith("feedback:") else ""
            return self._series(st, tpl, act, text,
                                after=int(just_rated) if just_rated.isdigit() else None,
                                talked=prev.partition(":")[2] if prev.startswith("series:") else None)
        if act.kind == "request" and st.last_books and _WHOLE.search(acts.norm(text)):
            self._record(st, list(st.last_books), "read")    # "ive read the whole trilogy
            #                                                  already, what did he write after"
        if act.kind == "request" and prev.startswith("series:") and not st.anchors and \
                _ELSE.search(acts.norm(text)):    # "and something not by brian jacques for him"
            order = self.index.series.in_order(prev.partition(":")[2])   # after Redwall: like it
            st.anchors = [int(self.index.ids[order[0]])] if order else []
        if act.kind == "lookup" and not act.query:          # "no, the other one - the kerouac"
            self._other_one(st, act)
        if act.kind == "lookup":
            return self._lookup(st, tpl, act.query, said=text, hint=act.sub)
        return self._request(st, tpl, text, act)

    def _photo_turn(self, st: SessionState, tpl: Templates, photo: bytes, text: str | None) -> Reply:
        sid = st.session_id
        search = self.search
        if search is None:
            return Reply(sid, tpl.say("photo_unavailable"), "identify_photo")
        res = search.photo(photo, k=5)
        best = getattr(res, "best", None)
        idx = self.index
        if getattr(res, "in_catalog", False) and best is not None and best.book_id in idx.row:
            r = idx.row[best.book_id]
            st.forget_preferences()
            st.anchors = [best.book_id]
            st.shown.append(best.book_id)
            st.focus = best.book_id
            if text:
                act = acts.classify(text)
                update.apply(idx, st, self.nlu.parse(acts.masked_text(text, act.masked)), act, None)
            first = card(idx, r, best.score, "Matches your photo of the cover")
            reply = self._recommend_reply(st, tpl, "similar_to", None, may_ask=False,
                                          head=tpl.say("photo_found", title=idx.titles[r],
                                                       author=", ".join(idx.authors[r]) or "unknown"),
                                          first=first)
            reply.intent = "identify_photo"
            return reply
        hits = list(getattr(res, "suggestions", None) or getattr(res, "hits", []))[: self.k]
        books = [card(idx, idx.row[h.book_id], h.score, h.reason or "Looks close to your photo")
                 for h in hits if h.book_id in idx.row]
        self._shown(st, books)
        return Reply(sid, tpl.say("photo_unknown"), "identify_photo", books=books)

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


def engine_for(home: str | Path | None = None, **kw) -> DialogueEngine:
    return DialogueEngine(home, **kw)
