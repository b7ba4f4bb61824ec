"""Series turns: a series in order, the next or the previous book, "book 3 of X", "and the
third?" (the series index itself is ``dialogue/series.py``)."""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold, norm_title
from coverstory.dialogue import acts, replies
from coverstory.dialogue.constraints import author_mask
from coverstory.dialogue.lexicon import FACETS
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.slots import BREAK, tokens
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.state import SessionState
from coverstory.dialogue.turns.about import PRONOUNS


# Words of a question about a series, not of its name.
_CUE = frozenset("""a after an and again am are before begin book books called came come comes did do does
first fifth for fourth from go goes how i im in is it kid kids last me my next novel novels
number of on one ones order part read reading s second sequel prequel series should start
that the their them then there third this through to want what whats which with working
you""".split())
_KIND_WORDS = frozenset("""the ones books novels series s stories mysteries oh so ok where begin
does should with that""".split())
_POINTS = re.compile(r"\b(?:it|that|this|them|those|these|they|then)\b")   # at a book shown


class SeriesTurns:
    """The series handler of ``DialogueEngine``."""

    def _series(self, st: SessionState, tpl: Templates, act: acts.Act, text: str,
                after: int | None = None, talked: str | None = None) -> Reply:
        """'what comes after X?', 'the one before X', 'X book 2', 'X in order', 'the last one'
        (``after``: the book the reader's previous turn rated, "next?" after a button;
        ``talked``: the series of the previous series answer, "and after that?" stays in
        a sub-series such as City Watch inside Discworld)."""
        idx = self.index
        ser = idx.series
        if act.sub == "position":                 # "which one is the brutal telling?"
            got = self._series_which(st, tpl, act)
            if got is not None:
                return got
            act = acts.classify(re.sub(r"\b(?:which|what)\b", " ", text))
            return self._request(st, tpl, text, act)
        typo = bool(act.query) and ser.find(act.query) is None and \
            ser.find(act.query, fuzzy=True) is not None            # "vampire acadamy books"
        if act.sub == "first" and not typo and self._a_kind_of_book(text):
            return self._request(st, tpl, text, acts.Act("request"))
        row, key = None, None
        if act.query in PRONOUNS or act.query in ("the series", "series", "this series",
                                                    "that series", "the one"):
            act.query = ""
        shown = self._shown_named(st, act.query) if act.query else None
        if shown is not None and not ser.position(shown) and ser.find(act.query) is not None:
            shown = None                          # the guide to a series named: the series
        if shown is not None:                     # "and then after the wardrobe one?"
            row = shown
        elif act.query and self._names_an_author(act.query):    # "the patrick o'brian ones"
            row, key = self._series_named(act.query)
        elif act.query:
            got = finder(idx).title(acts.title_query(act.query))
            head = act.query.split(",")[0].strip()
            if head != act.query and len(head) >= 4 and (got is None or not ser.position(got[0])):
                g2 = finder(idx).title(acts.title_query(head))    # "the power of six, lorien
                got = g2 if g2 and ser.position(g2[0]) else got   # legacy"
            if act.sub in ("next", "previous") and got and ser.position(got[0]):
                row = got[0]                    # a title that is also a series name
            else:
                key = ser.find(act.query)
                row = got[0] if got and key is None else None
                if key is None and (got is None or not ser.position(got[0])):
                    key = ser.find(act.query, fuzzy=True)       # "vampire acadamy"
                    row = None if key is not None else row
            if key is None and row is not None and not ser.position(row):
                named = self._series_named(act.query, title=False)   # "the dresdan files by
                row, key = named if named[1] is not None else (row, None)   # jim butcher. first one?"
            if row is None and key is None:
                row, key = self._series_named(act.query)
        if row is None and key is not None and act.sub in ("next", "previous"):
            row = self._member_talked_about(st, key, text)  # "read Guards! Guards!, the next
            if row is None and act.sub == "next":            # City Watch book?"
                step = self._sub_series_after(st, key, text)
                if step is not None:
                    return self._book_of(st, tpl, key, step)
        passing = None
        bare = acts.bare_follow_up(text)         # "and the seventh": the series talked about
        if bare and key is None and row is None and talked and talked in ser.members and \
                act.sub in ("number", "last", "middle"):
            key = talked                         # even when other books were shown since
        if row is None and key is None and not bare:   # a title named in passing
            p = self.nlu.parse(text)
            named = [idx.row.get(int(s.value)) for s in p.slots if s.kind == "title" and (
                s.score >= 0.85 or s.end - s.start >= 2 and s.score >= 0.6 and   # ("farthest
                idx.row.get(int(s.value)) in ser.of_row)]                        # shore")
            named = [r for r in named if r is not None]
            passing = named[-1] if named else None
            named = [r for r in named if ser.position(r)]
            row = named[-1] if named else None
        if row is None and key is None and passing is None and act.query:
            key = self._series_in(act.query, exact=True)    # "the Diogenes trilogy inside it"
        described = self._series_described(text) if row is None and key is None and \
            passing is None and not bare else None
        if row is None and key is None and passing is None and not bare and \
                not _POINTS.search(fold(text)):
            key = self._series_in(text, described)   # "I want to start Narnia. Which comes first?"
            if key is None and described is not None and act.sub in ("next", "previous"):
                row = self._described_member(described, text)   # "the cyborg cinderella book!!
                #                                                    what's the sequel"
        if row is None and key is None and passing is None and act.sub == "first":
            rest = " ".join(w for w in fold(text).split() if w not in _CUE | _KIND_WORDS)
            if rest and self._names_an_author(rest):   # "robin hobb where do i start",
                row, key = self._series_named(rest)    # "oh tamora pierce! where does that start?"
        if row is None and key is None and passing is None and act.sub not in ("next", "previous"):
            key = described                            # "the series about the cave girl Ayla"
        if row is None and key is None and passing is None and after in idx.row:
            row = idx.row[after]
        if row is None and key is None and passing is None:
            b = st.focus if st.focus is not None else (st.last_books[0] if st.last_books else None)
            row = idx.row.get(b) if b is not None else None
        if row is not None and act.query and key is None:
            k2 = ser.find(act.query)                 # "and the next tiffany aching one?"
            key = k2 if k2 is not None and ser.num(row, k2) is not None else None
        if row is not None and key is None:     # "rincewnd books, what's after The Light Fantastic"
            key = self._sub_series_said(row, text)
        if row is not None and key is None and act.sub == "next":
            sub = self._series_in(text)       # "the next City Watch book after Guards! Guards!"
            step = ser.after_in(row, sub) if sub and ser.num(row, sub) is None else None
            if step is not None and ser.num(ser.in_order(sub)[0], sub) > 1:   # the named book
                return self._book_of(st, tpl, sub, step)   # is the sub-series' #1 the catalog lacks
        if key is None and row is not None and ser.position(row):
            key = talked if talked and ser.num(row, talked) is not None else ser.of_row[row][0]
        row = passing if row is None and key is None else row
        if key is None:
            if row is None:                       # "read Toni Morrison in order": by year
                return self._author_in_order(st, tpl, text) or \
                    Reply(st.session_id, tpl.say("series_unknown"), "series")
            if act.sub == "next" and (act.query or passing is not None):
                # "what should I read after Ready Player One": no sequel, so books like it
                like = f"something like {norm_title(idx.titles[row])}"
                return self._request(st, tpl, like, acts.classify(like))
            return Reply(st.session_id, tpl.say("series_none", title=idx.titles[row]), "series",
                         books=[card(idx, row, 1.0, "The book you asked about")])
        name = ser.names[key]
        order = ser.in_order(key)
        if act.sub == "first" or (row is None and act.sub in ("next", "previous")):
            return self._series_list(st, tpl, order, key)
        if act.sub in ("number", "last", "middle"):
            step = ser.number(key, act.number) if act.sub == "number" else self._last(order) \
                if act.sub == "last" else (order[(len(order) - 1) // 2] if order else None)
            if step is None:
                return self._series_list(st, tpl, order, key, missing=act.number
                                         if act.sub == "number" else None)
            rows = [step] + [r for r in order if r != step][: self.k - 1]
            return self._series_reply(st, tpl.say("series_book", num=replies._num(
                ser.num(step, key)), series=name, title=idx.titles[step]), rows, key, step)
        if act.sub == "next":
            row = self._latest_named(row, key, text)   # "read X and the silkworm. next?"
        title = idx.titles[row]
        step = ser.next(row, key) if act.sub == "next" else ser.previous(row, key)
        pre = [x for x in ser.members.get(key, []) if ser.num(x, key) < 1]
        if act.sub == "previous" and pre and "prequel" in fold(text):   # "(Maze Runner, #0.5)"
            return self._series_reply(st, tpl.say("series_prequel", title=title,
                                                  prev=idx.titles[pre[-1]], series=name,
                                                  num=replies._num(ser.num(pre[-1], key))),
                                      [pre[-1]] + ser.in_order(key)[: self.k - 1], key, pre[-1])
        if step is None:
            st.focus = int(idx.ids[row])          # "and when did it come out"
            return Reply(st.session_id, tpl.say("series_last" if act.sub == "next" else
                                                "series_first_book", title=title, series=name),
                         "series", books=[card(idx, row, 1.0, "The book you asked about")])
        num = replies._num(ser.num(step, key))
        text_out = tpl.say("series_next" if act.sub == "next" else "series_prev", title=title,
                           next=idx.titles[step], prev=idx.titles[step], num=num, series=name)
        later = [r for r in order if act.sub == "next" and ser.num(r, key) > ser.num(step, key)]
        return self._series_reply(st, text_out, [step] + later[: self.k - 1], key, step)

    def _sub_series_said(self, row: int, text: str) -> str | None:
        """A series of the book other than its main one, named (maybe misspelt) in the turn."""
        from rapidfuzz import fuzz

        ser = self.index.series
        main = ser.of_row.get(row, (None,))[0]
        said = fold(text)
        for k in ser.within.get(row, {}):
            if k != main and len(k) >= 5 and fuzz.partial_ratio(k, said) >= 86:
                return k
        return None

    def _book_of(self, st: SessionState, tpl: Templates, key: str, step: int) -> Reply:
        """"Book N of <series> is X", with the books after it."""
        idx, ser = self.index, self.index.series
        later = [r for r in ser.in_order(key) if ser.num(r, key) > ser.num(step, key)]
        return self._series_reply(st, tpl.say("series_book", num=replies._num(ser.num(step, key)),
                                              series=ser.names[key], title=idx.titles[step]),
                                  [step] + later[: self.k - 1], key, step)

    def _last(self, order: list[int]) -> int | None:
        """The last book of a series by the author of its first: not a companion volume
        by other hands ("Harry Potter and the Cursed Child", #8, is by Jack Thorne)."""
        if not order:
            return None
        first = self.index.authors[order[0]][:1]
        own = [r for r in order if self.index.authors[r][:1] == first]
        return (own or order)[-1]

    def _sub_series_after(self, st: SessionState, key: str, text: str) -> int | None:
        """The next book of the sub-series ``key`` after a book of its main series named in
        the turn or talked about ("read Guards! Guards!, the next City Watch book?")."""
        idx, ser = self.index, self.index.series
        said = f" {fold(text)} "
        mains = {ser.of_row[r][0] for r in ser.in_order(key) if r in ser.of_row} - {key}
        named = sorted((r for k in mains for r in ser.members.get(k, [])
                        if len(fold(norm_title(idx.titles[r]))) >= 5
                        and f" {fold(norm_title(idx.titles[r]))} " in said),
                       key=lambda r: len(idx.titles[r]))        # the main series' titles said
        for r in [*reversed(named), idx.row.get(st.focus) if st.focus is not None else None]:
            step = ser.after_in(r, key) if r is not None else None
            if step is not None:
                return step
        return None

    def _a_kind_of_book(self, text: str) -> bool:
        """"where do I start with fantasy?", "never read any sci fi, where should I start?":
        a kind of book asked for, no series, title or author named — a request."""
        p = self.nlu.parse(text)
        if any(s.kind in ("title", "author") for s in p.slots):
            return False
        kinds = [s for s in p.slots if s.kind in FACETS and not s.negated]
        if not kinds:
            return False
        toks = tokens(text)
        covered = {i for s in kinds for i in range(s.start, s.end)}
        rest = [w for i, w in enumerate(toks) if i not in covered and w not in _CUE
                and w not in _KIND_WORDS and w != BREAK]
        return self._series_in(" ".join(rest), exact=True) is None if rest else True   # ("never
        #                                           read manga, where do I start": no Never Never)

    def _names_an_author(self, phrase: str) -> bool:
        """The phrase is an author's name and little else ("the patrick o'brian ones")."""
        words = [w for w in fold(phrase).split() if w not in _KIND_WORDS]
        return 1 <= len(words) <= 4 and finder(self.index).author(" ".join(words)) is not None \
            and self.index.series.find(" ".join(words)) is None

    def _latest_named(self, row: int, k: str, text: str) -> int:
        """The furthest book of the series ``k`` the turn names ("finished Anne of the Island.
        which Anne book comes next?", "read X and Y. next one?"), if past ``row``, else ``row``."""
        ser = self.index.series
        said = f" {fold(text)} "
        if not re.search(r"\b(?:finished|read|done with|reading|has|have)\b", said):
            return row                              # "is the lost world the sequel to X?"
        named = [self.index.row.get(int(s.value)) for s in self.nlu.parse(text).slots
                 if s.kind == "title" and s.score >= 0.85]
        whole = {r: fold(re.sub(r"\s*\([^)]*\)\s*$", "", self.index.titles[r]))
                 for r in ser.members.get(k, [])}
        named = [r for r in named if r is not None and ser.num(r, k) is not None] + [
            r for r, t in whole.items() if len(t) >= 5 and f" {t} " in said]   # ("the silkworm")
        return max(named + [row], key=lambda r: ser.num(r, k))

    def _member_talked_about(self, st: SessionState, key: str, text: str) -> int | None:
        """A book of the series ``key`` named in the turn or talked about just before."""
        idx, ser = self.index, self.index.series
        named = [int(s.value) for s in self.nlu.parse(text).slots if s.kind == "title"
                 and s.score >= 0.85]
        for b in reversed(named):
            r = idx.row.get(b)
            if r is not None and ser.num(r, key) is not None:
                return r
        for b in [st.focus, *st.last_books]:
            r = idx.row.get(b) if b is not None else None
            if r is not None and ser.num(r, key) is not None:
                return r
        return None

    def _series_which(self, st: SessionState, tpl: Templates, act: acts.Act) -> Reply | None:
        """The place of a named book in a series: of the series named or talked about first
        ("which one is The Brutal Telling?" after the Gamache books), else of the catalog."""
        from rapidfuzz import fuzz

        idx, ser = self.index, self.index.series
        keys = [ser.find(n) for n in act.interests]
        for b in [st.focus, *st.last_books]:
            r = idx.row.get(b) if b is not None else None
            if r is not None and r in ser.of_row:
                keys.append(ser.of_row[r][0])
        q = re.sub(r"^(?:the )?(.+?)(?: one| book| novel)?$", r"\1", fold(act.query)).strip()
        best, row = 0.0, None
        for k in dict.fromkeys(k for k in keys if k is not None):
            for r in ser.members.get(k, []):
                sc = fuzz.token_set_ratio(q, norm_title(idx.titles[r]))
                if sc > best:
                    best, row = sc, r
        if best < 75:
            got = finder(idx).title(acts.title_query(act.query))
            row = got[0] if got and got[1] >= 88 and got[0] in ser.of_row else None
        if row is None:
            return None
        key = next((k for k in keys if k is not None and ser.num(row, k) is not None),
                   ser.of_row[row][0])
        name, num = ser.position(row, key)
        order = [row] + [r for r in ser.in_order(key) if r != row]
        text_out = tpl.say("series_book", num=replies._num(num), series=name, title=idx.titles[row])
        return self._series_reply(st, text_out, order[: self.k], key, row)

    def _shown_named(self, st: SessionState, query: str) -> int | None:
        """A row of a book shown in this session whose title has the query's words ("the
        wardrobe one")."""
        words = [w for w in fold(query).split() if w not in ("the", "one", "book", "a")]
        if not words or query in PRONOUNS:
            return None
        for b in list(st.last_books) + list(reversed(st.shown)):
            r = self.index.row.get(b)
            if r is not None and all(f" {w} " in f" {fold(self.index.titles[r])} " for w in words):
                return r
        return None

    def _series_in(self, text: str, described: str | None = None, exact: bool = False) -> str | None:
        """A series named anywhere in a question about it: the longest run of words (not
        starting or ending with a question word) that names a series; one word only when it
        is not the mere part of a name that the books described contradict ("the cave girl
        Ayla": not Gossip Girl); ``exact``: only a run that is a series' whole name."""
        for run, key in self._runs_naming(text, _CUE, 4):
            if exact and set(run) != set(key.split()):
                continue
            if len(run) > 1 or described == key or key == run[0] or \
                    described is None and len(run[0]) >= 6:
                return key
        return None

    def _runs_naming(self, text: str, cue: frozenset, one_min: int):
        """(run of 1-5 words, series key) for every run that names a series, longest runs
        first; runs start and end with no ``cue`` word; one word needs ``one_min`` letters."""
        ser = self.index.series
        words = fold(text).split()
        for n in range(min(5, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                run = words[i:i + n]
                if run[0] in cue or run[-1] in cue or (n == 1 and len(run[0]) < one_min):
                    continue
                key = ser.find(" ".join(run))
                if key is not None:
                    yield run, key

    def _described_scores(self, text: str) -> np.ndarray:
        """Every book's term score for the words of a series question, its cue words aside."""
        return self.index.term_query(" ".join(w for w in fold(text).split()
                                              if w not in _CUE | _KIND_WORDS))[0]

    def _described_member(self, key: str, text: str) -> int:
        """The book of the series ``key`` whose text best matches the words."""
        scores = self._described_scores(text)
        return max(self.index.series.in_order(key), key=lambda r: scores[r])

    def _series_described(self, text: str) -> str | None:
        """The series whose books' text clearly best matches the words of a series question
        that names none ("the series about the cave girl Ayla, what is book one", "kathy
        reichs - the books with the forensic anthropologist Tempe. where do they begin?"):
        the mean of its three best books' term scores, at least 0.2 (0.1 for the only series
        matched) and 1.4 times the next series' (chosen on development conversations)."""
        ser = self.index.series
        scores = self._described_scores(text)
        hits: dict[str, list[float]] = {}
        for r in np.flatnonzero(scores > 0):
            if int(r) in ser.of_row:
                hits.setdefault(ser.of_row[int(r)][0], []).append(float(scores[r]))
        ranked = sorted(((sum(sorted(v)[-3:]) / 3, k) for k, v in hits.items() if len(v) >= 2),
                        reverse=True)
        floor = 0.2 if len(ranked) > 1 else 0.1          # (the only series the words fit)
        if not ranked or ranked[0][0] < floor or len(ranked) > 1 and ranked[0][0] < 1.4 * ranked[1][0]:
            return None
        return ranked[0][1]

    def _series_named(self, query: str, title: bool = True) -> tuple[int | None, str | None]:
        """(row, series key) a series request names with an author in it: 'hyperion dan
        simmons' (that author's title), "asimov's foundation books" (the series once the
        author's name is set aside), "robert galbraith's detective series" (the author's
        most read series)."""
        idx, ser, f = self.index, self.index.series, finder(self.index)
        row = self._title_by(query)[0] if title else None
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
                rest = re.sub(r"\s*\b(?:by|from)$", "", " ".join(words[:i] + words[i + n:]))
                key = ser.find(rest, fuzzy=True) if rest.strip() else None
                if key in mine:
                    return None, key
                return None, max(mine, key=mine.get) if mine else None
        return None, None

    def _series_reply(self, st, text: str, rows: list[int], key: str, focus: int) -> Reply:
        idx = self.index
        name = idx.series.names[key]
        books = [card(idx, r, 1.0, f"#{replies._num(idx.series.position(r, key)[1])} of {name}")
                 for r in rows]
        self._shown(st, books)
        st.focus = int(idx.ids[focus])
        st.last_act = f"series:{key}"
        return Reply(st.session_id, text, "series", books=books)

    def _series_list(self, st, tpl, rows, key, missing: int | None = None) -> Reply:
        """The series in order (``missing``: the number asked for, which it lacks)."""
        idx = self.index
        if not rows:
            return Reply(st.session_id, tpl.say("series_unknown"), "series")
        name = idx.series.names[key]
        books = [card(idx, r, 1.0, f"#{replies._num(idx.series.position(r, key)[1])} of {name}")
                 for r in rows[: max(self.k, 7)]]
        st.focus = books[0]["id"]
        self._shown(st, books)
        st.last_act = f"series:{key}"
        head = tpl.say("series_no_number", num=missing, series=name) if missing and \
            missing > len(rows) else tpl.say("series_first", series=name, first=books[0]["title"])
        return Reply(st.session_id, head, "series", books=books)
