"""Looking a title or an author up: "do you have X?", "Circe by Madeline Miller", "the big
sleep chandler"."""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold
from coverstory.dialogue import acts
from coverstory.dialogue.lookup import finder
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.state import SessionState

_GENERIC = (r"\b(?:books?|novels?|stuff|something|anything|some|any|more|others?|ones|"
            r"titles?|works?|series|stories|story|written|everything|all|what|which|who|"
            r"recommend|suggest|read|give|show|find|want|like|else)\b")
_NEGATED = (r"^(?:and |but |also |oh |ok |okay |so )?(?:not|no|nothing|none|never|without|except|"
            r"anything but|other than|someone other|something other)\b")


class LookupTurns:
    """The title / author lookup handler of ``DialogueEngine``."""

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

    def _hinted(self, q: str, hint: str) -> int | None:
        """The row, among the titles closest to ``q``, that the hint's words point at."""
        words = [w for w in fold(hint).split() if len(w) >= 3 and w not in ("the", "one")]
        rows = [r for r, s in finder(self.index).titles(q, limit=8, cutoff=80)]
        best = max(rows, key=lambda r: _hint_score(self.index, r, words), default=None)
        return best if best is not None and _hint_score(self.index, best, words) else None

    def _authors_hinted(self, author: str, hint: str) -> int | None:
        """The row of the author's book whose title the hint's words point at (the most
        read of several), if any."""
        from coverstory.dialogue.constraints import author_mask

        words = [w for w in fold(hint).split() if len(w) >= 3 and w not in ("the", "one")]
        rows = np.flatnonzero(author_mask(self.index, author))
        scored = [(_hint_score(self.index, int(r), words), float(self.index.popularity[r]), int(r))
                  for r in rows]
        best = max(scored, default=None)
        return best[2] if best is not None and best[0] > 0 else None

    def _asks_for_title_by(self, text: str) -> bool:
        """'the big sleep chandler' (that author's title) or 'Circe by Madeline Miller' (a
        title by an author, found or not) rather than 'a mystery by Agatha Christie'."""
        row, author, named = self._title_by(text)
        if row is not None:
            return True
        m = re.match(r"^(?:the )?(.{3,}?)\s+by\s+", fold(text)) or \
            re.match(r"^(?:the )?(.{3,}?)\s+[-–—]\s+[a-z]", text.lower())   # "X - gabrielle zevin"
        if m is None and author is not None:       # "the midnight library matt haig"
            words = fold(text).split()
            n = next((n for n in (3, 2) if len(words) > n + 1 and _says_name(" ".join(words[-n:]),
                                                                          author)), 0)
            rest = " ".join(words[:-n])                # (not "uh and not dean koontz")
            m = re.match(r"^(?:the )?(.{3,})$", rest) if n and not re.search(
                r"\b(?:not|no|nothing|never|without|and|but|or|like|than|by|from|uh|um)\b", rest) else None
        if not named or not m or re.search(_GENERIC, m.group(1)):
            return False
        return not [s for s in self.nlu.parse(m.group(1)).slots if s.kind != "title"]

    def _lookup(self, st: SessionState, tpl: Templates, query: str, said: str = "",
                hint: str = "") -> Reply:
        """'do you have X?': X first (then books like it), or the closest titles (``said``:
        the whole utterance, when ``query`` is the title part of it; ``hint``: words that
        tell editions apart, "the krakauer one")."""
        idx = self.index
        f = finder(idx)
        q = acts.title_query(query)
        picked = self._hinted(q, hint) if hint else None
        if picked is not None:
            q = fold(idx.titles[picked])
        if re.search(rf"\bthe book {re.escape(fold(query))}\W*$", fold(said)):
            full = f.title(f"the book {q}")
            if full is not None and full[1] >= 95:
                q = f"book {q}"                     # "have u got the book thief": a title
        got = f.title(q)
        name_only = _is_name_of(f.author(q), q) and (
            got is None or fold(idx.titles[got[0]]).split(" (")[0] != fold(q))
        by = None
        if name_only:                   # "neil gaiman": his books, not "Neil Gaiman's Neverwhere"
            got = None
        if not name_only and (got is None or got[1] < 95):
            row, by, named = self._title_by(query)
            if row is not None:
                got = (row, 100.0)
            elif named:
                got = None                              # "X by Y": not that author's X
                q = re.split(r"\s+(?:by|from)\s+", q)[0]
        author = f.author(q) if got is None or got[1] < 95 else None
        mine = self._authors_hinted(author, hint) if author is not None and hint else None
        if mine is not None:                    # "shirley jackson - the castle one"
            got, author = (mine, 100.0), None
        if author is not None:
            st.forget_preferences()
            st.prefer("author", author)
            return self._recommend_reply(st, tpl, "recommend", None, may_ask=False,
                                         head=tpl.say("author_books", author=author))
        parts = re.split(r"\s+(?:by|from|[-–—])\s+", re.sub(         # ("..., please")
            r"[\s,.!?]*\b(?:please|pls|thanks|thank you)\W*$", "", query.strip(" ?")), maxsplit=1)
        title, name = (parts + [""])[:2]
        words = fold(title).split()
        for n in (3, 2) if by is not None and not name else ():   # "the midnight library
            if len(words) > n and _says_name(" ".join(words[-n:]), by):  # matt haig"
                title, name = " ".join(words[:-n]), " ".join(words[-n:])
                break
        if got is None and by is not None and _says_name(name, by):
            # "circe by madeline miller": not in the catalog; her books that are
            st.forget_preferences()
            st.prefer("author", by)
            return self._recommend_reply(st, tpl, "recommend", None, may_ask=False,
                                         head=tpl.say("lookup_missing_by", query=title, author=by))
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
            st.last_act = f"series:{idx.series.of_row[r][0]}"     # "and the second part?"
        reply = self._recommend_reply(
            st, tpl, "lookup", None, may_ask=False, first=first,
            head=tpl.say("lookup_found", title=idx.titles[r],
                         author=(idx.authors[r] or ["an unknown author"])[0]))
        return reply


def _hint_score(idx, row: int, words: list[str]) -> int:
    """How many of the hint's words a book's title or authors have."""
    text = " " + fold(idx.titles[row] + " " + " ".join(idx.authors[row])) + " "
    return sum(f" {w} " in text or (len(w) >= 5 and w in text) for w in words)


def _says_name(said: str, author: str) -> bool:
    """The words said name the author closely (not "richard powers" for Richard Poe)."""
    from rapidfuzz import fuzz

    mine = fold(author).split()
    words = fold(said or "").split()
    return bool(words) and all(max(fuzz.ratio(w, a) for a in mine) >= 80 for w in words)


def _is_name_of(author: str | None, query: str) -> bool:
    """The query is the author's whole name (any order, no other words)."""
    return author is not None and sorted(fold(author).split()) == sorted(fold(query).split())
