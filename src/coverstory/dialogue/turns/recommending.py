"""Recommending: the policy decides the books for the session state, and the reply is
shaped around them (head line, cards with their reasons, the policy's question)."""

from __future__ import annotations

from coverstory.dialogue.constraints import describe_relaxed
from coverstory.dialogue.explain import reason
from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import Parse
from coverstory.dialogue.replies import Reply, card
from coverstory.dialogue.state import SessionState


class Recommending:
    """The recommendation and reply-shaping part of ``DialogueEngine``."""

    def _decide(self, st: SessionState, k: int, may_ask: bool, allow_seen: bool = False,
                describe: bool = False):
        idx = self.index
        sig = self.signals.build(st, describe=describe)
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
                         first: dict | None = None, allow_seen: bool | None = None,
                         lead: int | None = None) -> Reply:
        """``allow_seen``: books shown earlier in the session may come back (default: for a
        new request, not for "more"; "more from the 70s" asks for new ones: False).
        ``lead``: a book that fits everything asked and goes first (``first``: a card shown
        first whatever the constraints, the others chosen without it)."""
        had_rejections = bool(st.rejected) and bool(st.last_books)
        k = self.k - (first is not None)
        if allow_seen is None:
            allow_seen = intent in ("recommend", "similar_to", "describe", "refine")
        books, d = self._decide(st, k=k, may_ask=may_ask and intent != "more",
                                allow_seen=allow_seen, describe=intent == "describe"
                                and _one_book_told(st))
        if first is not None:
            books = [first] + books
        if lead is not None and lead in self.index.row:
            top = card(self.index, self.index.row[lead], 1.0, "It is the best match for your words")
            books = ([top] + [b for b in books if b["id"] != lead])[:max(len(books), 1)]
        parse = p.to_dict() if p is not None else None
        if not books:
            key = "more_none" if intent == "more" else "nothing"
            return Reply(st.session_id, tpl.say(key), intent, parse=parse)
        if d.relaxed:
            head = tpl.say("relaxed", what=describe_relaxed(d.relaxed, st))
        elif d.again:
            head = tpl.say("shown_again", author=" and ".join(st.prefs.get("author", {})))
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
        if d.question and len(books) < k and st.stated():   # "only 2 fit": nothing to narrow
            d.question = None
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


def _one_book_told(st: SessionState) -> bool:
    """A story told with no kind of book asked for (no audience, length, years, genre or
    form): the reader describes one book ("a symbologist solves a murder in the louvre")."""
    return not (st.audience or st.pages or st.years or
                {"genre", "form", "author"} & set(st.prefs))
