"""A request for books: the parse applied to the session state, then a recommendation
(the ``request`` act; see ``engine.py`` for the turn loop)."""

from __future__ import annotations

import copy
import re

import numpy as np

from coverstory.catalog.normalize import fold
from coverstory.dialogue import acts, update
from coverstory.dialogue.bookindex import _STOP
from coverstory.dialogue.constraints import author_mask
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import Parse, Slot, tokens
from coverstory.dialogue.replies import Reply
from coverstory.dialogue.slots import BREAK
from coverstory.dialogue.state import SessionState

_LIKE_THAT = re.compile(r"\b(?:like|similar to) (?:that|this|it|those|these|them|the (?:first|"
                        r"second|third|fourth|fifth|last) one)\b|^more like\b")
_EXTREME = re.compile(r"\b(?:his|her|their) (most recent|latest|newest|last|oldest|earliest|first) "
                      r"(?:one|book|novel|(?:[\w-]+ ){0,2}(?:collection|memoir|play|novel)s?)\b")
_THAT_AUTHOR = re.compile(r"\b(?:that|this|the same|same|her|his|their) (?:author|writer)\b|"
                          r"\b(?:more|anything|something|others?|books?|have|got|older|newer|"
                          r"earlier|later|else|other|another|novels?)\b(?: [\w']+){0,3} (?:by|from) "
                          r"(?:him|her|them)\b|^(?:and |what about |any of |then )?(?:his|her|their) "
                          r"(?:other|others|earlier|later|newer|older|most recent|latest|newest|"
                          r"oldest|earliest)\b|\bwhat (?:did|has|does) (?:he|she|they) "
                          r"(?:write|written|wrote|done)\b|\b(?:just|only) (?:his|her|their) "
                          r"(?!(?:son|daughter|kids?|children|wife|husband|mum|mom|dad|friend)\b)\w+")
_LIKE_THEM = re.compile(r"\blike (?:his|her|their|him|them)\b|\bsimilar\b|\bwho else\b|"
                        r"\bwrites? like\b|\bin (?:his|her|their) (?:style|vein)\b")
_SERIES_WORDS = frozenset("""the series books trilogy saga novels quartet cycle chronicles sequence
all of""".split())
_WORKS = frozenset({"ones", "books", "novels", "stuff", "mysteries", "titles"})
_NAME_FILLER = frozenset("""more some any books book novels novel stuff something anything else
by from please of the what about how else other others again like has got have did does
written wrote""".split())
# the search service's first book leads the answer when its score is this far above the
# second's: chosen on the text-search dev split (scripts/known_item_margin.py, 2026-12-03:
# 254 of 441 dev queries pass 2.0, their first book right 95.3%; the ranker was fitted on
# those queries, so that is optimistic)
KNOWN_MARGIN = 2.0


def _other_author(text: str, p: Parse) -> bool:
    """"someone else", "other than King": another author wanted — not "a novel by Sarah
    Waters other than Fingersmith", where a title follows (that book is what is left out)."""
    t = fold(text)
    m = _OTHER_AUTHOR.search(t)
    if m is None:
        return False
    if m.group(0) in ("other than", "besides", "apart from"):
        rest = re.sub(r"^(?:the|a|an) ", "", t[m.end():].lstrip(" ,"))
        if any(s.kind == "title" and rest.startswith(s.surface) for s in p.slots):
            return False
    return True


_BY = re.compile(r"\b(?:by|from)\s+([a-z][a-z .'-]+?)\s*(?:$|[,.!?]| but | and | that | from | with | in |"
                 r" under | before | after | please| for )")
_OTHER_AUTHOR = re.compile(r"\b(?:different|other|another|new) (?:author|writer)s?\b|"
                           r"\bsomeone else\b|\bwho else\b|\bnot (?:him|her|them) again\b|"
                           r"\b(?:read|has|have|owns?|own) (?:everything|all)\b|\bother than\b|"
                           r"\bbesides\b|\bapart from\b|\bwrites? like\b|\bauthors? like\b|"
                           r"\bsimilar (?:authors?|writers?)\b|\banother [\w' -]{0,30}?(?:author|writer|"
                           r"novelist)s?\b|\bnot (?:him|her|them)\W*$|\bby other (?:people|folks|"
                           r"writers|authors|hands)\b|\bby (?:someone|somebody|anyone) else\b|"
                           r"\bnot (?:hers|his|theirs|by (?:him|her|them))\b")
_NOT_BY = re.compile(r"\b(?:nothing|not|no|except|anything but|never|none)\s+(?:\w+\s+)?"
                     r"(?:by|from)\s")


_NOT_A_TITLE = re.compile(
    r"^(?:a|an|some|something|anything|any|books?|novels?|stories|i|i'?m|im|my|we|looking|"
    r"recommend|suggest|give|show|find|what|which|who|how|why|more|less|one|the one|the book|"
    r"the story|the novel|set|about|like|similar|not|no|nothing|but|and|also|only|older|newer|"
    r"shorter|longer|ones?|please|yes|ok|okay|thanks?|hi|hello|hey|she|he|they|it|her|his|maybe|"
    r"perhaps|ideally|preferably)\b")


_CHAT_WORDS = re.compile(r"\b(?:you|your|yourself|thanks|thank|cheers|sorted|novels|books|book|"
                         r"stories|please|pls|lol|mate|ok|okay)\b")


_DESCRIBED = re.compile(r"\b(?:about|with|where|in which|set in|featuring|that has|who)\b")


def _spelt_like(said: str, title: str) -> bool:
    """The words said are the title, misspelt ("girl with the perl earing")."""
    from rapidfuzz import fuzz

    from coverstory.catalog.normalize import norm_title

    return fuzz.ratio(fold(_without_please(said)), fold(norm_title(title))) >= 80


def _without_please(text: str) -> str:
    return re.sub(r"[,\s]+(?:please|pls|plz|thanks)(?:\s+x+o*)?\W*$", "", text, flags=re.I)   # ("pls x")


def _looks_like_a_title(text: str, p: Parse, act: acts.Act) -> bool:
    """A short phrase said like a title the title finder did not know ("Project Hail Mary?",
    "where the crawdads sing", "the seven husbands of evelyn hugo"): no facet, author or
    reference in it, no constraint, and it does not start like a request or a description."""
    t = acts.norm(_without_please(text))
    words = re.sub(r"[^a-z' ]+", " ", t).split()
    if re.search(r"[.!?]\s+\w", t) or _CHAT_WORDS.search(t):   # several sentences, or chat
        return False                                          # ("cheers mate, sorted")
    return (2 <= len(words) <= 8 and not p.slots and act.audience is None and not act.pages
            and not act.interests and not _NOT_A_TITLE.match(t)
            and (text.strip().endswith("?") or t.startswith("the ") or
                 sum(w[:1].isupper() for w in text.split()) >= 2 or len(words) <= 6))


def _said_as_title(text: str) -> bool:
    """Written the way a title is: capitalised words or a bare question ("Project Hail Mary?")."""
    words = text.split()
    return text.strip().endswith("?") or sum(w[:1].isupper() for w in words) >= 2


class RequestTurns:
    """The request handler of ``DialogueEngine``."""

    def _request(self, st: SessionState, tpl: Templates, text: str, act: acts.Act) -> Reply:
        sid = st.session_id
        p = self.nlu.parse(acts.masked_text(text, act.masked))
        self._fuzzy_author(p)
        done = None          # "finished all the percy jackson books, what else by him?"
        if not p.of("author") and (act.same_author or _THAT_AUTHOR.search(fold(text))):
            done = self._same_author(st, p, text)
        content = [s for s in p.slots if s.kind != "ref"]
        intent = p.intent
        pending = st.question
        st.question = None
        if intent == "help" and re.search(r"\b(?:recommend|suggest|read next|should i read)\b",
                                          fold(text)):
            intent = p.intent = "recommend"            # "what do you recommend?" wants books
        grown = act.audience == "adult" and act.age is None and not update.asks_for_books(text)
        if not p.slots and intent != "dont_care" and (not act.audience or grown) and \
                not act.pages and acts.aside(text):   # "my cat...", "my book club picked ..."
            return Reply(sid, tpl.say("aside"), "smalltalk", parse=p.to_dict())
        if intent in ("greeting", "help") and not content and not act.audience and not (
                intent == "help" and _looks_like_a_title(text, p, act) and _said_as_title(text)):
            #                                                      ("watershp down?")
            return Reply(sid, tpl.say(intent), intent, parse=p.to_dict())
        if intent == "reset" and not content:
            st.forget_preferences()
            return Reply(sid, tpl.say("reset"), "reset", parse=p.to_dict())
        key = None if act.audience or act.pages else self._names_a_series(text)
        if key is not None:                            # "fablehaven series", "dresden files"
            return self._series_list(st, tpl, self.index.series.in_order(key), key)
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
        if intent == "feedback" or (abs(p.sentiment) > 0.2 and intent != "similar_to" and any(
                s.kind == "ref" and (s.value != "it" or len(tokens(p.text)) <= 10) for s in p.slots)
                and not _LIKE_THAT.search(fold(text))):    # "I love the sound of the first one"
            done = self._word_feedback(st, tpl, p)
            if done is not None:
                return done
        if pending and intent == "dont_care":
            st.asked.append(pending["facet"])
        other_author = _other_author(text, p)
        talked = [st.focus] if st.focus in self.index.row else st.last_books[:3]  # the book
        before = [a for b in talked for a in self.index.authors[self.index.row[b]][:1]  # looked
                  if b in self.index.row]                                            # up first
        named = [s for s in p.slots if s.kind == "author"]
        # "I've read everything Dan Brown wrote, who else?", "other than King, but like his
        # books": not X, but like X; "nothing by King, I've read all of his": just not X
        read_all = other_author and named and (
            any(not s.negated for s in named) or bool(_LIKE_THEM.search(fold(text))))
        if read_all:          # "I've read everything Dan Brown wrote, who else writes like that?"
            for s in named:
                s.negated = True
        missing_title = _looks_like_a_title(text, p, act) and not st.anchors
        if update.is_new_topic(st, p, act) or read_all or (missing_title and _said_as_title(text)):
            keep = (st.pages, st.years, st.language) if not read_all and not missing_title \
                and update.keeps_limits(st, p, act) else None
            st.forget_preferences()          # "Project Hail Mary?" is not a refinement
            if keep:                         # "under 150 pages", then "sci fi one"
                st.pages, st.years, st.language = keep
        if read_all:
            rows = np.flatnonzero(author_mask(self.index, str(named[0].value)))
            if len(rows):
                st.anchors = [int(self.index.ids[rows[np.argmax(self.index.popularity[rows])]])]
        elif other_author and before:                     # "but by a different author"
            author = max(before, key=before.count)
            st.exclude("author", author)
            if _LIKE_THEM.search(fold(text)) and not st.anchors:   # "who writes like him?":
                st.anchors = [b for b in talked if b in self.index.row and  # like his book
                              self.index.authors[self.index.row[b]][:1] == [author]][:1]
        self._reject_unaccepted(st, p)
        if done:
            st.exclude("series", done)
        if intent == "similar_to" and any(s.kind == "title" and not s.negated and
                                          int(s.value) not in st.anchors for s in p.slots):
            st.forget_preferences()               # "like X" starts a new search
        self._title_by_author(p, text)
        if act.same_author or _THAT_AUTHOR.search(fold(text)):
            named = [int(s.value) for s in p.slots if s.kind == "title" and not s.negated]
            r = self.index.row.get(named[-1]) if named else None     # "Flight Behavior by
            if r is not None and self.index.authors[r] and not any(  # Barbara Kingsolver was
                    s.kind == "author" and s.surface == "that author" for s in p.slots):
                _add_author(p, self.index.authors[r][0], False, "that author")   # great.
            self._keep_off_the_one_named(st, p, text)              # Anything older by her?"
        said_now = update.subjects(p, act) if st.stated() and not read_all else set()
        years_before = st.years
        update.apply(self.index, st, p, act, pending)
        for r in [self.index.row.get(a) for a in st.anchors[-1:]] if other_author and not before else []:
            if r is not None and self.index.authors[r]:   # "like Leviathan Wakes, but from other
                st.exclude("author", self.index.authors[r][0])      # authors": kept for later
        got = self._authors_extreme(st, text, years_before)
        if got is not None:                        # "then his most recent one that you have"
            r = self.index.row[got[0]]
            head = tpl.say("author_newest" if got[1] else "author_earliest", title=self.index.titles[r],
                           author=self.index.authors[r][0], year=int(self.index.years[r]))
            return self._recommend_reply(st, tpl, "recommend", p, may_ask=False, lead=got[0],
                                         allow_seen=True, head=head)
        if said_now and self._newest_would_give_way(st, said_now):
            st.forget_preferences()               # "books by Pratchett", then "crime novel,
            update.apply(self.index, st, p, act, pending)   # nothing over 300 pages": crime
        if intent == "similar_to" and st.last_books and (
                any(x.kind == "ref" for x in p.slots) or _LIKE_THAT.search(fold(text))):
            ref = self._target(st, p, text)            # "more like the second one"
            st.anchors = [ref if ref is not None else st.last_books[0]]
        intent = p.intent                      # a long story turns a request into "describe"
        describe = intent == "describe"
        kind = intent if intent in ("describe", "similar_to", "refine") else "recommend"
        head = None
        if missing_title:
            head = tpl.say("title_missing",                    # "Project Hail Mary?"
                           query=_without_please(text).strip(" ?!.\"'"))
        by_author = any(s.kind == "author" and not s.negated for s in p.slots)  # nothing to ask
        like_named = kind == "similar_to" and any(s.kind == "title" and not s.negated for s in p.slots)
        lead, spelt = (None, False) if act.fresh or like_named else self._known_item(st, p, text)
        if missing_title and lead is None and not st.last_books and _said_as_title(text):
            #                                            "project hail mary??": no books
            return Reply(st.session_id, tpl.say("title_not_here", query=_without_please(  # that
                text).strip(" ?!.\"'")), "lookup", parse=p.to_dict())    # only share a word
        if spelt:                                      # "girl with the perl earing"
            r = self.index.row[lead]
            head = tpl.say("title_guess", title=self.index.titles[r],
                           author=(self.index.authors[r] or ["an unknown author"])[0])
        return self._recommend_reply(st, tpl, kind, p, may_ask=not describe and head is None
                                     and not by_author and lead is None, lead=lead,
                                     allow_seen=False if act.fresh else None, head=head)

    def _known_item(self, st: SessionState, p: Parse, text: str) -> tuple[int | None, bool]:
        """The book the search service singles out for these words ("the book of three by
        lloyd alexander", "shirley jackson - the castle one", a plot it knows), to go first,
        when its score stands ``KNOWN_MARGIN`` above the second book's and it fits what was
        asked. Not for a kind of book alone ("horror.": a title word is no known item).
        Returns (book id or None, whether the words are that book's title misspelt)."""
        from coverstory.dialogue.constraints import build

        said = {i for s in p.slots if s.kind not in ("title", "author")
                for i in range(s.start, s.end)}
        rest = [w for i, w in enumerate(tokens(p.text)) if i not in said and w not in _STOP
                and w != BREAK]
        if len(rest) < 2 and not any(s.kind in ("title", "author") for s in p.slots):
            return None, False
        got = self.signals.best_match(text)
        if got is not None and got[1] >= KNOWN_MARGIN:
            r = self.index.row.get(got[0])
            if r is None:
                return None, False
            spelt = _spelt_like(text, self.index.titles[r])   # goes first whatever came before
            if spelt or build(self.index, st, self.k).ok[r]:
                return got[0], spelt
            if p.intent != "describe":
                return None, False
            # a plot told ("a mysterious millionaire throws parties ... hoping to win back his
            # love"): the mood read from the story is no constraint the book must meet
            told = copy.deepcopy(st)
            told.prefs = {f: v for f, v in st.prefs.items() if f not in ("mood", "genre", "tag")}
            return (got[0] if build(self.index, told, self.k).ok[r] else None), False
        authors = [str(s.value) for s in p.slots if s.kind == "author" and not s.negated]
        if len(authors) != 1 or len(rest) < 3 or not _DESCRIBED.search(fold(text)):
            return None, False
        # "that jonathan safran foer book about the kid with the key after 9/11": the search's
        # best book by that author among its top 20
        mine = author_mask(self.index, authors[0])
        ok = build(self.index, st, self.k).ok
        for b in self.signals.matches(text)[0][:20].tolist():
            r = self.index.row.get(int(b))
            if r is not None and mine[r]:
                return (int(b) if ok[r] else None), False
        return None, False

    def _authors_extreme(self, st: SessionState, text: str, years_before) -> tuple[int, bool] | None:
        """"his most recent one", "her earliest book": the newest (oldest) book in the catalog
        by the one author asked for, whose year is known; the era the words set ("recent")
        is undone (``years_before``). Returns (book id, whether the newest)."""
        m = _EXTREME.search(fold(text))
        authors = [a for a, w in st.prefs.get("author", {}).items() if w > 0]
        if not m or len(authors) != 1:
            return None
        rows = np.flatnonzero(author_mask(self.index, authors[0]))
        rows = rows[~np.isnan(self.index.years[rows])]
        if not len(rows):
            return None
        st.years = years_before
        from coverstory.dialogue.constraints import positive_masks

        fit = rows                                 # "his earliest short story collection":
        for mask in positive_masks(self.index, st, self.k).values():   # of those (shown or not)
            fit = fit[mask[fit]] if mask[fit].any() else fit
        rows = fit
        years = self.index.years[rows]
        newest = m.group(1) in ("most recent", "latest", "newest", "last")
        return int(self.index.ids[rows[np.argmax(years) if newest else np.argmin(years)]]), newest

    def _newest_would_give_way(self, st: SessionState, said: set[str]) -> bool:
        """The turn was read as a refinement, yet nothing fits the old constraints and the
        new subject together, so the new one would be relaxed (in the fixed order of
        ``RELAX_ORDER``): the latest request wins, as a new topic."""
        from coverstory.dialogue.constraints import build

        kinds = {s.split(":")[0] for s in said} & {"genre", "author", "title"}
        relaxed = set(build(self.index, st, self.k, by_turn=False).relaxed)
        return bool(kinds & relaxed)

    def _keep_off_the_one_named(self, st: SessionState, p: Parse, text: str) -> None:
        """"X by Y was great, anything else by her?": X itself is not an answer (kept off as
        a book already shown)."""
        t = fold(text)
        if not re.search(r"\b(?:else|other|others|another)\b", t):
            return
        from coverstory.catalog.normalize import norm_title

        for s in p.slots:
            if s.kind != "author" or s.negated:
                continue
            for r in np.flatnonzero(author_mask(self.index, str(s.value))):
                nt = norm_title(self.index.titles[r])
                b = int(self.index.ids[r])
                if len(nt) >= 4 and f" {nt} " in f" {t} " and b not in st.shown:
                    st.shown.append(b)

    def _title_by_author(self, p: Parse, text: str) -> None:
        """'I loved It by Stephen King': the words before "by" name that author's book, so
        the reader means the book (an anchor), not all of the author's books."""
        from coverstory.dialogue.slots import capitalised

        toks = tokens(p.text)
        caps = capitalised(text, len(toks)) if p.text == text else [False] * len(toks)
        taken = {i for s in p.slots if s.kind == "title" for i in range(s.start, s.end)}
        for s in list(p.slots):
            if s.kind != "author" or s.negated or s.start < 2 or toks[s.start - 1] != "by" \
                    or s.start - 2 in taken:
                continue
            for n in range(min(5, s.start - 1), 0, -1):
                i = s.start - 1 - n
                words = toks[i:s.start - 1]
                if "xxbreakxx" in words or not (caps[i] or n >= 2 and not all(
                        w in update.FILLER for w in words)):
                    continue
                row = finder(self.index).title_of(" ".join(words), str(s.value), cutoff=95)
                if row is not None:
                    p.slots.remove(s)
                    p.slots.append(Slot("title", int(self.index.ids[row]), False, i,
                                        s.start - 1, " ".join(words), 0.95))
                    break

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
        rest = [w for w in t.split() if w not in _NAME_FILLER and len(w) > 1 and w != "an"]
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
                         and w in f.by_surname and " ".join(toks[max(0, i - 1):i + 1]) not in
                         (self.index.series.find(" ".join(toks[i - 1:i + 1])) or "")), None)
            if said is None:
                return
        name = f.author(said)
        if name:
            _add_author(p, name, bool(_NOT_BY.search(t)), said)

    def _names_a_series(self, text: str) -> str | None:
        """The series the whole turn names ("the first law trilogy", "fablehaven series",
        "dresden files"), with a word like "series" or when no book has that title."""
        t = fold(_without_please(text)).strip(" ?!.")
        words = [w for w in t.split() if w not in _SERIES_WORDS]
        if not words or len(t.split()) > 6:
            return None
        key = self.index.series.find(t)
        core = re.sub(r"(?:\s+(?:mysteries|stories|adventures|thrillers|novels|books))+$", "", t)
        if key is None and core != t and self.index.series.find(core) is not None and \
                set(core.split()) == set(self.index.series.find(core).split()):
            return self.index.series.find(core)               # "lord peter wimsey mysteries"
        if key is None or not set(words) <= set(key.split()) or len(words) < len(key.split()) - 1:
            return None
        if any(w in _SERIES_WORDS - {"the"} for w in t.split()):
            return key
        if set(words) != set(key.split()) or finder(self.index).author(" ".join(words)):
            return None                                   # "more", "jane austen"
        got = finder(self.index).title(" ".join(words))     # "twilight" is the book, "harry
        title = fold(re.sub(r"\s*\([^)]*\)\s*$", "", self.index.titles[got[0]])) if got else ""
        whole = " ".join(title.split()).removeprefix("the ") == " ".join(words)  # potter" not
        return None if whole else key

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


def _add_author(p: Parse, name: str, negated: bool, surface: str) -> None:
    """An author slot the matcher could not see (a typo, a surname, "that author")."""
    end = len(tokens(p.text))
    p.slots.append(Slot("author", name, negated, end, end, surface, 0.9))
