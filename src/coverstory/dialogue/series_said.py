"""How readers ask about a series, in words: which book comes next or before, the N-th, the
first, "which one is X?", and the bare follow-ups after a series answer ("and the third?",
"and after that"). ``acts.classify`` reads them; the series themselves are ``series.py``."""

from __future__ import annotations

import re

from coverstory.dialogue.said import NUMBER_WORDS, norm

NTH_ASK = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|"
           r"[4-9]th|10th|\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)")
NTH_ASK_GROUP = "(" + NTH_ASK[3:]


def nth(word: str) -> int:
    """'third' / '3rd' / 'three' / '3' -> 3."""
    return _NTH_WORDS.get(word) or int(word)


SERIES_NEXT = re.compile(
    r"\b(?:which|what)(?: one| book)? (?:comes|is|goes) (?:right |straight |directly |"
    r"immediately )?after\s+(.+?)\??$|^after\s+(.+?)\s+(?:what|which)\s+(?:do|should|can) i "
    r"read\b|^(?:and |so |ok |okay )*(?:then )?(?:what about )?after the (.+? (?:one|book))\??$|"
    r"\b(?:what(?: comes| is|'s| s| happens) (?:after|next after)|whats after|next (?:book |one )?(?:after|"
    r"in the series|in|of)|sequel (?:to|of)|(?:book|one|read) (?:that comes )?after)\s+(.+?)\??$|^(?:what(?:'s| is) )?the next one\??$|"
    r"^(?:so |and |ok |okay )?(?:what'?s|whats|what is|which is) the (?:sequel|next (?:one|book))\??$|"
    r"\bwhat comes next\b|\bnext (?:book|one) in the series\b|^(?:is there )?(?:a )?sequel\??$|"
    r"\bis there a sequel\??$|\bis there (?:a|another) (?:next|second) (?:book|one)\b|"
    r"\bfollow[- ]?up (?:to|of)\s+(.+?)\??$|^(?:and )?(?:the )?(?:next|sequel)(?: one| book)?\??$|"
    r"^(?:i )?(?:just |have )?(?:finished|read|loved|done with)\s+(.+?)[,.;!]?\s+(?:so )?"
    r"(?:what'?s|whats|what is|what comes|what do i read) next\??$|\bwhat'?s next\b|\bwhats next\b|"
    r"^(?:is there a |the )?(.+?)\s+(?:sequel|follow[- ]?up)\??$|\bwhat follows\s+(.+?)\??$|"
    r"^(.+?)[,.!-]*\s+what'?s the next one\??$|^i (?:just )?finished (.+?)[!.,]*\s+next\W*$|"
    r"^(.+?)\s+(?:what'?s|whats|what is|what comes) (?:after|next)\??$|"
    r"\bwhat'?s the next (.+?) (?:book|one|novel)\??$|^(?:and )?(?:the )?next (.+?) (?:one|book|novel)\??$|"
    r"^(?:and |ok |so )?the next ([a-z][\w']{3,20}(?: [a-z][\w']{3,20})?)\??$|"     # "the next poirot"
    r"\b(?:which|what) (?:one|book) (?:do |does |should |must |can )?(?:i |he |she |they |we )?"
    r"(?:must |should |can )?read (?:next|after (?:it|this|that)(?: one)?)\b|"
    r"\bis there (?:a|any) (?:follow[- ]?up|sequel|continuation)\W*$|"
    r"\bthe next (?:one|book|novel|part) in the (?:saga|series|sequence|cycle)\b|"
    r"^(?:and |so |ok |okay )?(?:what about )?after (?!\d)(?!(?:that|this|it)\b)(.+?)\??$|"   # "after Crossed?"
    r"^[a-z][\w .'-]{2,40},\s*(?:what'?s |whats |what comes )?after (?!\d)(.+?)\??$|"  # "ally condie, after crossed?"
    r"\b(?:wants?|needs?|would like|looking for|after) the next (?:one|book)\b|"
    r"^(?:i )?(?:just )?(?:finished|read|done with)\s+(.+?)[.!,;]\s*(?:the )?next(?: one| book)?\W*$|"
    r"\b(?:finished|done with|read|reading|has|on)\s+(?!(?:it|that|this|them|those|these|all|both|a lot|lots|loads|tons|everything|"
    r"the (?:first|second|third|last))\b)([^,.;!?]{3,60}?)[.!,;]*\s*(?:so |ok |and |now )?"
    r"(?:what'?s |whats |which is |which one is |what is |what |is )?(?:the )?next(?: one| book| please| pls)?"
    r"\W*$|\b(?:finished|done with|read)\s+([^,.;!?]{3,60}?)\b[^.;!?]*[.;!?]\s*which [\w' ]{2,30}? "
    r"(?:book |one )?comes next\W*$")     # "done with voyager. next?", "finished X. which anne book comes next?"
# "i finished in the woods by tana french, whats the next one": the book is what was finished
_READ_X = re.compile(r"\b(?:finished|read|loved|done with|reading|i'?m on|am on)\s+([^,.;!?()]{3,60})")
_QUERY_TAIL = re.compile(r"(?:\s*\([^)]*\)|\s+(?:which|what)(?: one| book)?(?: is| comes)?(?: next)?|"
                         r"\s+in (?:the|that|this) [\w' ]{2,30}? (?:books|series|saga|novels|cycle)|"
                         r"\s+(?:is there a|so|and|now|then|"
                         r"last night|yesterday|already|at last|finally)|,?\s+the (?:first|second|"
                         r"third|\w+th) one)+\W*$")
_QUERY_HEAD = re.compile(r"^(?:(?:i|ive|i've|i have|we|he|she|they|my [\w ]{2,20}?|the kid|kid)\s+)?"
                         r"(?:just |recently |finally |already )?(?:finished|read|loved|liked|enjoyed|"
                         r"done with|am reading|reading|started|i'?m on|on)\s+")


def series_query(query: str, text: str = "") -> str:
    """The book or series a series question names, without the reading story around it:
    "just finished hyperion (dan simmons). is there a" -> "hyperion"."""
    q = norm(query)
    if not q and text:                               # "finished redwall, which one next?"
        m = _READ_X.search(norm(text))
        q = m.group(1) if m else ""
    q = re.split(r"[.;!?]\s|\s+(?:and|but|so|now)\s+(?:i|we|he|she|they|need|want|what|which)\b", q)[0]
    q = re.sub(r"^(?:is|are) there (?:a|an|any)\b\s*", "", q)
    q = _QUERY_HEAD.sub("", q.strip(" ,-"))
    q = _QUERY_TAIL.sub("", q).strip(" ,-'\"")
    return q
SERIES_PREV = re.compile(r"\bwhich (?:one |book |novel )?(?:is|comes|came|goes) (?:right |just )?before\s+(.+?)\??$|"
                         r"\b(?:what(?: comes| is|'s| s) before|whats before|prequel (?:to|of)|before)\s+(.+?)\??$|"
                         r"\b(?:book|one) before (.+?)\??$|\bis there a (?:book|one) before(?:\s+(.+?))?\??$|"
                         r"\bis there a prequel\b|^(?:and )?(?:the )?(?:one|book) before\??$|\bprequel\b")
SERIES_POS = re.compile(          # which place a named book has in a series
    r"^(?:(?P<s0>[\w' ]{3,40}?)(?: series| books)?[,:-]+\s*)?"
    r"(?:n |and |so |ok |okay )*(?:which|what) (?:one|1|number|no\.?|position)(?:'s| is) "
    r"(?!(?:number|book|part|no\.?|#|volume)\s)(?!(?:the |a )?(?:shortest|longest|best|newest|oldest|most|least|first|last|for|about|by|"
    r"second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th)|"
    r"better|good|funniest|easiest|scariest|cheapest|it|that|this)\b)(?P<q>.{3,60}?)\??$|"
    r"^(?:n |and |so |ok |okay )*(?:which|what) (?P<s>[\w' ]{2,30}?) (?:book|one|novel|number) is "
    r"(?!(?:it|that|this|the first|the last|number|book|part|no\.?|#|volume)\b)(?P<q2>.{3,60}?)\??$|"
    r"^(?:n |and |so |ok |okay )*(?P<q3>[^,]{3,60}?) (?:itself )?(?:is|comes) (?:which|what)"
    r"(?: one| number| book| position| no\.?)?(?: in (?:the|that) series)?\??$|"
    r"^(?:n |and |so |ok |okay )*(?P<q4>[^,]{3,60}?) comes when\??$")
ORD = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
        "4th": 4, "fifth": 5, "5th": 5}
_ORDINALS = (r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|4th|"
             r"5th|6th|7th|8th|9th|10th)")
SERIES_ORD = re.compile(r"^(?:and )?(?:the |what'?s the |whats the |what is the |which is the )?"
                        + _ORDINALS + r" (.+?) "
                        r"(?:book|novel|one)(?: by [a-z .'-]+)?(?: please| pls)?\??$|"
                        r"^(?:and )?(?:part|book|volume) (\d)\??$|"
                        r"^(?:the )?([\w' ]{3,40}?)[,.:;-]+\s*(?:the )?" + _ORDINALS +
                        r" (?:book|novel|one|part)(?: please| pls)?\W*$")   # "farseer, first book"
CONNECTOR = re.compile(r"^(?:and|n|so|ok|okay|then|what about|how about|the)$")
_NTH = (r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|first|second|third|fourth|"
        r"fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|4th|5th|6th|7th|8th|9th|10th)")
SERIES_WHICH = re.compile(                   # "throne of glass, which is book three?"
    r"\bwhich (?:one |book |novel )?is (?:book |number |no\.? |#|part |the |)" + _NTH +
    r"(?: one| book)?\b|\bwhat(?:'?s| is) (?:book|number|part) " + _NTH + r"\b|"
    r"\b(?:book|part|number) " + _NTH + r" (?:called|again)\b|"
    r"\bwhich (?:[\w']+ ){0,4}(?:book|one) is (?:number |no\.? |#)" + _NTH + r"\b")
SERIES_ORDER = re.compile(r"\b(?:what|which) order\b|\breading order\b|"
                          r"\bwhich (?:one |book |novel )?(?:comes|came|goes|is) first\b|"
                          r"\bwhich is the first\b")
SERIES_START = re.compile(r"\bwhich (.+?) (?:book|one|novel) (?:do|should) i (?:start|begin)\b|"
                          r"\bwhere (?:should|do|does|can) (?:i |we )?(?:begin|start)(?: with| reading)? "
                          r"(.+?)(?: series| sequence| books| saga)?\??$|\bwhere does (.+?) "
                          r"(?:series |sequence |saga )?(?:begin|start)\??$|^(.+?)[,:-]+ which one do i "
                          r"(?:start|begin)(?: with)?\??$|\bwhere do (they|these|those|them) (?:begin|start)\b|"
                          r"\bwhere do (?:the )?(.+?) (?:books|novels|series|mysteries|ones|stories|"
                          r"saga|adventures) (?:begin|start)\??$")
SERIES_LAST = re.compile(r"\b(?:the )?(?:last|final) (?:one|book|part|volume)\b")
SERIES_LAST_NAMED = re.compile(      # "what's the very last vampire academy book?"
    r"^(?:and |so |ok |okay )?(?:what'?s |whats |what is |which is |which'?s )?(?:the )?(?:very )?"
    r"(?:last|final) (?!(?:one|book|novel|part|volume|of|in)\b)([a-z0-9][\w' ]{2,40}?)"
    r"(?: (?:book|novel|one|volume|instal?lment)s?)?(?: ever| called)?"
    r"(?:[,;-]+ (?:the one|which|that)\b[^?]*)?\W*$|"          # "..., the one sanderson finished"
    r"^(?:the )?([a-z0-9][\w' ]{2,50}?)[,.:;-]+\s*(?:and )?(?:what'?s |whats |which is )?(?:the )?"
    r"(?:very )?(?:last|final)(?: one| book| novel)?\W*$|"
    r"^(?:the )?([a-z0-9][\w' ]{2,40}?) (?:series |trilogy |saga |books )?(?:very )?(?:last|final) "
    r"(?:book|one|novel|volume)\W*$")                          # "5th wave trilogy last book??"
SERIES_NUM = re.compile(r"^(.+?)\s+(?:book|#|part|volume|vol\.?|no\.?|number)\s*(\d{1,2}|one|two|three|"
                        r"four|five|six|seven|eight|nine|ten)\??$|"
                        r"^(?:book|part|volume) (\d{1,2}) of (.+?)\??$|"
                        r"^(.+?) ([2-9])(?:\s*-?\s*the (?:book|novel))\??$")   # "jurassic park 2 - the book"
SERIES_WHICH_FIRST = re.compile(
    r"^(.+?)[\s,:-]+which (?:one|book|novel)(?:'?s| is| comes| do i read| should i read| to read)?"
    r" first\W*$|^which (?:one |book |novel )?(?:'?s |is |comes |came |do i read |should i read )?first"
    r"(?: (?:in|of|from|by) (.+?))?\W*$|"
    r"^(.{3,80}?\b(?:books|series|novels|ones|saga|trilogy)\b.{0,60}?)\s*[-,:;]+\s*(?:and )?(?:the )?"
    r"(?:first|1st) (?:one|book)(?: please| pls)?\W*$|"   # "those spy books by horowitz - the first one"
    r"[.!?]\s+(?:so |ok )?(?:what|which)(?:'s| is) the (?:first|1st) (?:book|one|novel)\W*$")
SERIES_FIRST = re.compile(
    r"\b(?:first|1st) (?:book |one |novel )?(?:in|of) (?!(?:those|these|them|the ones|that lot)\b)"
    r"(?:the )?(.+?)(?: series)?\??$|"
    r"\b(?:where|which one) (?:do|should) i (?:start|begin)\b(?: (?:with|on|the))*\s*(.*)$|"
    r"\b(.+?) (?:series )?in order\??$|^(.+?) (?:series )?(?:reading )?order\??$")


_NTH_WORDS = {**ORD, **NUMBER_WORDS, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8,
              "8th": 8, "ninth": 9, "9th": 9, "tenth": 10, "10th": 10}
_NTH_ANY = (r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|4th|"
            r"5th|6th|7th|8th|9th|10th|\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)")
_FOLLOW_NUM = re.compile(
    r"^(?:and |n |so |ok |okay |then |what about |how about |give me |what'?s |whats |what is |"
    r"which is |is there (?:a |an |any )?)*(?:the )?(?:very )?(?:part |book |volume |vol |no\.? |number |#|"
    r"book number )?"
    r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|4th|5th|6th|"
    r"7th|8th|9th|10th|\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
    r"(?: one| book| novel| part| volume)?(?: is| then| called| please| pls| yet| out| already)*"
    r"(?: part)?\??$")                          # "is there a third one yet"
# outside a series answer, only with a word that says "of the series" ("and book three",
# "and the second book?", "whats the first one called"), when the book talked about is in one
_FOLLOW_SERIES = re.compile(
    r"^(?:and |n |so |ok |okay |then |what about |how about |give me |what'?s |whats |what is |"
    r"which is )*(?:(?:part|book|volume|vol|no\.?|number|#) " + _NTH_ANY + r"|the (?:very )?"
    + _NTH_ANY + r" (?:book|novel|part|volume|one (?:called|is)|one then)|the very first(?: one)?)"
    r"(?: is| then| called| please| pls)*\??$")
_FOLLOW_NEXT = re.compile(
    r"^(?:and |so |ok |okay |then )*(?:then|after that|after it|next|the next one|the next|"
    r"what comes (?:after|next)(?: (?:it|that|this))?|what(?:'s| is) after (?:it|that|this)|"
    r"(?:are there|is there) (?:any )?(?:more|others|another)(?: (?:after|than) (?:that|it|this))?|"
    r"what then|then what|after (?:that|this|it) one|the one after(?: (?:that|this|it)(?: one)?)?|"
    r"after (?:this|that|it)(?: one)?,? (?:which|what)(?: one| book)? "
    r"(?:comes?|is next|next))\W*$")
_FOLLOW_MIDDLE = re.compile(r"^(?:and |so |ok |okay |what about |whats |what'?s |what is )*(?:the )?"
                            r"middle(?: one| book| part| volume)?\W*$")
_FOLLOW_LAST = re.compile(r"\b(?:the )?(?:last|final) (?:one|book|part|volume)\b|"
                          r"\b(?:the )?(?:very )?(?:last|final) (?:one |book )?(?:of|in) (?:the|that|this) "
                          r"(?:trilogy|series|saga|books|lot)\b|"
                          r"^(?:and |so |ok |okay )*(?:the )?(?:very )?(?:last|final)\W*$|"
                          r"\bwhich (?:one'?s|one is|is) the last\b")


def series_follow_up(text: str, act) -> None:   # act: acts.Act
    """After a series answer: "and the third?" -> book 3, "and then?" -> the next one,
    "which one's the last" -> the last (``act`` is changed in place)."""
    t = _follow_text(text)
    m = _FOLLOW_NUM.match(t)
    if m:
        w = m.group(1)
        act.kind, act.sub = "series", "number"
        act.number = _NTH_WORDS.get(w) or int(w)
    elif _FOLLOW_NEXT.match(t):
        act.kind, act.sub = "series", "next"
    elif _FOLLOW_MIDDLE.match(t):                # "and the middle one" of a trilogy
        act.kind, act.sub = "series", "middle"
    elif _FOLLOW_LAST.search(t):
        act.kind, act.sub = "series", "last"


def _follow_text(text: str) -> str:
    """The words of a follow-up, without "no, I meant" ("no i meant the third one")."""
    return re.sub(r"^(?:no|nope|sorry|oops)?[,.!]*\s*i meant\s+", "", norm(text).rstrip("!.?, "))


def bare_follow_up(text: str) -> bool:
    """'and the seventh', 'and then?', 'book 3?': a step in a series and nothing else."""
    t = _follow_text(text)
    return bool(_FOLLOW_NUM.match(t) or _FOLLOW_NEXT.match(t) or _FOLLOW_SERIES.match(t) or
                _FOLLOW_MIDDLE.match(t))


_NTH_NAMED = re.compile(r"^(?:and |so |ok |okay |what about |how about |then )*(?:the )?" + _NTH_ANY +
                        r" ([a-z][a-z' ]{2,40}?)(?: one| book| novel| volume)?$")


def nth_named(text: str) -> tuple[int, str] | None:
    """"and the 3rd temeraire?" -> (3, 'temeraire'): a number and a name that may be a
    series (the caller checks that it is the series talked about)."""
    m = _NTH_NAMED.match(norm(text).rstrip("!.?, "))
    if not m:
        return None
    return _NTH_WORDS.get(m.group(1)) or int(m.group(1)), m.group(2).strip()


def series_follow_up_named(text: str, act) -> None:
    """The stricter follow-up ("and book three", "the second book?") for a turn after one
    about a book in a series that was not a series answer (``act`` is changed in place)."""
    t = norm(text).rstrip("!.?, ")
    m = _FOLLOW_SERIES.match(t)
    if m:
        w = next((g for g in m.groups() if g), "first")
        act.kind, act.sub = "series", "number"
        act.number = _NTH_WORDS.get(w) or int(w)
    elif re.match(r"^(?:and |so |ok |okay )*(?:then )?(?:after that|after it|the one after(?: that)?|"
                  r"what comes after (?:it|that)|the next (?:book|one) (?:after that|then))\W*$", t):
        act.kind, act.sub = "series", "next"


# A step in a series said anywhere in a longer message, the series named somewhere else in it
# ("the discworld ones with moist von lipwig the conman, first please", "the books about
# percy at the camp.. what's book three", "juliette's books, shatter me. after unravel me?").
# Only a cue: ``turns/series_cue.py`` acts on it when the words also name a series or one of
# its books.
_CUE_NUMBER = re.compile(
    r"\b(?:the |very )*" + _ORDINALS.replace("(first|", "(") + r" (?:book|one|novel|part|volume|"
    r"instal?lment|of (?:those|them|these|the|that)|in (?:the|that|this))\b|"
    r"\b(?:book|part|volume|number|no\.?|#) ?(two|three|four|five|six|seven|eight|nine|ten|[2-9]|1[0-9])\b")
_CUE_FIRST = re.compile(
    r"\b(?:the |very )*(?:first|1st) (?:book|one|novel|part|volume|instal?lment|of (?:those|them|these|"
    r"the|that)|in (?:the|that|this)|please|pls|plz)\b|\bfirst(?: one)?\W*$|\bbook (?:one|1)\b|"
    r"\bwhich (?:one |book )?(?:do|should|must) (?:i|we|he|she|they) (?:start|begin)\b|"
    r"\bwhere (?:do|should|does|to|can) .{0,30}?(?:start|begin)\b|"
    r"\b(?:which|what)(?: one)?(?:'s| is) (?:the )?(?:very )?first (?P<w>(?!(?:book|one|novel|part|"
    r"volume)\b)[a-z][\w']+)\b|\bthe (?:very )?first (?P<w2>[a-z][\w']+) (?:book|novel|one)\b|"
    r"\bfirst (?:and|&) second\b|\bfirst (?:two|three|few)\b|"
    r"^(?:and |ok |so )?(?:the )?(?:very )?first (?P<w3>[a-z][\w']+)(?: [a-z][\w']+){0,3}\W*$")
_CUE_AFTER = re.compile(r"\bafter (?!(?:that|this|it|all|school|work|the (?:first|second|"
                        r"last))\b)([a-z][\w' ]{2,50}?)(?:[,.?!;]|\s+(?:which|what|is|then)\b|$)")
_CUE_BEFORE = re.compile(r"\bbefore (?!(?:that|this|it|bed|i |we |he |she )\b)"
                         r"([a-z][\w' ]{2,50}?)(?:[,.?!;]|\s+(?:which|what|is|then)\b|$)")
_CUE_MORE = re.compile(r"\b(?:is there|are there) (?:any )?more\b|\bwants? more\b|\bany more\b")
_CUE_LAST = re.compile(r"\b(?:the )?(?:very )?(?:last|final|latest|newest) (?:book|one|novel|part|volume)\b")


def series_cue(text: str) -> tuple[str, int | None, str] | None:
    """(step, number, words) of a series step said in passing: ("number", 2, "") for "the
    second of those", ("next", None, "unravel me") for "after unravel me?", ("first", None,
    "marple") for "which one's the first marple" (the word after "first" must be part of the
    series name), ("next", None, "") for "is there more mistborn" (the book read names the
    place); None when the words say no step."""
    t = norm(text)
    for sub, pat in (("previous", _CUE_BEFORE), ("next", _CUE_AFTER)):
        m = pat.search(t)
        if m:
            return sub, None, m.group(1).strip()
    m = ([None] + list(_CUE_NUMBER.finditer(t)))[-1]       # "book 5.. no wait book 6": the last
    if m:
        w = next(g for g in m.groups() if g)
        return "number", _NTH_WORDS.get(w) or int(w), ""
    m = _CUE_FIRST.search(t)
    if m:
        return "first", None, m.group("w") or m.group("w2") or m.group("w3") or ""
    if _CUE_LAST.search(t):
        return "last", None, ""
    if _CUE_MORE.search(t) and _READ_X.search(t):
        return "next", None, ""
    return None
