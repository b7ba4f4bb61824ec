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
"""

from __future__ import annotations

import logging
import re

import numpy as np
import time
import zlib
from pathlib import Path

from coverstory.catalog import Catalog
from coverstory.catalog.normalize import fold, norm_title
from coverstory.config import home_dir
from coverstory.errors import BadInput, NotFound
from coverstory.dialogue import acts, bookindex, intents, replies, update
from coverstory.dialogue.constraints import author_mask, describe_relaxed
from coverstory.dialogue.explain import reason
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import NLU, Parse, Slot, tokens
from coverstory.dialogue.policy import make_policy
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.signals import SignalBuilder
from coverstory.dialogue.state import SessionState, SessionStore

log = logging.getLogger(__name__)

__all__ = ["DialogueEngine", "Reply", "ab_arms", "engine_for"]
_FOLLOW_UP = re.compile(r"^(?:and|what about|how about|and what about|also|ok and)?\s*(?:the\s+)?"
                        r"(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|other)"
                        r"(?:\s+one)?\s*\??$")
_LIKE_THAT = re.compile(r"\b(?:like|similar to) (?:that|this|it|those|these|them|the (?:first|"
                        r"second|third|fourth|fifth|last) one)\b|^more like\b")
_WHATS_X_ABOUT = re.compile(r"^(?:so )?what(?:'s| is) (.{3,60}?) about\??$")
_PRONOUNS = frozenset({"it", "that", "this", "they", "that one", "this one", "the first one",
                       "the second one", "the third one", "the last one"})
_THAT_AUTHOR = re.compile(r"\b(?:that|this|the same|same|her|his|their) (?:author|writer)\b|"
                          r"\b(?:more|anything|something|others?|books?) (?:else )?(?:by|from) "
                          r"(?:him|her|them)\b")
_LIKE_THEM = re.compile(r"\blike (?:his|her|their|him|them)\b|\bsimilar\b|\bwho else\b|"
                        r"\bwrites? like\b|\bin (?:his|her|their) (?:style|vein)\b")
_GENERIC = (r"\b(?:books?|novels?|stuff|something|anything|some|any|more|others?|ones|"
            r"titles?|works?|series|stories|story|written|everything|all|what|which|who|"
            r"recommend|suggest|read|give|show|find|want|like|else)\b")
_NEGATED = (r"^(?:and |but |also |oh |ok |okay |so )?(?:not|no|nothing|none|never|without|except|"
            r"anything but|other than|someone other|something other)\b")
_WORKS = frozenset({"ones", "books", "novels", "stuff", "mysteries", "titles"})
_NAME_FILLER = frozenset("""more some any books book novels novel stuff something anything else
by from please of the what about how else other others again like has got have did does
written wrote""".split())
_BY = re.compile(r"\b(?:by|from)\s+([a-z][a-z .'-]+?)\s*(?:$|[,.!?]| but | and | that | from | with | in |"
                 r" under | before | after | please| for )")
_OTHER_AUTHOR = re.compile(r"\b(?:different|other|another|new) (?:author|writer)s?\b|"
                           r"\bsomeone else\b|\bwho else\b|\bnot (?:him|her|them) again\b|"
                           r"\b(?:read|has|have|owns?|own) (?:everything|all)\b|\bother than\b|"
                           r"\bbesides\b|\bapart from\b|\bwrites? like\b|\bauthors? like\b|"
                           r"\bsimilar (?:authors?|writers?)\b")
_NOT_BY = re.compile(r"\b(?:nothing|not|no|except|anything but|never|none)\s+(?:\w+\s+)?"
                     r"(?:by|from)\s")


class DialogueEngine:
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
        sid = st.session_id
        act = acts.classify(text)
        prev, st.last_act = st.last_act, ""
        if prev.startswith("series") and act.kind in ("request", "more", "series") \
                and not act.query:
            acts.series_follow_up(text, act)       # "and then?", "and the third", "3rd?"
        if act.kind == "request" and prev and not prev.startswith("feedback") and \
                _FOLLOW_UP.match(acts.norm(text)):
            act.kind, _, act.sub = prev.partition(":")           # "and the third?"
        if act.kind == "smalltalk":
            key = {"empty": "help"}.get(act.sub, act.sub)
            intent = {"help": "help", "capabilities": "help", "greeting": "greeting"}.get(key)
            return Reply(sid, tpl.say(key), intent or "smalltalk")
        if act.kind == "reset":
            st.forget_preferences()
            return Reply(sid, tpl.say("reset"), "reset")
        if act.kind in ("explain", "ask"):
            return self._about_book(st, tpl, text, act)
        if act.kind == "read_those":
            self._record(st, list(st.last_books)[: act.number or len(st.last_books)], "read")
            return self._recommend_reply(st, tpl, "more", None, head=tpl.say("read_those"))
        if act.kind == "more":
            st.question = None
            return self._recommend_reply(st, tpl, "more", None, head=tpl.say("more"))
        if act.kind == "series":
            just_rated = prev.partition(":")[2] if prev.startswith("feedback:") else ""
            return self._series(st, tpl, act, text,
                                after=int(just_rated) if just_rated.isdigit() else None)
        if act.kind == "lookup":
            return self._lookup(st, tpl, act.query)
        return self._request(st, tpl, text, act)

    def _request(self, st: SessionState, tpl: Templates, text: str, act: acts.Act) -> Reply:
        sid = st.session_id
        p = self.nlu.parse(acts.masked_text(text, act.masked))
        self._fuzzy_author(p)
        if not p.of("author") and (act.same_author or _THAT_AUTHOR.search(fold(text))):
            b = self._target(st, p, text)
            r = self.index.row.get(b) if b is not None else None
            if r is not None and self.index.authors[r]:
                _add_author(p, self.index.authors[r][0], False, "that author")
        content = [s for s in p.slots if s.kind != "ref"]
        intent = p.intent
        pending = st.question
        st.question = None
        if intent == "help" and re.search(r"\b(?:recommend|suggest|read next|should i read)\b",
                                          fold(text)):
            intent = p.intent = "recommend"            # "what do you recommend?" wants books
        if intent in ("greeting", "help") and not content and not act.audience:
            return Reply(sid, tpl.say(intent), intent, parse=p.to_dict())
        if intent == "reset" and not content:
            st.forget_preferences()
            return Reply(sid, tpl.say("reset"), "reset", parse=p.to_dict())
        if not act.audience and not act.pages and (self._names_a_title(p) or (
                len(tokens(p.text)) <= 9 and self._asks_for_title_by(text))):
            return self._lookup(st, tpl, text)
        if intent == "ask_about" and not self._refers_to_shown(st, p):
            intent = p.intent = "describe"             # a long description, not a question
        if intent == "ask_about" and not content:
            act.kind, act.sub = "ask", "about"
            return self._about_book(st, tpl, text, act)
        if intent == "identify_photo" and not content:
            return Reply(sid, tpl.say("photo_please"), "identify_photo", parse=p.to_dict())
        if intent == "feedback":
            done = self._word_feedback(st, tpl, p)
            if done is not None:
                return done
        if pending and intent == "dont_care":
            st.asked.append(pending["facet"])
        other_author = bool(_OTHER_AUTHOR.search(fold(text)))
        before = [a for b in st.last_books[:3] for a in self.index.authors[self.index.row[b]][:1]
                  if b in self.index.row]
        named = [s for s in p.slots if s.kind == "author"]
        # "I've read everything Dan Brown wrote, who else?", "other than King, but like his
        # books": not X, but like X; "nothing by King, I've read all of his": just not X
        read_all = other_author and named and (
            any(not s.negated for s in named) or bool(_LIKE_THEM.search(fold(text))))
        if read_all:          # "I've read everything Dan Brown wrote, who else writes like that?"
            for s in named:
                s.negated = True
        if update.is_new_topic(st, p, act) or read_all:
            st.forget_preferences()
        if read_all:
            rows = np.flatnonzero(author_mask(self.index, str(named[0].value)))
            if len(rows):
                st.anchors = [int(self.index.ids[rows[np.argmax(self.index.popularity[rows])]])]
        elif other_author and before:                     # "but by a different author"
            st.exclude("author", max(set(before), key=before.count))
        self._reject_unaccepted(st, p)
        if intent == "similar_to" and any(s.kind == "title" and not s.negated and
                                          int(s.value) not in st.anchors for s in p.slots):
            st.forget_preferences()               # "like X" starts a new search
        update.apply(self.index, st, p, act, pending)
        if intent == "similar_to" and st.last_books and (
                any(x.kind == "ref" for x in p.slots) or _LIKE_THAT.search(fold(text))):
            ref = self._target(st, p, text)            # "more like the second one"
            st.anchors = [ref if ref is not None else st.last_books[0]]
        intent = p.intent                      # a long story turns a request into "describe"
        describe = intent == "describe"
        kind = intent if intent in ("describe", "similar_to", "refine") else "recommend"
        return self._recommend_reply(st, tpl, kind, p, may_ask=not describe)

    def _refers_to_shown(self, st: SessionState, p: Parse) -> bool:
        toks = tokens(p.text)
        return bool(st.last_books or st.focus) and (
            any(s.kind == "ref" for s in p.slots) or len(toks) <= 6)

    def _fuzzy_author(self, p: Parse) -> None:
        """'books by agatha cristie': an author named after "by" with a typo."""
        if p.of("author"):
            return
        t = fold(p.text) + " "
        m = _BY.search(t)
        rest = [w for w in t.split() if w not in _NAME_FILLER and w not in ("a", "an")]
        f = finder(self.index)
        if m and not re.match(r"(?:a|an|the|some|any)\b", m.group(1)):
            said = m.group(1)
        elif 0 < len(rest) <= 3 and not [s for s in p.slots if s.kind != "ref"]:
            said = " ".join(rest)                                   # just a name: "orwell"
            if f.author(said) is None and len(rest) == 3:           # "a tennesee williams play"
                said = next((" ".join(rest[i:i + 2]) for i in (0, 1)
                             if f.author(" ".join(rest[i:i + 2]))), said)
        else:                                                       # "all the austen ones"
            toks = t.split()
            said = next((w for i, w in enumerate(toks[:-1]) if toks[i + 1] in _WORKS
                         and w in f.by_surname), None)
            if said is None:
                return
        name = f.author(said)
        if name:
            _add_author(p, name, bool(_NOT_BY.search(t)), said)

    def _names_a_title(self, p: Parse) -> bool:
        """The whole utterance is a title (typos allowed): 'harry poter and the prisoner of
        azkban', 'snowcrash', 'Americanah'."""
        toks = tokens(p.text)
        if len(toks) < 2:                 # one word: only a long one that is a title
            if not toks or len(fold(p.text).replace(" ", "")) < 6 or p.slots:
                return False
            got = finder(self.index).title(p.text)
            return got is not None and got[1] >= 92
        got = finder(self.index).title(p.text)
        if got is None:
            return False
        slots = any(s.kind in ("genre", "mood", "audience", "author", "tag", "refine", "era")
                    for s in p.slots)
        return got[1] >= (95 if slots else 90)

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

    # ---- turns about one book ----------------------------------------------------------
    def _target(self, st: SessionState, p: Parse, text: str, prefer_shown: bool = True) -> int | None:
        """The book a turn is about: an ordinal ("the second"), a shown title, a named title,
        "it" (the book last talked about), else the first book just shown."""
        for s in p.slots:
            if s.kind == "ref" and s.value != "it" and st.last_books \
                    and -len(st.last_books) <= int(s.value) < len(st.last_books):
                return st.last_books[int(s.value)]
        t = " " + fold(text) + " "
        for b in list(st.last_books) + list(reversed(st.shown)):
            r = self.index.row.get(b)
            if r is not None:
                nt = norm_title(self.index.titles[r])
                if len(nt) >= 4 and f" {nt} " in t:
                    return b
        if not prefer_shown:
            for s in p.slots:
                if s.kind == "title" and s.score >= 0.85:
                    return int(s.value)
        if st.focus is not None:
            return st.focus
        return st.last_books[0] if st.last_books else None

    def _about_book(self, st: SessionState, tpl: Templates, text: str, act: acts.Act) -> Reply:
        """'why the second one?', 'who wrote it?', 'how long is it?' — no feedback recorded."""
        idx = self.index
        p = self.nlu.parse(text)
        target = self._target(st, p, text, prefer_shown=act.kind == "explain")
        m = _WHATS_X_ABOUT.match(acts.norm(text))
        if act.kind == "ask" and m and m.group(1) not in _PRONOUNS:   # "what's Rebecca about?"
            got = finder(idx).title(acts.title_query(m.group(1)))
            if got is not None:
                target = int(idx.ids[got[0]])
        elif act.kind == "ask" and act.sub in acts.ASK and not any(s.kind == "ref" for s in p.slots):
            rest = re.sub(acts.ASK[act.sub], " ", acts.norm(text))      # "East of Eden - how
            rest = re.sub(r"[^a-z0-9' ]+", " ", rest).strip()             # long is it?"
            rest = re.sub(r"^(?:and|so|ok|but)\s+|\s+(?:is it|it is|it|is)$", "", rest).strip()
            words = set(rest.split()) - {"the", "one", "ones", "all", "both", "book", "books"}
            named = len(rest) >= 4 and not words <= (_PRONOUNS | {"them", "they", "those", "these"})
            got = finder(idx).title(rest) if named else None
            if got is not None and got[1] >= 92:
                target = int(idx.ids[got[0]])
        if target is None or target not in idx.row:
            key = "explain_none" if act.kind == "explain" else "no_books"
            return Reply(st.session_id, tpl.say(key), act.kind, parse=p.to_dict())
        r = idx.row[target]
        st.focus = target
        st.last_act = f"{act.kind}:{act.sub}"
        if act.sub == "compare":
            return self._compare(st, tpl, text)
        if act.sub == "series" and re.search(r"\b(?:any|them|they|these|those|all)\b", fold(text)):
            found = [(b, idx.series.position(idx.row[b])) for b in st.last_books if b in idx.row]
            found = [(b, pos) for b, pos in found if pos]
            if not found:
                return Reply(st.session_id, tpl.say("series_none_of_them"), "ask_about")
            said = "; ".join(f"{idx.titles[idx.row[b]]} is #{replies._num(pos[1])} of {pos[0]}"
                             for b, pos in found)
            return Reply(st.session_id, said + ".", "ask_about",
                         books=[card(idx, idx.row[b], 1.0, f"#{replies._num(pos[1])} of {pos[0]}")
                                for b, pos in found])
        if act.kind == "explain":
            versus = next((idx.row.get(int(s.value)) for s in p.slots if s.kind == "title"
                           and int(s.value) != target and s.score >= 0.85), None)
            text_out = replies.explain(idx, r, st, self.signals.coreaders, versus=versus)
            return Reply(st.session_id, text_out, "explain", parse=p.to_dict())
        text_out = replies.answer(idx, r, act.sub or "about", tpl)
        return Reply(st.session_id, text_out, "ask_about",
                     books=[card(idx, r, 1.0, "The book you asked about")], parse=p.to_dict())

    def _compare(self, st: SessionState, tpl: Templates, text: str) -> Reply:
        """'which one is the shortest?' among the books just shown."""
        idx = self.index
        rows = [idx.row[b] for b in st.last_books if b in idx.row]
        t = fold(text)
        pages = any(w in t for w in ("shortest", "longest", "quickest"))
        fame = any(w in t for w in ("famous", "popular", "best"))
        vals = idx.popularity if fame else idx.pages if pages else idx.years
        known = [r for r in rows if not np.isnan(vals[r])]
        if not known:
            return Reply(st.session_id, tpl.say("compare_unknown", what="lengths" if pages
                                                else "years"), "ask_about")
        low = any(w in t for w in ("shortest", "quickest", "oldest", "earliest"))
        r = min(known, key=lambda x: vals[x]) if low else max(known, key=lambda x: vals[x])
        word = next(w for w in ("shortest", "quickest", "longest", "newest", "most recent",
                                "latest", "oldest", "earliest", "most famous", "most popular",
                                "best known", "best") if w in t)
        fact = ("the most read of them here" if fame else
                f"{int(vals[r])} pages" if pages else f"published {int(vals[r])}")
        note = "" if len(known) == len(rows) else tpl.say("compare_partial", n=len(known),
                                                           m=len(rows))
        st.focus = int(idx.ids[r])
        return Reply(st.session_id, tpl.say("compare", word=word, title=idx.titles[r], fact=fact)
                     + note, "ask_about", books=[card(idx, r, 1.0, "The book you asked about")])

    def _title_by(self, text: str) -> tuple[int | None, str | None, bool]:
        """'the big sleep chandler', 'Circe by Madeline Miller': (the row of that title among
        the author's books or None, the author found or None, whether the phrase named an
        author at all: "X by Y" or a trailing catalog author)."""
        f = finder(self.index)
        q = re.sub(r"^(?:the book|the novel|a book called|book called|called)\s+", "",
                   fold(re.sub(r"[,.!?]*\s*(?:please|pls|thanks)?\W*$", "", text.strip())))
        if re.match(_NEGATED, q):                  # "nothing by Lee Child", "not by X": a rule
            return None, None, False
        m = re.match(r"^(.{3,}?)\s+(?:by|from)\s+([a-z][a-z .'-]{2,})$", q)
        splits = [(m.group(1), m.group(2), True)] if m else []
        words = q.split()
        for n in (3, 2, 1):                         # a trailing author name or surname
            if len(words) >= n + 1:
                splits.append((" ".join(words[:-n]), " ".join(words[-n:]), False))
        for title_part, name_part, said_by in splits:
            author = f.author(name_part)
            if author is None:
                if said_by:
                    return None, None, True
                continue
            return f.title_of(title_part, author), author, True
        return None, None, False

    def _asks_for_title_by(self, text: str) -> bool:
        """'the big sleep chandler' (that author's title) or 'Circe by Madeline Miller' (a
        title by an author, found or not) rather than 'a mystery by Agatha Christie'."""
        row, author, named = self._title_by(text)
        if row is not None:
            return True
        m = re.match(r"^(?:the )?(.{3,}?)\s+by\s+", fold(text))
        if not named or not m or re.search(_GENERIC, m.group(1)):
            return False
        return not [s for s in self.nlu.parse(m.group(1)).slots if s.kind != "title"]

    def _lookup(self, st: SessionState, tpl: Templates, query: str) -> Reply:
        """'do you have X?': X first (then books like it), or the closest titles."""
        idx = self.index
        f = finder(idx)
        q = acts.title_query(query)
        got = f.title(q)
        if got is None or got[1] < 95:
            row, by, named = self._title_by(query)
            if row is not None:
                got = (row, 100.0)
            elif named:
                got = None                              # "X by Y": not that author's X
                q = re.split(r"\s+(?:by|from)\s+", q)[0]
        author = f.author(q) if got is None or got[1] < 95 else None
        if author is not None:
            st.forget_preferences()
            st.prefer("author", author)
            return self._recommend_reply(st, tpl, "recommend", None, may_ask=False,
                                         head=tpl.say("author_books", author=author))
        if got is None:
            close = [(r, s) for r, s in f.titles(q, limit=3, cutoff=60)
                     if int(idx.ids[r]) not in st.rejected]
            books = [card(idx, r, s / 100, "A close title") for r, s in close]
            self._shown(st, books)
            key = "lookup_missing" if books else "lookup_none"
            return Reply(st.session_id, tpl.say(key, query=query.strip(" ?")), "lookup", books=books)
        r = got[0]
        bid = int(idx.ids[r])
        st.forget_preferences()
        st.anchors, st.focus = [bid], bid
        first = card(idx, r, 1.0, "The book you asked about")
        st.shown.append(bid)
        if idx.series.position(r):
            st.last_act = "series:"                 # "and the second part?"
        reply = self._recommend_reply(
            st, tpl, "lookup", None, may_ask=False, first=first,
            head=tpl.say("lookup_found", title=idx.titles[r],
                         author=(idx.authors[r] or ["an unknown author"])[0]))
        return reply

    def _series(self, st: SessionState, tpl: Templates, act: acts.Act, text: str,
                after: int | None = None) -> Reply:
        """'what comes after X?', 'the one before X', 'X book 2', 'X in order', 'the last one'
        (``after``: the book the reader's previous turn rated, "next?" after a button)."""
        idx = self.index
        ser = idx.series
        row, key = None, None
        if act.query in _PRONOUNS or act.query in ("the series", "series", "this series",
                                                    "that series", "the one"):
            act.query = ""
        if act.query:
            got = finder(idx).title(acts.title_query(act.query))
            if act.sub in ("next", "previous") and got and ser.position(got[0]):
                row = got[0]                    # a title that is also a series name
            else:
                key = ser.find(act.query)
                row = got[0] if got and key is None else None
            if row is None and key is None:
                row, key = self._series_named(act.query)
        passing = None
        if row is None and key is None:                  # a title named in passing
            p = self.nlu.parse(text)
            named = [idx.row.get(int(s.value)) for s in p.slots if s.kind == "title"
                     and s.score >= 0.85]
            named = [r for r in named if r is not None]
            passing = named[-1] if named else None
            named = [r for r in named if ser.position(r)]
            row = named[-1] if named else None
        if row is None and key is None and passing is None and after in idx.row:
            row = idx.row[after]
        if row is None and key is None and passing is None:
            b = st.focus if st.focus is not None else (st.last_books[0] if st.last_books else None)
            row = idx.row.get(b) if b is not None else None
        if key is None and row is not None and ser.position(row):
            key = ser.of_row[row][0]
        row = passing if row is None and key is None else row
        if key is None:
            if row is None:
                return Reply(st.session_id, tpl.say("series_unknown"), "series")
            if act.sub == "next" and (act.query or passing is not None):
                # "what should I read after Ready Player One": no sequel, so books like it
                like = f"something like {norm_title(idx.titles[row])}"
                return self._request(st, tpl, like, acts.classify(like))
            return Reply(st.session_id, tpl.say("series_none", title=idx.titles[row]), "series",
                         books=[card(idx, row, 1.0, "The book you asked about")])
        name = ser.names[key]
        order = ser.in_order(key)
        if act.sub == "first" or (row is None and act.sub in ("next", "previous")):
            return self._series_list(st, tpl, order, name)
        if act.sub in ("number", "last"):
            step = ser.number(key, act.number) if act.sub == "number" else (order[-1] if order else None)
            if step is None:
                return self._series_list(st, tpl, order, name)
            rows = [step] + [r for r in order if r != step][: self.k - 1]
            return self._series_reply(st, tpl.say("series_book", num=replies._num(
                ser.position(step)[1]), series=name, title=idx.titles[step]), rows, name, step)
        title = idx.titles[row]
        step = ser.next(row) if act.sub == "next" else ser.previous(row)
        if step is None:
            return Reply(st.session_id, tpl.say("series_last" if act.sub == "next" else
                                                "series_first_book", title=title, series=name),
                         "series", books=[card(idx, row, 1.0, "The book you asked about")])
        num = replies._num(ser.position(step)[1])
        text_out = tpl.say("series_next" if act.sub == "next" else "series_prev", title=title,
                           next=idx.titles[step], prev=idx.titles[step], num=num, series=name)
        later = [r for r in order if act.sub == "next" and ser.position(r)[1] > ser.position(step)[1]]
        return self._series_reply(st, text_out, [step] + later[: self.k - 1], name, step)

    def _series_named(self, query: str) -> tuple[int | None, str | None]:
        """(row, series key) a series request names with an author in it: 'hyperion dan
        simmons' (that author's title), "asimov's foundation books" (the series once the
        author's name is set aside), "robert galbraith's detective series" (the author's
        most read series)."""
        idx, ser, f = self.index, self.index.series, finder(self.index)
        row, author, _ = self._title_by(query)
        if row is not None:
            return row, None
        words = [w for w in fold(query).split() if w != "s"]    # fold: "asimov's" -> "asimov s"
        for n in (3, 2, 1):
            for i in range(len(words) - n + 1):
                name = f.author(" ".join(words[i:i + n]))
                if name is None:
                    continue
                mine: dict[str, float] = {}             # the author's series, by readers
                for r in np.flatnonzero(author_mask(idx, name)):
                    k = ser.of_row.get(int(r), (None,))[0]
                    if k is not None:
                        mine[k] = mine.get(k, 0.0) + 1.0 + float(idx.popularity[r])
                rest = " ".join(words[:i] + words[i + n:])
                key = ser.find(rest) if rest.strip() else None
                if key in mine:
                    return None, key
                return None, max(mine, key=mine.get) if mine else None
        return None, None

    def _series_reply(self, st, text: str, rows: list[int], name: str, focus: int) -> Reply:
        idx = self.index
        books = [card(idx, r, 1.0, f"#{replies._num(idx.series.position(r)[1])} of {name}")
                 for r in rows]
        self._shown(st, books)
        st.focus = int(idx.ids[focus])
        st.last_act = "series:"
        return Reply(st.session_id, text, "series", books=books)

    def _series_list(self, st, tpl, rows, name) -> Reply:
        idx = self.index
        if not rows:
            return Reply(st.session_id, tpl.say("series_unknown"), "series")
        books = [card(idx, r, 1.0, f"#{replies._num(idx.series.position(r)[1])} of {name}")
                 for r in rows[: max(self.k, 7)]]
        st.focus = books[0]["id"]
        self._shown(st, books)
        st.last_act = "series:"
        return Reply(st.session_id, tpl.say("series_first", series=name, first=books[0]["title"]),
                     "series", books=books)

    # ---- feedback ----------------------------------------------------------------------------
    def _word_feedback(self, st: SessionState, tpl: Templates, p: Parse) -> Reply | None:
        """'I loved the second one', 'already read it', 'not for me': feedback in words."""
        toks = set(tokens(p.text))
        kinds = []
        if toks & {"read", "already", "finished", "reread"}:
            kinds.append("read")
        if p.sentiment > 0.2:
            kinds.append("like")
        elif p.sentiment < -0.2 or toks & {"no", "not", "nope"}:
            kinds.append("dislike")
        if not kinds or [s for s in p.slots if s.kind not in ("ref", "title")
                         and s.surface != "for me"]:   # ("the third isn't for me" is feedback)
            return None                       # "not by Rick Riordan, he's read them all"
        targets = [t for t in [self._target(st, p, p.text, prefer_shown=False)] if t is not None]
        if not targets:
            return None
        reply = None
        for kind in kinds:
            reply = self._after_feedback(st, tpl, targets, kind, parse=p)
        return reply

    def _record(self, st: SessionState, books: list[int], kind: str) -> None:
        rec = self.recommend
        for b in books:
            if rec is not None:
                rec.feedback(st.user_id, b, kind)
            else:
                rating = {"like": 5.0, "dislike": 1.0}.get(kind)
                if rating is not None:
                    self.catalog.set_rating(st.user_id, b, rating, source="dialogue")
                self.catalog.log_event(kind, user_id=st.user_id, session_id=st.session_id,
                                       book_id=b, payload={"via": "dialogue"})
            target = {"like": st.liked, "dislike": st.rejected, "read": st.read}[kind]
            if b not in target:
                target.append(b)

    def _reject_unaccepted(self, st: SessionState, p: Parse) -> None:
        """Books just shown that the reader moved past are rejected when they say no."""
        if not st.last_books:
            return
        toks = set(tokens(p.text))
        if toks & {"no", "nope", "none", "neither", "wrong", "nah"} and not \
                [s for s in p.slots if s.kind != "ref" and not s.negated] or p.sentiment < -0.2:
            for b in st.last_books:
                if b not in st.rejected:
                    st.rejected.append(b)

    def _after_feedback(self, st: SessionState, tpl: Templates, targets: list[int], kind: str,
                        parse: Parse | None = None) -> Reply:
        self._record(st, targets, kind)
        for b in targets:
            if kind == "like":
                if st.accepted is None:
                    st.accepted, st.accepted_turn = b, st.turns
                    self.catalog.log_event("accept", user_id=st.user_id, session_id=st.session_id,
                                           book_id=b, payload={"turns": st.turns,
                                                               "policy": st.policy})
                st.anchors = ([a for a in st.anchors if a != b] + [b])[-2:]
            elif kind == "dislike":
                st.anchors = [a for a in st.anchors if a != b]
        r = self.index.row.get(targets[0])
        title = self.index.titles[r] if r is not None else "that"
        st.focus = targets[0]
        key = {"like": "liked", "dislike": "disliked", "read": "read"}[kind]
        reply = self._recommend_reply(st, tpl, "similar_to" if kind == "like" else "recommend",
                                      parse, may_ask=False, head=tpl.say(key, title=title))
        st.last_act = f"feedback:{targets[0]}"        # "next?" then means the book just rated
        reply.intent = "feedback"
        reply.parse = parse.to_dict() if parse else {"feedback": kind, "book_id": targets[0]}
        return reply

    # ---- recommending ----------------------------------------------------------------------
    def _decide(self, st: SessionState, k: int, may_ask: bool, allow_seen: bool = False):
        idx = self.index
        sig = self.signals.build(st)
        d = self.policy_for(st.policy).decide(idx, st, sig, k=k, may_ask=may_ask,
                                              allow_seen=allow_seen)
        about = " ".join(st.about[-4:])
        books = []
        for r, sc in zip(d.rows, d.scores):
            why = reason(idx, r, st, d.parts.get(r, {}), about,
                         anchor_reason=sig.anchor_reason.get(r, ""),
                         profile_reason="fits what you liked so far" if sig.profile.get(r, 0) > 0.8 else "")
            books.append(card(idx, r, sc, why))
        return books, d

    def _recommend_reply(self, st: SessionState, tpl: Templates, intent: str, p: Parse | None,
                         may_ask: bool = True, head: str | None = None,
                         first: dict | None = None) -> Reply:
        had_rejections = bool(st.rejected) and bool(st.last_books)
        k = self.k - (first is not None)
        books, d = self._decide(st, k=k, may_ask=may_ask and intent != "more",
                                allow_seen=intent in ("recommend", "similar_to", "describe", "refine"))
        if first is not None:
            books = [first] + books
        parse = p.to_dict() if p is not None else None
        if not books:
            key = "more_none" if intent == "more" else "nothing"
            return Reply(st.session_id, tpl.say(key), intent, parse=parse)
        if d.relaxed:
            head = tpl.say("relaxed", what=describe_relaxed(d.relaxed, st))
        elif head is None:
            if intent == "describe":
                head = tpl.say("describe")
            elif intent == "similar_to" and st.anchors:
                r = self.index.row.get(st.anchors[-1])
                head = tpl.say("similar", anchor=self.index.titles[r] if r is not None else "that")
            elif had_rejections:
                head = tpl.say("recommend_after_reject")
            else:
                head = tpl.say("recommend")
            if len(books) < k and st.stated():
                head = tpl.say("fewer", n=len(books))
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
        self._shown(st, books)
        if first is None:
            st.focus = None
        text = head + ("\n" + tpl.say("preview", question=question) if question else "")
        return Reply(st.session_id, text, intent, question=question, books=books,
                     question_facet=d.question["facet"] if d.question else None,
                     options=list(d.question["options"]) if d.question else [], parse=parse)

    # ---- bookkeeping ----------------------------------------------------------------------
    def _shown(self, st: SessionState, books: list[dict]) -> None:
        st.last_books = [b["id"] for b in books]
        st.shown += [b for b in st.last_books if b not in st.shown]
        for b in books:
            st.reasons[str(b["id"])] = b["reason"]
        if len(st.reasons) > 60:
            keep = set(map(str, st.shown[-60:]))
            st.reasons = {k: v for k, v in st.reasons.items() if k in keep}

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


def _add_author(p: Parse, name: str, negated: bool, surface: str) -> None:
    """An author slot the matcher could not see (a typo, a surname, "that author")."""
    end = len(tokens(p.text))
    p.slots.append(Slot("author", name, negated, end, end, surface, 0.9))


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
