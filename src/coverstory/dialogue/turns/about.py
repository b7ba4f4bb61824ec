"""Turns about one book: which book a turn means, questions about it ("who wrote it?",
"how long is it?"), why it was suggested, and comparing the books just shown."""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold, norm_title
from coverstory.dialogue import acts, replies
from coverstory.dialogue.constraints import author_mask
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import Parse
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.slots import NUMBER_REF
from coverstory.dialogue.state import SessionState

_WHATS_X_ABOUT = re.compile(r"^(?:so )?what(?:'s| is|s) (.{3,60}?) about\??$")
# the words of a question about a book, not of its title ("how many pages is inkdeath")
_QUESTION_WORDS = frozenset("""when was were did does do it come came out published written released
how many pages page count is who wrote by what year and so ok okay anyway then
again roughly um uh first published publication date of whats what's its length tell me
please pls about have has does who's whos s book novel one he she they exactly you've
you your got i ive i've we here number short long poet author writer""".split())
_SIZE = re.compile(r"\bhow (?:long|big|thick)\b|\b(?:long|thick|a long one|a long book|a big book)"
                   r"\W*$")
_THEN = re.compile(r"\b(?:what|which)(?: one| book)? comes (?:after|next)\b|\band (?:what|which)(?:'s| is) next\b")
_POINTING = re.compile(r"\b(?:it|that|this|its|them|they|those|these)\b")
_IS_NTH = re.compile(r"\bis (?:it|that|this)(?: one)? (?:the |book |number |no\.? |#)" + acts.NTH_ASK_GROUP)
# "is the assassin one long", "the one with the hat": words of a shown book's title
_DESCRIBED = re.compile(r"\bthe (?!(?:first|second|third|fourth|fifth|last|other|same|next|"
                        r"new|old|right|wrong|only|whole|very)\b)([a-z][\w' ]{1,30}?) one\b|"
                        r"\bthe one (?:with|about|called) (?:the |a |an )?([a-z][\w' ]{1,30}?)\W*$")
# an ordinal that counts the series just talked about, not the books shown: "that second one",
# "how old are those books, when did the first come out"
_SERIES_ORDINAL = re.compile(r"\b(?:those|these|the) books\b|\bseries\b|\b(?:that|this) (?:first|second|"
                             r"third|fourth|fifth|last)\b|\b(?:first|second|third|fourth|fifth|last)\b"
                             r"(?! (?:one|book)\b)|\bbook (?:one|two|three|four|five|[1-5])\b")
_NUMBER_OF = re.compile(r"\b(?:which|what) (?:number|position|book) (?:in|of) (?:the )?[\w' ]{2,40}? is "
                        r"([^?.!,]{3,60})")
_BOOK_N = re.compile(r"\bbook (one|two|three|four|five|[1-5])\b")
PRONOUNS = frozenset({"it", "that", "this", "they", "that one", "this one", "the first one",
                       "the second one", "the third one", "the last one"})


class AboutTurns:
    """The ask / explain handlers of ``DialogueEngine``."""

    def _target(self, st: SessionState, p: Parse, text: str, prefer_shown: bool = True,
                series: str = "") -> int | None:
        """The book a turn is about: an ordinal ("the second"; in the series ``series`` just
        talked about, its book of that number), a shown title, a named title, "it" (the book
        last talked about), else the first book just shown."""
        refs = [int(s.value) for s in p.slots if s.kind == "ref" and s.value != "it"]
        said = acts.norm(text)
        m = _BOOK_N.search(said)
        if re.search(r"\bit\b", said) or not _SERIES_ORDINAL.search(said):
            series = ""             # "how long is it, the first one nearly broke my wrist";
            #                         "what year was the first one published": the first shown
        for ref in refs + ([NUMBER_REF[m.group(1)]] if m else []):   # "author of book three?"
            got = self._series_book(series, ref) if series else None
            if got is not None:                    # "when did the first come out"
                return got
            if st.last_books and -len(st.last_books) <= ref < len(st.last_books):
                return st.last_books[ref]
        described = self._shown_described(st, text)
        if described is not None:
            return described
        t = " " + fold(text) + " "
        for b in list(st.last_books) + list(reversed(st.shown)):
            r = self.index.row.get(b)
            if r is not None:
                nt = norm_title(self.index.titles[r])
                if len(nt) >= 4 and f" {nt} " in t:
                    return b
        if not prefer_shown or not st.last_books and st.focus is None:
            author = next((s.value for s in p.slots if s.kind == "author" and not s.negated), None)
            for s in p.slots:              # "is black beauty ok for a seven year old?"
                if s.kind == "title" and (s.score >= 0.85 or s.end - s.start >= 2 <= len(
                        s.surface.split()) and s.score >= 0.6):
                    mine = finder(self.index).title_of(s.surface, author) if author else None
                    return int(self.index.ids[mine]) if mine is not None else int(s.value)
        if st.focus is not None and st.focus not in st.rejected:   # ("not Me Before You":
            return st.focus                                         # no "that one" after)
        return st.last_books[0] if st.last_books else None

    def _series_book(self, key: str, ref: int) -> int | None:
        """Book ``ref + 1`` of the series ``key`` (``ref`` -1: its last), if the catalog has it."""
        rows = self.index.series.in_order(key)
        nums = {self.index.series.num(r, key): r for r in rows}
        r = rows[-1] if ref < 0 and rows else nums.get(float(ref + 1))
        return int(self.index.ids[r]) if r is not None else None

    def _shown_described(self, st: SessionState, text: str) -> int | None:
        """'is the assassin one long', 'the one with the hat': the shown book whose title
        holds those words (``_shown_named``)."""
        m = _DESCRIBED.search(acts.norm(text))
        r = self._shown_named(st, m.group(1) or m.group(2)) if m else None
        return int(self.index.ids[r]) if r is not None else None

    def _about_book(self, st: SessionState, tpl: Templates, text: str, act: acts.Act) -> Reply:
        """'why the second one?', 'who wrote it?', 'how long is it?' — no feedback recorded."""
        idx = self.index
        if act.sub == "which":
            return self._which_of_those(st, tpl, text, act)
        if act.sub == "count":
            return self._series_count(st, tpl, act)
        if act.sub == "who":                      # "who's robert galbraith?"
            return self._who_is(st, tpl, text) or self._request(st, tpl, text, acts.Act("request"))
        text = re.sub(r"[\s,]+(?:again|then|though|anyway)\W*$", "", text)  # not title words
        p = self.nlu.parse(text)
        series = act.prev_act[len("series:"):] if act.prev_act.startswith("series:") else ""
        target = self._target(st, p, text, prefer_shown=act.kind == "explain" or act.sub == "title",
                              series=series)
        row = self._fragment_by_author(st, text) if act.kind == "ask" else None
        if row is not None:                        # "and the long one, one hundred years, how
            target = int(idx.ids[row])             # many pages is that" (García Márquez)
        m = _WHATS_X_ABOUT.match(acts.norm(text).split("? ")[0])
        if act.kind == "ask" and m and m.group(1) not in PRONOUNS and not re.match(
                r"(?:the )?(?:" + acts.NTH_ASK[3:-1] + r"|last|other)(?: one| book)?$", m.group(1)):
            #                             "what's Rebecca about?" (not "what's the second about?")
            got = finder(idx).title(acts.title_query(m.group(1)))
            if got is not None:
                target = int(idx.ids[got[0]])
        elif act.kind == "ask" and act.sub in acts.ASK and act.sub != "title" and \
                not any(s.kind == "ref" for s in p.slots) and not _BOOK_N.search(acts.norm(text)) and \
                self._shown_described(st, text) is None:   # ("isn't that called X": not X)
            rest = re.sub(acts.ASK[act.sub], " ", acts.norm(text))      # "East of Eden - how
            rest = re.sub(r"[^a-z0-9' ]+", " ", rest).strip()             # long is it?"
            rest = re.sub(r"^(?:and|so|ok|but)\s+|\s+(?:is it|it is|it|is)$", "", rest).strip()
            words = set(rest.split()) - {"the", "one", "ones", "all", "both", "book", "books",
                                         "what", "is", "was", "which", "of", "a", "its"} - _QUESTION_WORDS
            named = len(rest) >= 4 and bool(words) and not words <= (PRONOUNS | {"them", "they",
                                                                                "those", "these"})
            got = finder(idx).title(rest) if named else None
            bare = " ".join(w for w in re.sub(r"[^a-z0-9' ]+", " ", _SIZE.sub(" ", acts.norm(
                text))).split() if w not in _QUESTION_WORDS)
            words = [w for w in bare.split() if w not in PRONOUNS and w not in ("the", "them")]
            if (got is None or got[1] < 92) and words and len(bare) >= 4 and \
                    (len(words) >= 2 or not _POINTING.search(acts.norm(text))):
                got = finder(idx).title(bare)      # "when was sphere published"
                if got is None or got[1] < 92:     # "his majestys dragon naomi novik when ..."
                    row, _, _ = self._title_by(bare)
                    got = (row, 100.0) if row is not None else got
            if got is not None and got[1] >= 92:
                target = int(idx.ids[got[0]])
        m = _NUMBER_OF.search(acts.norm(text)) if act.sub == "series" else None
        got = finder(idx).title(acts.title_query(m.group(1))) if m else None
        if got is not None and got[1] >= 90:       # "which number in the wheel of time is
            target = int(idx.ids[got[0]])          # winter's heart?"
        is_nth = _IS_NTH.search(acts.norm(text)) if act.sub == "series" else None
        if is_nth and st.focus in idx.row:         # "is that the third one?": the book talked
            target = st.focus                      # about, not the third shown
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
        if act.sub == "series" and idx.series.position(r) and (idx.series.position(r)[1] > 1
                                                                or is_nth):
            reply = self._series_position(st, tpl, r, then=bool(_THEN.search(fold(text))))
            if is_nth:
                n = acts.nth(is_nth.group(1))
                reply.text = ("Yes. " if idx.series.position(r)[1] == n else "No. ") + reply.text
            return reply
        if act.sub == "audience" and act.audience:   # "ok for a seven year old?": for whom
            st.audience, st.age = act.audience, act.age
            st.source[f"audience:{act.audience}"] = st.turns
        also = [f for f in ("author", "year", "pages") if f != act.sub and act.kind == "ask"
                and re.search(acts.ASK[f], acts.norm(text))]       # "who wrote it and when"
        text_out = " ".join(replies.answer(idx, r, f, tpl, age=act.age)
                            for f in [act.sub or "about", *also])
        return Reply(st.session_id, text_out, "ask_about",
                     books=[card(idx, r, 1.0, "The book you asked about")], parse=p.to_dict())

    def _which_of_those(self, st: SessionState, tpl: Templates, text: str, act: acts.Act) -> Reply:
        """'which of those is about australia?', 'which 1 is the everest one and when': the
        shown book whose text best matches the words (and the year, author or length asked
        with it); 'which one is the dragon sanctuary one' in a series: its place there."""
        idx = self.index
        t = acts.norm(text)
        m = re.search(acts.ASK["which"], t)
        named_one = bool(m) and m.group(0).endswith((" one", " book"))      # "the everest one"
        words = t[m.end():] if m and not named_one else t[m.start():] if m else t
        words = re.sub(r"\b(?:and (?:when|who|how)\b.*|which|one|one's|1|of|those|these|them|is|"
                       r"was|about|set in|set on|the|his|hers|theirs|book|lol)\b", " ", words)
        rows = [idx.row[b] for b in st.last_books if b in idx.row]
        if named_one:                             # "the everest one": a title word first
            from rapidfuzz import fuzz

            named = " ".join(words.split())
            close = max((fuzz.token_set_ratio(named, norm_title(idx.titles[r])) for r in rows),
                        default=0)
            if close < 80:                        # no shown title: a place in a series?
                act.kind, act.sub, act.query = "series", "position", named
                got = self._series_which(st, tpl, act)   # "the dragon sanctuary one"
                if got is not None:
                    return got
        scores, _ = idx.term_query(words)
        best = max(rows, key=lambda r: scores[r], default=None)
        year = re.search(r"\b(?:came out|come out|published|written|from) (?:in )?(1[5-9]\d\d|20[0-3]\d)\b", t)
        dated = [r for r in rows if year and idx.years[r] == int(year.group(1))]
        if dated:                                 # "which of those came out in 2016"
            best = dated[0]
        head = "which_one"
        if not dated and (best is None or scores[best] <= 0):   # not one of those: the same
            #                                                      author's?
            names = {a for r in rows for a in idx.authors[r][:1]}
            mine = [int(r) for a in names for r in np.flatnonzero(author_mask(idx, a))]
            best = max(mine, key=lambda r: scores[r], default=None)
            head = "which_not_shown"
            if best is None or scores[best] <= 0:
                act.kind, act.sub = "request", ""
                return self._request(st, tpl, "books about " + " ".join(words.split()), act)
        st.focus = int(idx.ids[best])
        st.last_act = "ask:which"
        also = [f for f in ("year", "author", "pages") if re.search(acts.ASK[f], t) or
                re.search({"year": r"\band when\b", "author": r"\band (?:who|by whom)\b",
                           "pages": r"\band how long\b"}[f], t)]
        out = tpl.say(head, title=idx.titles[best])
        out = " ".join([out] + [replies.answer(idx, best, f, tpl) for f in also])
        return Reply(st.session_id, out, "ask_about",
                     books=[card(idx, best, 1.0, "The book you asked about")])

    def _series_count(self, st: SessionState, tpl: Templates, act: acts.Act) -> Reply:
        """'how many books are there altogether?' after a series answer (or about a book of a
        series): how many numbered books of that series the catalog has."""
        idx, ser = self.index, self.index.series
        key = act.prev_act.partition(":")[2] if act.prev_act.startswith("series:") else None
        r = idx.row.get(st.focus) if st.focus is not None else None
        key = key if key in ser.members else ser.of_row.get(r, (None,))[0] if r is not None else None
        if key is None:
            return Reply(st.session_id, tpl.say("series_unknown"), "ask_about")
        st.last_act = f"series:{key}"
        order = ser.in_order(key)
        nums = [ser.num(x, key) for x in order]
        return Reply(st.session_id, tpl.say("series_count", series=ser.names[key], n=len(order),
                                            first=replies._num(min(nums)), last=replies._num(max(nums))),
                     "ask_about", books=[card(idx, x, 1.0, f"#{replies._num(ser.num(x, key))} of "
                                                          f"{ser.names[key]}") for x in order[: self.k]])

    def _fragment_by_author(self, st: SessionState, text: str) -> int | None:
        """A title of the one author asked for, named by a part of the words between commas."""
        authors = [a for a, w in st.prefs.get("author", {}).items() if w > 0]
        if len(authors) != 1:
            return None
        for part in re.split(r"[,;:?!-]+", acts.norm(text)):
            words = re.sub(r"^(?:and|so|ok|but|the|its|it's)\s+", "", part.strip()).split()
            if len(words) >= 2:
                row = finder(self.index).title_of(" ".join(words), authors[0], cutoff=90)
                if row is not None:
                    return row
        return None

    def _who_is(self, st: SessionState, tpl: Templates, text: str) -> Reply | None:
        """"who's robert galbraith?", "X is a pen name, isn't it? whose?": the author's books
        here, and the name every one of them is also credited to."""
        idx = self.index
        name = next((s.value for s in self.nlu.parse(text).slots if s.kind == "author"), None)
        if name is None:
            return None
        rows = sorted(np.flatnonzero(author_mask(idx, name)), key=lambda r: -idx.popularity[r])
        if not rows:
            return None
        others = [a for a in idx.authors[rows[0]] if a != name and
                  all(a in idx.authors[r] for r in rows)]
        n = f"{len(rows)} book" + ("s" if len(rows) > 1 else "")
        said = tpl.say("who_author", author=name, n=n, title=idx.titles[rows[0]])
        if others:
            said += tpl.say("who_author_with", other=" and ".join(others))
        books = [card(idx, r, 1.0, f"By {name}") for r in rows[: self.k]]
        self._shown(st, books)
        return Reply(st.session_id, said, "ask_about", books=books)

    def _series_position(self, st: SessionState, tpl: Templates, r: int,
                         then: bool = False) -> Reply:
        """A later book's place in its series, and the books before it, first one first
        (``then``: "what number is that and what comes after": the next one leads)."""
        idx = self.index
        name, num = idx.series.position(r)
        before = [x for x in idx.series.in_order(idx.series.of_row[r][0])
                  if idx.series.position(x)[1] < num]
        text_out = replies.answer(idx, r, "series", tpl)
        step = idx.series.next(r) if then else None
        if step is not None:
            text_out += " " + tpl.say("series_then", next=idx.titles[step])
            st.focus = int(idx.ids[step])             # "and the one after that please"
            st.last_act = f"series:{idx.series.of_row[r][0]}"
        elif before:
            text_out += " " + tpl.say("series_starts", first=idx.titles[before[0]])
        rows = ([step] if step is not None else []) + [r] + before[: self.k - 1]
        return Reply(st.session_id, text_out, "ask_about",
                     books=[card(idx, x, 1.0, f"#{replies._num(idx.series.position(x)[1])} of "
                                              f"{name}") for x in rows[: self.k]])

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
        low = any(w in t for w in ("shortest", "quickest", "oldest", "earliest", "first"))
        r = min(known, key=lambda x: vals[x]) if low else max(known, key=lambda x: vals[x])
        word = next(w for w in ("shortest", "quickest", "longest", "newest", "most recent",
                                "latest", "oldest", "earliest", "most famous", "most popular",
                                "best known", "best", "first") if w in t)
        word = "earliest" if word == "first" else word
        fact = ("the most read of them here" if fame else
                f"{int(vals[r])} pages" if pages else f"published {int(vals[r])}")
        note = "" if len(known) == len(rows) else tpl.say("compare_partial", n=len(known),
                                                           m=len(rows))
        st.focus = int(idx.ids[r])
        return Reply(st.session_id, tpl.say("compare", word=word, title=idx.titles[r], fact=fact)
                     + note, "ask_about", books=[card(idx, r, 1.0, "The book you asked about")])
