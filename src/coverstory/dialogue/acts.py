"""What kind of turn this is, before any book is scored: the dialogue acts readers use.

The trained intent classifier (``intents.py``) tells recommend / describe / similar_to /
refine apart; the acts every reader uses in between — thanks, goodbye, "why this one?",
"who wrote it?", "more", "I've read those", "do you have X?", "what comes after X?" — are
recognised here by rules on the words, so they are never mistaken for liking a book.
Besides the act, it reads whether the turn changes the topic or refines it, and (through
``said.py``) the typed constraints the slot matcher does not: an age or a recipient, a page
limit, a language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from coverstory.catalog.normalize import fold
from coverstory.dialogue.said import NUMBER_WORDS, norm, read_constraints  # noqa: F401
from coverstory.dialogue.series_said import (  # noqa: F401  (callers use acts.series_...)
    CONNECTOR, NTH_ASK, NTH_ASK_GROUP, ORD, SERIES_FIRST, SERIES_LAST, SERIES_NEXT, SERIES_NUM,
    SERIES_LAST_NAMED, SERIES_ORD, SERIES_ORDER, SERIES_POS, SERIES_PREV, SERIES_START, SERIES_WHICH,
    SERIES_WHICH_FIRST, bare_follow_up, nth, nth_named, series_cue, series_follow_up,
    series_follow_up_named, series_query)
from coverstory.dialogue.about_said import ASK, EXPLAIN  # noqa: F401  (callers use acts.ASK)

SMALLTALK = {
    "bye": r"\b(?:bye|goodbye|good bye|see you|see ya|cya|that'?s all|that is all|i'?m done|"
           r"im done|good night|goodnight|talk later|have a (?:good|nice) (?:day|one))\b",
    "never_mind": r"^(?:oh |ok |okay |hmm |actually |no )*(?:never ?mind|nvm|forget it|forget that|"
                  r"scratch that|no worries|doesn'?t matter)(?: then| actually| for now| lol)?\W*$|"
                  r"(?:\.\.\.|,|-)\s*(?:actually |oh )?(?:never ?mind|forget it)\W*$",
    "thanks": r"\b(?:thanks?|thank you|thank u|thx|ty|ta|cheers|much appreciated|much obliged|that'?ll do|"
              r"grazie|merci|danke|gracias|obrigad[oa]|arigato|"
              r"great,? thanks?|perfect,? thanks?|sorted|that will be all|that'?ll be all)\b",
    "capabilities": r"\b(?:what can you do|what do you do|how does this work|how do you work|"
                    r"who are you|what are you|how do i use|what can i ask|what is this|"
                    r"about yourself|tell me about you\b|what kind of bot|what else can you do|"
                    r"what else do you do|can you do anything (?:else|besides)|"
                    r"are you (?:a |an )?(?:real|human|person|bot|robot|ai|computer|machine))\b",
    "how_are_you": r"\bhow are you\b|\bhow'?s it going\b",
    # about the bot itself: "do you actually read the books yourself?"
    "self": r"\bdo you (?:actually |really |even |ever |yourself )?read\b[\w ]*\b(?:yourself|at all)\b|"
            r"\bdo you (?:actually |really |even |ever )?(?:read|like reading)\W*$|"
            r"\bwhat(?:'s| is) your (?:own )?favou?rite (?:book|novel|author)\b",
    # talk about the talk, not about books: "hmm, let me think", "my memory is terrible"
    "chat": r"^(?:hmm+,? |ok,? |so,? )?let me (?:think|see)\b|\bi'?m (?:just )?thinking\b|"
            r"\bgood question\b|\bmy memory is (?:terrible|bad|awful|rubbish|poor|hopeless|shocking)\b|"
            r"\bi (?:have|'ve got) (?:a )?(?:terrible|bad|awful) memory\b|"
            r"^i (?:read|love reading|like reading) (?:a lot|loads|tons|all the time|constantly)\W*$|"
            r"\bi'?m a (?:big|huge|keen|fast) reader\b|"
            r"\bit'?s been (?:a while|ages|years|a long time) since i (?:heard|read|saw) (?:about )?it\b",
    "greeting": r"^(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|yo)\b",
    "ack": r"^(?:(?:ok(?:ay)?|oh|ah|hmm+|huh|so|haha+|lol),? )?(?:ok(?:ay)?|cool|nice|great|alright|all right|"
           r"sure|got it|i see|hmm+|wow|interesting|fascinating|neat|good to know|noted|"
           r"fair enough|makes sense|right|huh|oh|ah|ooh|aha|lol|haha+|ha ha|heh)\W*$|"
           r"\b(?:this|that) is (?:fun|great|nice|cool|brilliant|lovely|helpful|so helpful)\b",
}
MORE = re.compile(
    r"^(?:any|some|show me|give me|got any|anything|something|what)?\s*(?:more|others?|else|"
    r"other (?:ones|options|suggestions|books|ideas)|different (?:ones|books)|next|"
    r"another(?: one| few| couple)?|one more)\b"
    r"|\bshow me (?:more|others|other)\b|\b(?:any|some) (?:more|others|other (?:ones|options|"
    r"suggestions|ideas))\b|\bsomething else\b|\banything else\b|\bwhat else\b|"
    r"\bmore (?:please|of those|like (?:that|these|those|them))\b|\bdifferent ones\b|"
    r"\bother (?:options|suggestions|ideas)\b|\bnone of (?:those|these|them)\b")
READ_THOSE = re.compile(
    r"\b(?:i'?ve|i have|ive|already|i) (?:already )?read (?:those|these|them|all (?:of )?(?:those|"
    r"these|them|three|five)|both|it all|every one)\b|\bread (?:them|those|these) all\b|"
    r"\bread all (?:of )?(?:those|these|them)\b|\b(?:seen|read|done) (?:all|both) (?:of )?"
    r"(?:them|those|these)\b|"
    r"\b(?:i'?ve|i have|ive|already|i) (?:already )?read the (?:first|top) (two|three|four|2|3|4)\b")
LOOKUP = re.compile(
    r"^(?:do (?:you|u|ya) (?:have|carry|stock|know|got),?|have (?:you|u|ya) got,?|"
    r"have you (?:read|heard of)|is there|you got|u got|"
    r"got|i'?m looking for|im looking for|looking for|find(?: me)?|search for|"
    r"can you find|can i get|where is)\s+(?:the book\s+|a book called\s+|the novel\s+|"
    r"a copy of\s+|anything called\s+)?(.+?)\??$|"
    r"^(?:is|are)\s+(.+?)\s+(?:in|on) (?:your|the|this) (?:catalog|catalogue|library|collection|"
    r"shop|store|list|database)\??$|^(?:is|are)\s+(.+?)\s+(?:on here|here|available|in stock)\??$|"
    r"^(.{3,80}?)[,.;:!]*\s+(?:[-–—]\s*)?(?:(?:do|d'?you|have) (?:you|u|ya) (?:have|carry|stock|sell|got)|"
    r"(?:have you |you |u )?got) (?:it|that|this|that one|a copy)\??$")      # "X - got it?"
I_MEANT = re.compile(r"^(?:no|nope|sorry|oops)?[,.!]? ?i meant (?:the other one[,:]? |the one called "
                     r"|the book |)(?!the other one\b|it\b|that\b|the first|the second|the third)"
                     r"([^,.!?]{3,60})\W*$")
# "books by terry goodkind... no wait, I meant terry pratchett", "sorry, i meant neal stephenson
# not gaiman": the name said instead of another (engine: only when it names an author)
CORRECTION = re.compile(r"^(?P<before>.*?)[\s,.?!-]*\b(?:no wait|no no|wait|sorry|oops|no)[,.!]*\s+"
                        r"i (?:meant|mean)\s+(?P<new>[a-z][a-z .'-]{2,40}?)(?:\s+(?:not|instead of|"
                        r"rather than)\s+[a-z .'-]+)?\W*$")
HAVING = re.compile(r"\b(?:tell me if|let me know if|i want to know if|check if|see if) (?:you )?"
                    r"(?:are having|have|has|stock|carry|have got)\s+(?:the book\s+)?(.{3,80}?)\??$")
IF_NOT = re.compile(r"^(?:do you have |have you got |got )?(?!(?:is|are|was|does|do|can|will|would|what|"
                    r"which|who|how|why|it|that|this|any|some|anything|something|more)\b)([a-z0-9][^?]{2,60}?)\?+\s*(?:if not|otherwise|"
                    r"or else|failing that)[,\s]+(?:then )?(?:something |anything |any |other |"
                    r"another |more )*(?:by |from )?(?!(?:else|different|new|similar|other|like|show|"
                    r"give|tell|me|some|one|any)\b)"
                    r"([a-z][a-z .'-]{2,30}?)(?:'s| books| novels)?\W*$")
OTHER_ONE = re.compile(r"^(?:no|nope|nah|sorry|oops)?[,.!]*\s*(?:the other one|not that one|wrong one|"
                       r"a different one)[\s,.:;-]+(?:i mean |i meant |it'?s )?(?:the one by |by |the )?"
                       r"(?P<d>[a-z][a-z .'-]{2,30}?)(?: one| version| book)?\W*$")
WHICH_ONE = re.compile(r"^(?P<t>[^(),-]{3,60}?)\s*[,(-]\s*(?:the |i mean the |you know,? the )"
                       r"(?P<d>[\w .'-]{3,40}?) (?:one|version|edition)\b[^)]*\)?\W*$")
# an aside about the reader's life, not a request: laughter first, or the weather
_ASIDE = re.compile(r"^(?:haha+|hehe+|lol|lmao|ha ha|ha|rofl)\b|\b(?:raining|rainy|snowing|sunny|"
                    r"weather|so hot|so cold|freezing)\b")
_ASKS_BOOKS = re.compile(r"\b(?:books?|novels?|something|anything|recommend|suggest\w*|want|need|"
                         r"looking|show|give|find|more|another|others?|like|about|story|stories|"
                         r"series|author|by|read|reads|first|second|third|last|one)\b")


@lru_cache(maxsize=2)
def _kind_words(min_len: int) -> str:
    """The lexicon's names of kinds of book (genres, audiences, tones...), longest first, as
    one regex alternation."""
    from coverstory.dialogue.lexicon import FACETS

    said = sorted({p for f in FACETS.values() for v in f.values for p in v.say
                   if len(p) >= min_len}, key=len, reverse=True)
    return "|".join(map(re.escape, said))


def _kind_of_book(query: str) -> bool:
    """"looking for young adult fiction. no dystopias": a kind of book (a genre, audience or
    tone of the lexicon starts it), not a title to look up."""
    return bool(re.match(r"^(?:" + _kind_words(4) + r")(?: (?:fiction|novels?|books?|stories|"
                         r"reads?|series))*(?:$|[.,!;]| -)", query.lower().strip()))


def _names_a_kind(text: str) -> bool:
    """A genre, audience, tone or other kind of book of the lexicon is named anywhere."""
    return bool(re.search(r"\b(?:" + _kind_words(3) + r")\b", text))


def _classify_feedback(act: Act) -> Act:
    act.kind, act.sub, act.query, act.number = "request", "", "", None
    return act


_STRONG = (r"^(?:forget (?:that|it|those|about that|all that)|never ?mind|scratch that|scrap that|"
           r"ignore that|actually,? (?:scrap|scratch|forget) that|"
           r"change of plans?|on second thought)\b|\bsomething (?:completely|totally|entirely) "
           r"different\b")
STRONG_CHANGE = re.compile(_STRONG)          # a new topic even without a new subject
TOPIC_CHANGE = re.compile(                   # a new topic when a new subject comes with it
    _STRONG + r"|^(?:(?:no|oh|hmm)[,.]? )?wait\b|^(?:actually|instead|what about|how about|new (?:request|search|idea)|"
    r"let'?s try|different (?:idea|question)|ok(?:ay)? (?:now|then)|now)\b|\binstead\b")
REFINE_CUE = re.compile(
    r"^(?:and|but|also|plus|only|preferably|ideally|maybe|make it|same but|more|less|not|no|"
    r"nothing|without|with|set in|something (?:shorter|longer|newer|older|lighter|darker|"
    r"funnier)|a bit|slightly|ideally)\b|\b(?:also|as well|too|though|tho)\W*$|"
    r"\bones (?:specifically|in particular|only|though|please)\b|^[\w -]{2,20} ones\W*$|"
    r"\b(?:likes?|prefers?|wants?|loves?|enjoys?) (?:the )?ones (?:set|with|that|where|about)\b")
RESET = re.compile(r"^(?:start over|start again|reset|restart|forget (?:everything|all that|it all)|"
                   r"let'?s start over|new session|clear)\W*$")

@dataclass
class Act:
    """The act of one turn and what it says beyond the slot matcher's slots."""

    kind: str                                  # see ``classify``
    sub: str = ""                              # smalltalk kind / ask field / series step
    query: str = ""                            # lookup / series phrase
    audience: str | None = None                # from an age or a recipient
    age: int | None = None
    pages: tuple[int, int] | None = None       # [lo, hi)
    language: str | None = None
    topic_change: bool = False
    strong_change: bool = False                # "forget that": even without a new subject
    refine_cue: bool = False
    masked: list[tuple[int, int]] = field(default_factory=list)   # char spans not to match
    interests: list[str] = field(default_factory=list)
    number: int | None = None                  # "book 2 of X"
    same_author: bool = False                  # "anything else he wrote?"
    prev_act: str = ""                         # the last turn's act ("series:<key>", "ask:pages")
    fresh: bool = False                        # "more from the 70s": new books, none shown
    someone: bool = False                      # names a person: "my daughter", "for my dad"



def classify(text: str) -> Act:
    """The dialogue act of an utterance (rules; a request when none fits). Of several
    sentences, a first one that asks about a book or a series decides ("which is the first
    little house book? reading them with my daughter")."""
    parts = re.split(r"(?<=[?!])\s+(?=\w)", text.strip())
    if len(parts) > 1:
        first = _classify(parts[0])
        if first.kind in ("series", "ask", "lookup"):     # "do you have X? my uncle told me"
            return first
    return _classify(text)


def _classify(text: str) -> Act:
    t = norm(text)
    bare = re.sub(r"[,\s]+(?:please|pls|plz|thanks)$", "", t.rstrip("!.?, ")).rstrip("!.?, ")
    bare = re.sub(r"^(?:(?:so|ok|okay|and|right|cool|great|nice)\b[,\s]*)+(?=\w)", "", bare)
    act = Act("request")
    read_constraints(t, act)
    if not bare:
        act.kind, act.sub = "smalltalk", "empty"
        return act
    if RESET.match(bare):
        act.kind = "reset"
        return act
    m = READ_THOSE.search(t)
    if m and len(bare.split()) <= 7:
        act.kind = "read_those"
        if m.lastindex:                              # "I've read the first two"
            act.number = {"two": 2, "three": 3, "four": 4}.get(m.group(1)) or int(m.group(1))
        return act
    if EXPLAIN.search(t) and not re.search(r"\bwhy not\b", t):
        act.kind = "explain"
        return act
    for field_, pat in ASK.items():
        if re.search(pat, t):
            act.kind, act.sub = "ask", field_
            return act
    m = SERIES_NEXT.search(bare)
    if m:
        act.kind, act.sub = "series", "next"
        act.query = series_query(next((g for g in m.groups() if g), ""), bare)
        return act
    m = SERIES_PREV.search(bare)
    if m and re.search(r"\b(?:comes|came|prequel|book before|one before|which is before|"
                       r"which goes before)\b", t):
        act.kind, act.sub = "series", "previous"
        act.query = series_query(next((g for g in m.groups() if g), ""))
        if act.query in ("it", "that", "this", "that one", "this one"):    # "I'm on Iron Kissed.
            act.query = series_query("", bare) or act.query                 # which came before it?"
        return act
    m = SERIES_POS.match(bare)
    if m:                               # "which one is the brutal telling?", "x is which one"
        act.kind, act.sub = "series", "position"
        act.query = series_query(next(g for g in (m.group("q"), m.group("q2"), m.group("q3"),
                                                   m.group("q4")) if g))
        act.interests = [g for g in (m.group("s"), m.group("s0")) if g]   # the series: "expanse"
        return act
    m = SERIES_ORD.match(bare)
    if m:                                            # "second artemis fowl book", "and part 2?"
        act.kind, act.sub = "series", "number"
        act.query = (m.group(2) or m.group(4) or "").strip()
        act.number = nth(m.group(1) or m.group(5) or m.group(3))
        return act
    m = SERIES_START.search(bare)
    if m:                                            # "which shopaholic book do I start with?"
        act.kind, act.sub = "series", "first"
        act.query = next(g for g in m.groups() if g).strip()
        return act
    m = SERIES_NUM.match(bare)
    if m:
        act.kind, act.sub = "series", "number"
        act.query = (m.group(1) or m.group(4) or m.group(5) or "").strip()
        act.query = "" if CONNECTOR.match(act.query) or re.fullmatch(   # "and book three",
            r"(?:and |so |ok )?(?:the )?book", act.query) else act.query   # "and book number four"
        if len(act.query.split()) <= 4 and re.search(
                r"\b(?:keen|like|liked|love|loved|hate|hated|fan|enjoy|enjoyed|boring|meh)\b",
                act.query):
            return _classify_feedback(act)           # "not keen on number two": feedback
        n = m.group(2) or m.group(3) or m.group(6)
        act.number = int(n) if n.isdigit() else NUMBER_WORDS[n]
        return act
    m = SERIES_LAST_NAMED.match(re.sub(r"[^\w\s',.:;?!-]+", " ", bare).strip(" ?!."))
    named = next((g for g in m.groups() if g), "") if m else ""
    if m and not re.match(r"(?:one|book|time|few|couple|two|three|of|my|the|i|what|which)\b", named):
        act.kind, act.sub = "series", "last"             # "the kane chronicles, the final one"
        act.query = series_query(named)
        return act
    if SERIES_LAST.search(t) and re.search(r"\b(?:called|series|what'?s|which|name)\b", t):
        act.kind, act.sub = "series", "last"
        return act
    m = SERIES_WHICH_FIRST.search(bare)
    if m:                               # "tana french - which one should I read first"
        act.kind, act.sub = "series", "first"
        act.query = next((g for g in m.groups() if g), "").strip(" -,:")
        return act
    if re.search(r"\bin order\b|\bfirst (?:book|one|novel) (?:in|of)\b(?! (?:those|these|them|the ones)\b)|"
                 r"\bwhere (?:do|should) i start\b|"
                 r"\bseries (?:reading )?order\W*$", t) or re.search(
                     r"^(?!.*\b(?:and|what|which|in|of|the|my|an?) order$)\w+ [\w' ]+ (?:reading )?order$", bare):
        m = SERIES_FIRST.search(bare)
        act.kind, act.sub = "series", "first"
        act.query = next((g for g in (m.groups() if m else ()) if g), "").strip()
        return act
    m = SERIES_WHICH.search(bare)
    if m:                               # the series is named somewhere else in the words
        n = next(g for g in m.groups() if g)
        act.kind, act.sub = "series", "number"
        pre = re.match(r"^(.{3,50}?)[,:-]+\s*(?:which|what)\b", bare)   # "X, which is first?"
        act.query = series_query(pre.group(1)) if pre else ""
        act.number = nth(n)
        return act
    if SERIES_ORDER.search(bare):
        act.kind, act.sub = "series", "first"
        return act
    m = HAVING.search(bare)
    if m:                               # "kindly tell me if you are having The God of Small Things"
        act.kind, act.query = "lookup", m.group(1).strip(" \"'")
        return act
    m = I_MEANT.match(bare)
    if m:                               # "no, I meant the other one, Rebecca of Sunnybrook Farm"
        act.kind, act.query = "lookup", m.group(1).strip(" \"'")
        return act
    m = IF_NOT.match(t)
    if m:                               # "klara and the sun? if not, other ishiguro"
        act.kind, act.query = "lookup", f"{m.group(1).strip()} by {m.group(2).strip()}"
        return act
    m = OTHER_ONE.match(bare)
    if m:                               # "no, the other one - the kerouac": the title talked
        act.kind, act.query, act.sub = "lookup", "", m.group("d")    # about, by that hint
        return act
    m = WHICH_ONE.match(bare)
    if m and not re.match(r"(?:a|an|some|something|anything|books?|more)\b", m.group("t")):
        act.kind, act.query, act.sub = "lookup", m.group("t").strip(" \"'"), m.group("d")
        return act                      # "into the wild (the krakauer one, not the cat book)"
    m = LOOKUP.match(bare)
    if m and m.group(4) and re.search(r"\b(?:needs?|wants?|has|have|got) to\b|\bfor (?:school|class|"
                                      r"uni|college|work|a course)\b", m.group(4)):
        m = None                  # "my son needs to read Hatchet for school - have you got it?"
    q = next((g for g in m.groups() if g), "") if m else ""
    a_title = re.match(r"an? ", q) and re.search(r"\b(?:A|An) [A-Z0-9]", text)  # "A Fine Balance"
    if m and (a_title or not re.match(r"(?:(?:me|us|her|him|them) )?(?:any|some|a|an|books?|something|anything|more|good|"
                                       r"other|there)\b", q)) and not _kind_of_book(q):
        act.kind = "lookup"
        act.query = next(g for g in m.groups() if g).strip(" \"'")
        return act
    for sub, pat in SMALLTALK.items():
        if re.search(pat, t):
            rest = re.sub(pat, " ", t)
            rest = re.sub(r"[^a-z ]", " ", rest)
            content = [w for w in rest.split() if w not in _SMALL_FILLER]
            if not content or sub in ("bye", "capabilities", "how_are_you", "never_mind", "self") or (
                    sub == "thanks" and _FOR_SOMEONE.search(t)):   # "thanks, she'll love these"
                act.kind, act.sub = "smalltalk", sub
                return act
    words = re.sub(r"[^a-z ]", " ", t).split()
    if words and all(w in _SMALL_FILLER or w in _REACTION for w in words) and \
            any(w in _REACTION for w in words):
        act.kind, act.sub = "smalltalk", "ack"             # "ok lovely", "ah lovely"
        return act
    if _ASIDE.search(t) and "?" not in t and not _ASKS_BOOKS.search(t) and not _names_a_kind(t):
        act.kind, act.sub = "smalltalk", "aside"   # "haha my wife would kill me", "its raining
        return act                                 # so much here, perfect reading weather na"
    if _SAME_AUTHOR.search(t):                   # "anything else he wrote?": a request
        act.same_author = True
        return act
    core = re.sub(r"^(?:no|nope|nah|none of (?:these|those|them)|not (?:those|these|them|really|"
                  r"quite))\b[,.!;]+\s*(?:sorry\b[,.!]*\s*)?", "", bare)   # "none of those, sorry.
    if MORE.search(core) and len(core.split()) <= 8:                  # what else have you got?"
        if not _has_new_content(core):
            act.kind = "more"
            return act
        act.fresh = True                         # "more from the 70s", "others like Dune"
    m = TOPIC_CHANGE.search(t)
    act.topic_change = bool(m)
    act.strong_change = bool(STRONG_CHANGE.search(t))
    if m and m.start() == 0:
        act.masked.append(m.span())              # "never mind, ..." negates nothing
    act.refine_cue = bool(REFINE_CUE.search(t))
    if _NO_THEN_NEW.search(t):                   # "hmm, no. a Russian classic": a new request
        act.topic_change = act.strong_change = True
        act.refine_cue = False
    return act


_NO_THEN_NEW = re.compile(r"^(?:hmm+,? |ok,? |um+,? |well,? )?(?:no|nope|nah)[.!;]+\s*(?:not (?:that|those|"
                          r"these|really)[.!,;]*\s*)?(?!(?:a|an|some) (?:bit|little|\w+er|less|more|"
                          r"different|other|similar|shorter|longer|newer|older)\b)(?:a|an|some|give me|"
                          r"i want|i'?d like|let'?s (?:try|go with))\b")
# a remark about the reader's day, not a request ("lol my cat keeps sitting on whatever book
# i'm reading", "thank you!! the shower is on sunday, so excited"): said in the first person,
# asking nothing, for no one, liking nothing (``aside``; the engine also wants no slot)
_FIRST_PERSON = re.compile(r"^(?:\W*(?:lol|haha+|hehe+|ugh|omg|ha|hmm+|oh|so|well|thanks?|thank you|"
                           r"ty|cheers|aw+)\b[\W]*)*(?:i|i'?m|im|i'?ve|ive|i'?d|my|we|we'?re|our|"
                           r"can'?t|cant|it'?s|its|the \w+ is|she'?ll|he'?ll|they'?ll|exactly)\b")
_NOT_ASIDE = re.compile(r"\?|\b(?:want|wants|need|needs|looking|recommend|suggest\w*|give|show|find "
                        r"(?:me|us|a|something)|any|some|something|anything|ideas?|next|should|"
                        r"what|which|who|how|where|about|called|title|remember|name|"
                        r"son|daughter|kids?|child|children|mum|mom|mother|dad|father|wife|husband|"
                        r"friend|boss|niece|nephew|grand\w+|teacher|brother|sister|love|loves|loved|"
                        r"like|likes|liked|into|obsessed|fan|enjoy|enjoys|enjoyed|hate|hates|hated|"
                        r"prefer|more|another|others?|else|for|know|sure|idea|care|mind|"
                        r"read (?:it|that|this|those|them|all|"
                        r"both))\b")


def aside(text: str) -> bool:
    """A remark in the first person that asks for nothing (see ``_FIRST_PERSON``)."""
    t = norm(text)
    return bool(_FIRST_PERSON.search(t)) and not _NOT_ASIDE.search(t)


_SAME_AUTHOR = re.compile(
    r"\b(?:else|more|other|others)\b.*\b(?:he|she|they)(?:'s| has| have)? (?:wrote|written|write|"
    r"done|got)\b|\b(?:else|more|others?) (?:by|from) (?:him|her|them)\b|"
    r"\bwhat else (?:has|did|does|is there by) (?:he|she|they)\b")
_FOR_SOMEONE = re.compile(r"\b(?:she|he|they|my \w+|her|him|them)(?:'ll| will| would|'d| should)? "
                          r"(?:really |surely |definitely )?(?:love|like|enjoy|adore|be happy with)"
                          r" (?:these|those|them|it|this|that|one of (?:these|those|them))\b|"
                          r"(?:will|'ll) be (?:so |very |really )?(?:happy|thrilled|pleased|delighted|"
                          r"chuffed|over the moon)\b|\bfingers crossed\b|\bhope (?:she|he|they|my \w+)\b")
_SMALL_FILLER = frozenset("""a lot so much very for the help you your that s it this all i am im
now bye thanks thank really ok okay great that's appreciate appreciated cheers and again
lovely nice good day evening morning awesome perfect yay yes wow brilliant excellent amazing
fab fantastic super sweet wonderful helpful kind shame anyway anyways these those they them
look looks looking seem seems sound sounds thats lot lots will check out try give go cool mate
much obliged kindly sorted be be all done million mille oops sorry typo typos lol haha hahaha
about my bad no worries problem ah oh ooh hmm xx x u ur star legend man buddy well ha yaar
dude bro bhai na friend pal""".split())
# a turn of nothing but these is a reaction ("ok lovely", "oops sorry about the typo lol")
_REACTION = frozenset("""ok okay lovely nice good great awesome perfect yay wow brilliant excellent
amazing fab fantastic super sweet wonderful cool interesting neat ah oh ooh hmm lol haha hahaha
oops sorry my bad worries right sure fine alright fair enough gotcha noted""".split())


def _has_new_content(t: str) -> bool:
    """'more fantasy' / 'others like Dune' carry a request; 'any more?' does not."""
    words = re.sub(r"[^a-z ]", " ", t).split()
    filler = {"any", "some", "more", "others", "other", "else", "something", "anything", "show",
              "me", "give", "please", "ones", "options", "suggestions", "books", "book", "what",
              "got", "different", "next", "ideas", "like", "that", "these", "those", "them",
              "of", "none", "can", "you", "i", "see", "want", "would", "id", "d", "have",
              "let", "s", "try", "again", "maybe", "new", "few", "a", "couple", "the", "do",
              "is", "there", "are", "oh", "hmm", "ok", "okay", "yes", "sure", "no", "not", "for",
              "me", "one", "else?", "another", "couple"}
    return any(w not in filler for w in words)


def masked_text(text: str, spans: list[tuple[int, int]]) -> str:
    """The utterance with the given spans (offsets in ``norm(text)``) blanked out; letter
    case is kept ("The Road" is a title, "the road" may not be)."""
    t = re.sub(r"\s+", " ", (text or "").replace("\u2019", "'").strip())
    if len(t) != len(norm(text)):
        t = norm(text)
    for a, b in sorted(spans, reverse=True):
        t = t[:a] + " " * (b - a) + t[b:]
    return t


def title_query(text: str) -> str:
    """A lookup phrase reduced to what a title match needs ("the book called X?" -> "x")."""
    q = fold(text)
    q = re.sub(r"\b(?:by|from)\s+[a-z .]+$", "", q).strip()       # "X by Patrick Rothfuss"
    q = re.sub(r"^(?:the book|the novel|a book called|book called|called)\s+", "", q)
    return q.strip()

