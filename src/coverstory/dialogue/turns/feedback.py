"""Feedback on books: in words ("I loved the second one", "already read it") or by the
buttons; recorded through the recommendation service (or the catalog), then more books."""

from __future__ import annotations

from coverstory.dialogue.nlg import Templates
from coverstory.dialogue.nlu import Parse, tokens
from coverstory.dialogue.replies import Reply
from coverstory.dialogue.state import SessionState


class FeedbackTurns:
    """The feedback handlers of ``DialogueEngine``."""

    def _word_feedback(self, st: SessionState, tpl: Templates, p: Parse) -> Reply | None:
        """'I loved the second one', 'already read it', 'not for me': feedback in words."""
        said = tokens(p.text)
        toks = set(said)
        kinds = []
        if toks & {"read", "already", "finished", "reread"}:
            kinds.append("read")
        if p.sentiment > 0.2:
            kinds.append("like")
        elif p.sentiment < -0.2 or toks & {"no", "not", "nope"}:
            kinds.append("dislike")
        if not kinds or [s for s in p.slots if s.kind not in ("ref", "title")
                         and s.surface != "for me"       # ("the third isn't for me" is feedback)
                         and not (s.kind == "mood" and (s.surface in ("love", "loved") or {
                             "looks", "sounds", "seems", "look", "sound"} & set(   # "the second
                             said[max(0, s.start - 2):s.start])))]:                # looks sweet"
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

    def _note_feedback(self, st: SessionState, targets: list[int], kind: str) -> None:
        """Record feedback and what it means for the session: a like is the accepted book
        (logged once) and an anchor; a dislike stops being one."""
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

    def _after_feedback(self, st: SessionState, tpl: Templates, targets: list[int], kind: str,
                        parse: Parse | None = None) -> Reply:
        self._note_feedback(st, targets, kind)
        r = self.index.row.get(targets[0])
        title = self.index.titles[r] if r is not None else "that"
        st.focus = targets[0]
        key = {"like": "liked", "dislike": "disliked", "read": "read"}[kind]
        reply = self._recommend_reply(st, tpl, "similar_to" if kind == "like" else "recommend",
                                      parse, may_ask=False, head=tpl.say(key, title=title))
        st.focus = targets[0]                 # "who's the author again?": the book just rated
        st.last_act = f"feedback:{targets[0]}"        # "next?" then means the book just rated
        reply.intent = "feedback"
        reply.parse = parse.to_dict() if parse else {"feedback": kind, "book_id": targets[0]}
        return reply
