"""Turns of several sentences: a first sentence of feedback on the book talked about, or of
small talk, before the request ("read it years ago and loved it. what else has he done?",
"fair enough. novels about artificial intelligence")."""

from __future__ import annotations

import re

from coverstory.dialogue.acts import classify, norm


_LEAD = re.compile(
    r"^(?:(?:ok|oh|yes|yeah|well|so),? )?(?:i |i'?ve |i have |we )?(?:just |already |actually )?"
    r"(?:(?P<read>read|finished|reread)|(?P<like>loved|liked|enjoyed|adored|devoured)|"
    r"(?P<dislike>hated|disliked|didn'?t like|couldn'?t finish|gave up on))"
    r" (?:it|that|this|that one|this one)\b[^.!;?]*[.!;]\s+(?P<rest>\S.*)$", re.I)


def feedback_lead(text: str) -> tuple[list[str], str] | None:
    """A first sentence of feedback on the book talked about, then something else: "read it
    years ago and loved it. what else has he done?" -> (["read", "like"], "what else has he
    done?"); None when the turn does not open that way."""
    said = re.sub(r"\s+", " ", (text or "").replace("\u2019", "'").strip())
    m = _LEAD.match(said)
    if not m or len(m.group("rest").split()) < 2:
        return None
    head = said[: m.start("rest")].lower()
    kinds = ["read"] if m.group("read") or re.search(r"\bread\b", head) else []
    if m.group("dislike") or re.search(r"\b(?:hated|disliked|boring|awful|(?:didn'?t|did not|"
                                       r"couldn'?t|could not) (?:\w+ )?(?:like|love|enjoy|get into|"
                                       r"finish|stand))\b", head):
        kinds.append("dislike")              # "read it and honestly didn't like it."
    elif m.group("like") or re.search(r"\b(?:loved|liked|enjoyed|adored|great|brilliant)\b", head):
        kinds.append("like")
    return kinds, m.group("rest")


_ALONE = re.compile(
    r"^(?:[^a-z]*|omg|oh|wow|ah|aw|yes|yeah|ooh|oh my god)*\s*(?:i |we )?"
    r"(?:absolutely |really |just |totally )?"
    r"(?:(?P<like>loved|adored|liked|enjoyed|devoured)|(?P<dislike>hated|disliked|couldn'?t stand))"
    r" (?:it|that|that one|this one|this)\b(?: (?:so much|a lot|to bits|as a (?:kid|child|teen|"
    r"teenager)|when i was (?:a kid|young|little|younger)|years ago|back in the day|at school|"
    r"growing up))*[\s!.😍❤️♥]*$", re.I)


def feedback_alone(text: str) -> str | None:
    """A turn that is only a like or a dislike of the book talked about ("omg i loved that one
    as a kid", "😍😍 loved it so much") -> "like" / "dislike"; else None."""
    m = _ALONE.match(re.sub(r"\s+", " ", (text or "").replace("\u2019", "'").strip()))
    if not m:
        return None
    return "like" if m.group("like") else "dislike"


_ASKS = re.compile(r"\b(?:books?|novels?|read|recommend|suggest|something|anything|about|by|like|"
                   r"more|else|author|series|stories|want|looking|similar)\b")
_ACK = re.compile(r"^(?:fair enough|ok(?:ay)?|cool|right|alright|sure|great|nice|hmm+|i see|got it|"
                  r"fine|well|oh|ah|lol|haha|interesting|noted)\W*$")


def without_small_talk(text: str) -> str:
    """The turn without a first sentence of small talk before a request ("fair enough.
    novels about artificial intelligence" -> "novels about artificial intelligence")."""
    parts = re.split(r"(?<=[.!?])\s+(?=\w)", (text or "").strip(), maxsplit=1)
    if len(parts) == 2 and (_ACK.match(norm(parts[0])) or classify(parts[0]).kind == "smalltalk") \
            and classify(parts[1]).kind != "smalltalk" and _ASKS.search(norm(parts[1])):
        return parts[1]
    return text

