"""A series step said inside a longer message that reads as a request: "the discworld ones
with moist von lipwig the conman, first please", "juliette's books, shatter me. after unravel
me?", "My sister won't stop talking about Jamie and Claire and the standing stones. What is
the first book called?". ``acts.series_cue`` finds the step; it becomes a series turn only
when the words also name a series, a book of one, or clearly describe one."""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold, norm_title
from coverstory.dialogue import acts, replies
from coverstory.dialogue.bookindex import _STOP
from coverstory.dialogue.constraints import author_mask
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.state import SessionState

_LIKE = re.compile(r"\b(?:like|similar to|in the vein of|along the lines of|the same as|"
                   r"reminds? me of|fans? of)\b")
_LOVES_TITLE = re.compile(r"\b(?:adores?|loves?|loved|liked?|enjoy(?:s|ed)?) (the [a-z' ]{4,40}?)"
                          r"\s*(?:[,.;?!]|$| and | so )")
_STEP_WORDS = frozenset("""a after an and before book books first last next novel novels of one
ones please pls plz second series the third what which""".split())
_ONE_WHERE = re.compile(r"^(?:and |so |ok |okay |what about |how about |which is |what'?s |whats )*"
                        r"(?:the )?(?:one|book|novel) (?:where|with|about|in which|that has|when)\b|"
                        r"^(?:and |so )?(?:then |what about )?the (?!(?:first|second|third|fourth|fifth|"
                        r"last|next|other|same|new|latest|newest|oldest|previous|final|middle)\b)"
                        r"[a-z]+(?: [a-z]+)? one\W*$")                # "and then the bank one"
_SHOWN_ONE = re.compile(r"\b(?:first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last) one\b")
_PRONOUNS = frozenset("you me him her them us it".split())
_TITLE_MIN = 85            # a book named in passing, as the series handler takes it


class SeriesCueTurns:
    """The series-in-passing part of ``DialogueEngine`` (uses ``SeriesTurns``)."""

    def _series_by_cue(self, st: SessionState, tpl: Templates, text: str) -> Reply | None:
        """The series answer to a step named in passing, or None (then it is a request)."""
        cue = acts.series_cue(text)
        if cue is None or _LIKE.search(fold(text)):
            return None
        sub, number, words = cue
        if st.last_books and _SHOWN_ONE.search(fold(text)) and not self._series_runs(text)[1]:
            return None                 # "I've read the first one": a book shown, no series
        ser = self.index.series
        act = acts.Act("series")
        act.sub, act.number = sub, number
        if sub in ("next", "previous"):
            row = self._cue_book(words, text, "before" if sub == "previous" else "after")
            if row is None:
                return None
            act.query = norm_title(self.index.titles[row])
        else:
            key = self._cue_series(text, words)
            if key is None:
                return None
            act.query = ser.names[key]
            if sub == "first":        # the series is named: book 1 of it, even when the words
                act.sub, act.number = "number", 1      # also name a kind ("the lighthouse girl")
        return self._series(st, tpl, act, text)

    def _member_described(self, st: SessionState, tpl: Templates, text: str,
                          key: str) -> Reply | None:
        """After a series answer, "and the one where they sail to the end of the world": the
        book of that series whose text fits the words best."""
        if not _ONE_WHERE.match(acts.norm(text)) or key not in self.index.series.members:
            return None
        ser = self.index.series
        scores = self._described_scores(text)
        row = max(ser.in_order(key), key=lambda r: scores[r])
        if scores[row] <= 0:
            return None
        rows = [row] + [r for r in ser.in_order(key) if r != row][: self.k - 1]
        return self._series_reply(st, tpl.say("series_book", num=replies._num(ser.num(row, key)),
                                               series=ser.names[key], title=self.index.titles[row]),
                                  rows, key, row)

    def _author_in_order(self, st: SessionState, tpl: Templates, text: str) -> Reply | None:
        """"I'd like to read Toni Morrison in order": the author's books by the year they
        came out (none when no author is named)."""
        idx = self.index
        for s in self.nlu.parse(text).slots:
            if s.kind != "author" or s.negated:
                continue
            one: dict[str, int] = {}                  # one edition a title: the most read
            for r in map(int, np.flatnonzero(author_mask(idx, s.value))):
                t = fold(norm_title(idx.titles[r]))
                if not np.isnan(idx.years[r]) and (t not in one or
                                                   idx.popularity[r] > idx.popularity[one[t]]):
                    one[t] = r
            if len(one) < 2:
                return None
            rows = sorted(one.values(), key=lambda r: idx.years[r])[: max(self.k, 7)]
            books = [card(idx, r, 1.0, f"Published {int(idx.years[r])}") for r in rows]
            st.focus = books[0]["id"]
            self._shown(st, books)
            return Reply(st.session_id, tpl.say("author_in_order", author=s.value,
                                                first=books[0]["title"]), "series", books=books)
        return None

    def _cue_book(self, words: str, text: str, cue: str) -> int | None:
        """The book of a series the step counts from: "after unravel me" -> Unravel Me;
        "finished the hero of ages ... is there more mistborn" -> The Hero of Ages."""
        ser = self.index.series
        if words in _PRONOUNS or words and any(s.kind == "title" and cue in s.surface.split()
                                               for s in self.nlu.parse(text).slots):
            return None                       # "not Me Before You, I've seen the film"
        query = words or acts.series_query("", text)
        got = finder(self.index).title(acts.title_query(query)) if query else None
        if got is not None and got[1] >= _TITLE_MIN and ser.position(got[0]):
            return got[0]
        if words:
            return None
        named = [r for r in self._titles_said(text) if ser.position(r)]   # "read hatchet for
        return named[0] if named else None                               # school, wants more"

    def _cue_series(self, text: str, word: str) -> str | None:
        """The series the words name (the narrowest, when a sub-series is named beside its
        main series: "discworld, the witches ones" -> Witches), else the series of a book
        named ("the eragon books" -> The Inheritance Cycle), else the series they clearly
        describe ("Jamie and Claire and the standing stones" -> Outlander)."""
        ser = self.index.series
        named, long_run = self._series_runs(text, word)
        if word and word not in _STEP_WORDS:
            named = [k for k in named if word in k.split()]
        if named and not long_run:        # one word ("search") against the books the words
            described = self._series_described(text)     # describe (Lisbeth Salander)
            named = named if described is None or described in named else [described]
        if named:
            subs = [k for k in named if not any(o != k and _inside(ser, o, k) for o in named)]
            return (subs or named)[0]
        for r in self._titles_said(text):
            if ser.position(r):
                return self._sub_series_said(r, text) or ser.of_row[r][0]
        if word and word not in _STEP_WORDS:
            return None
        return self._series_described(text) or self._one_series_of(text)

    def _titles_said(self, text: str) -> list[int]:
        """The rows of the titles the words name clearly."""
        return [self.index.row[int(s.value)] for s in self.nlu.parse(text).slots
                if s.kind == "title" and s.score >= 0.85 and int(s.value) in self.index.row]

    def _one_series_of(self, text: str) -> str | None:
        """The series of an author named, when it is their only one ("naomi novik. first and
        second?" -> Temeraire; not Stephen King's Dark Tower for "his first book")."""
        ser = self.index.series
        for s in self.nlu.parse(text).slots:
            if s.kind == "author" and not s.negated:
                mine = {ser.of_row[int(r)][0] for r in np.flatnonzero(author_mask(self.index, s.value))
                        if int(r) in ser.of_row}
                mine = [k for k in mine if len(ser.in_order(k)) >= 2]
                return mine[0] if len(mine) == 1 else None
        return None

    def _series_runs(self, text: str, word: str = "") -> tuple[list[str], bool]:
        """Every series a run of 1-5 words names (one word: at least 5 letters), longest
        runs first, and whether a run of 2+ words named one."""
        out: list[str] = []
        long_run = False
        for run, key in self._runs_naming(text, _STEP_WORDS, 5):
            if len(run) == 1 and (key != run[0] and run[0] != word or not self._rare_word(run[0], key)):
                continue           # one word names a series only as its whole name, and only
                #                    a word few other titles use ("discworld"; not "three", "loved")
            if all(w in _STOP or len(w) < 4 for w in run) or not set(run) <= set(key.split()):
                continue                                                 # not "i ve" (I've)
            if key not in out:
                out.append(key)
                long_run = long_run or len(run) > 1
        return out, long_run

    def _same_author(self, st: SessionState, p, text: str) -> str | None:
        """"what else by the same author": the author of the book talked about, or of the
        series named ("finished all the Percy Jackson books, what else by the same author"),
        which is returned when the reader is done with it."""
        from coverstory.dialogue.turns.request import _add_author

        m = _LOVES_TITLE.search(text.lower())   # "she also adores the hungry caterpillar, ..."
        got = finder(self.index).title(m.group(1)) if m else None
        b = self._target(st, p, text) if got is None or got[1] < 90 else int(self.index.ids[got[0]])
        if got is not None and got[1] >= 90 and b not in st.read:
            st.read.append(b)                    # she has it: not suggested back
        r = self.index.row.get(b) if b is not None else None
        key = self._series_in(text) if r is None else None
        done = None
        if key is not None and self.index.series.members.get(key):
            r = self.index.series.members[key][0]
            done = key if re.search(r"\b(?:finished|read|done with|through)\b", fold(text)) else None
        if r is not None and self.index.authors[r]:
            _add_author(p, self.index.authors[r][0], False, "that author")
        return done
    def _rare_word(self, word: str, key: str) -> bool:
        """At most 3 titles outside the series ``key`` have the word ("witches": The Witches,
        A Discovery of Witches; "three": dozens)."""
        idx = self.index
        counts = idx.__dict__.get("_title_words")
        if counts is None:                          # computed once per index
            counts = idx.__dict__["_title_words"] = {}
            for r, t in enumerate(idx.titles):
                for w in set(fold(norm_title(t)).split()):
                    counts.setdefault(w, []).append(r)
        inside = set(self.index.series.members.get(key, []))
        return sum(r not in inside for r in counts.get(word, [])) <= 3


def _inside(ser, sub: str, main: str) -> bool:
    """Every book of the series ``sub`` is also in ``main`` (Witches inside Discworld)."""
    rows = ser.members.get(sub, [])
    return bool(rows) and all(ser.num(r, main) is not None for r in rows)
