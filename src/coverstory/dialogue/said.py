"""Typed constraints said in words: the recipient and their age ("for my 8 year old
daughter", "my son's 11"), what they love ("who loves horses"), page limits ("under two
hundred and fifty pages") and the language ("in french"). ``acts.classify`` fills an ``Act``
with them; the spans it masks are offsets in ``acts.norm(text)``."""

from __future__ import annotations

import re

_ORDINAL_FIX = {"frist": "first", "fisrt": "first", "fist one": "first one", "secnd": "second",
                "secound": "second", "scond": "second", "thrid": "third", "tihrd": "third",
                "fourht": "fourth", "forth one": "fourth one", "fith": "fifth"}
_ORDINAL_TYPOS = re.compile(r"\b(?:" + "|".join(sorted(_ORDINAL_FIX, key=len, reverse=True)) + r")\b",
                            re.IGNORECASE)


def fix_ordinals(text: str) -> str:
    """Misspelt ordinals spelt right, the rest of the text untouched: "the frist one"."""
    return _ORDINAL_TYPOS.sub(lambda m: _ORDINAL_FIX[m.group(0).lower()], text)
_FILLERS = re.compile(r"\b(?:um+|uh+|uhm+|erm+)\b,?\s*")     # a voice transcript's fillers


def norm(text: str) -> str:
    """Lower case, straight apostrophes, single spaces, no "um" / "uh": the form every rule
    reads."""
    t = _FILLERS.sub("", (text or "").lower().replace("\u2019", "'")).strip()
    t = fix_ordinals(t)
    return re.sub(r"\s+", " ", t)


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18}
_AGE = re.compile(r"\b(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")[ -]?(?:(?:year|yr)s?[ -]?old|yo|y/o|yrs)\b|"
                  r"\b(?:of|aged) (\d{1,2}|" + "|".join(NUMBER_WORDS) + r") years?\b|"
                  r"\b(?:aged?|ages|(?:he|she|they|who)(?:'s| is| are| turns| just turned|'s turning|"
                  r" is turning)|i'?m|im|i am)\s+"
                  r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\b(?!\s*(?:books?|chapters?|pages?|hours?|"
                  r"days?|weeks?|months?|minutes?|%|in\b|into\b|of\b))")
RECIPIENTS = {  # a person the book is for -> the audience it implies (None: unknown)
    "toddler": "picture book", "baby": "picture book", "preschooler": "picture book",
    "kid": "children", "kids": "children", "child": "children", "children": "children",
    "grandkid": "children", "grandkids": "children", "grandchild": "children",
    "son": None, "daughter": None, "nephew": None, "niece": None, "grandson": None,
    "granddaughter": None, "students": None, "class": None,
    "teen": "young adult", "teenager": "young adult", "teenage": "young adult",
    "dad": "adult", "father": "adult", "mum": "adult", "mom": "adult", "mother": "adult",
    "husband": "adult", "wife": "adult", "boyfriend": "adult", "girlfriend": "adult",
    "partner": "adult", "boss": "adult", "grandma": "adult", "grandpa": "adult",
    "grandmother": "adult", "grandfather": "adult", "brother": None, "sister": None,
    "friend": None, "colleague": "adult", "coworker": "adult", "uncle": "adult", "aunt": "adult",
    "teacher": "adult", "in-laws": "adult", "father-in-law": "adult", "mother-in-law": "adult",
    "boyfriends": "adult", "parents": "adult", "mates": None, "bestie": None, "bff": None,
    "nan": "adult", "nana": "adult", "nanna": "adult", "gran": "adult", "granny": "adult",
    "grandad": "adult", "granddad": "adult", "grandparents": "adult",
    "book club": "adult", "reading group": "adult", "book group": "adult",
}
_SAID_AUDIENCE = re.compile(r"\b(?:ya|young adult|teen fiction|middle grade|middle-grade|"
                            r"picture books?|children'?s books?|kids'? books?)\b")
_RECIPIENT = re.compile(
    r"\b(?:for|to|gift for|present for|buy for|get for)\s+(?:my|our|a|the)\s+"
    r"((?:(?:\d{1,2}|" + "|".join(NUMBER_WORDS) + r")[ -]?(?:year|yr)s?[ -]?old\s+|little\s+|"
    r"teenage\s+|young\s+|older\s+|elderly\s+)*)(" + "|".join(sorted(RECIPIENTS, key=len,
                                                                     reverse=True)) + r")\b")
_INTEREST = re.compile(r"\b(?:who|that)\s+(?:really\s+)?(?:loves?|likes?|enjoys?|is into|"
                       r"are into|is obsessed with|is crazy about|adores?)\s+(.+?)(?:[.,;!?]|$)")
_MAD_ABOUT = re.compile(r"\b(?:he|she|they|who)(?:'s| is| are)\s+(?:\w+\s+)?(\w{3,})[- ](?:mad|crazy|"
                        r"obsessed)\b|\b(?:mad|crazy|obsessed|nuts) (?:about|with|over) (\w{3,})\b")
MY_PERSON = re.compile(r"\bmy\s+(" + "|".join(sorted(RECIPIENTS, key=len, reverse=True)) + r")\b")
_PERSON_AGE = re.compile(r"\b(?:" + "|".join(sorted(RECIPIENTS, key=len, reverse=True)) +
                         r")(?:'s| is| just turned| turns| turned| turning| who is| who'?s turning|'s turning|"
                         r" is turning|'s just turned| has just turned|"
                         r" aged?)\s+(\d{1,2}|" +
                         "|".join(NUMBER_WORDS) + r")\b(?! (?:pages|books|minutes))")
_W = (r"(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
      r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)")
_N = rf"(\d{{2,4}}|{_W}(?:(?:\s+and\s+|[\s-]+){_W})*)"       # 300, "two hundred and fifty"
_PAGES_PLUS = re.compile(rf"\b{_N}\s*\+?\s*pages?\s*(?:plus|or more|and up|or longer)|"
                         r"\b(\d{2,4})\+\s*pages?\b")
_PAGES = re.compile(r"\b(under|less than|fewer than|no more than|at most|max(?:imum)?|below|up to|"
                    r"shorter than|not more than|not exceeding|no longer than|not longer than|"
                    r"not over|nothing (?:over|above|longer than|more than)|none (?:over|above)|"
                    r"over|more than|at least|longer than|above|exceeding)\s+"
                    rf"{_N}\s*(?:pages|pp|page)\b|\b{_N}\s*pages? or (less|fewer|more)\b")
_PAGES_BETWEEN = re.compile(r"\bbetween\s+(\d{2,4})\s+(?:and|to|-)\s+(\d{2,4})\s*(?:pages|pp)\b")
LANGUAGES = {"english": ("en",), "spanish": ("es", "spa"), "french": ("fr", "fre", "fra"),
             "german": ("de", "ger", "deu"), "italian": ("it", "ita"), "portuguese": ("pt", "por"),
             "dutch": ("nl", "dut", "nld"), "japanese": ("ja", "jpn"), "arabic": ("ar", "ara")}
_LANG = re.compile(r"\b(?:in|written in)\s+(" + "|".join(LANGUAGES) + r")\b")


# the occasion of a gift is no title word: "fathers day", "she's getting married"
_OCCASION = re.compile(r"\b(?:father'?s|mother'?s|fathers|mothers|valentine'?s|valentines) day\b|"
                       r"\bgetting married\b|\b(?:wedding|birthday|christmas|xmas|anniversary|"
                       r"retirement|graduation|housewarming|baby shower|thank[- ]you)"
                       r"(?: present| gift| card)?\b|\b(?:next|this|last) (?:week|month|year|weekend|"
                       r"summer|winter|spring|autumn|fall)\b")
_POSSESSED = re.compile(r"\b(?:my|our)\s+\w+'s\s+(" + "|".join(sorted(RECIPIENTS, key=len, reverse=True))
                        + r")\b")                       # "my son's teacher"
# a school year: "is in year 4" (UK, age 8-9), "in grade 3", "studying in class 8" (India)
_SCHOOL = re.compile(r"\b(?:is in|in|studying in|at|starting|entering)\s+(year|yr|grade|class|std\.?|"
                     r"standard)\s+(\d{1,2})\b|\b(\d{1,2}|first|second|third|fourth|fifth|sixth|seventh|"
                     r"eighth)(?:st|nd|rd|th)?[ -]grade(?:r)?\b")


_GRADE_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def read_constraints(t: str, act) -> None:
    """Age, recipient, interests, page limits and language: typed constraints from words
    (``t``: ``acts.norm(text)``), set on ``act`` (an ``acts.Act``)."""
    m = _AGE.search(t)
    if m:
        n = m.group(1) or m.group(2) or m.group(3)
        act.age = int(n) if n.isdigit() else NUMBER_WORDS.get(n)
        act.masked.append(m.span())
    m = _SCHOOL.search(t)
    if m and act.age is None:
        w = m.group(2) or m.group(3)
        n = int(w) if w.isdigit() else _GRADE_WORDS.index(w) + 1
        age = n + (5 if m.group(1) in ("year", "yr") else 6)
        if 5 <= age <= 18:
            act.age = age
            act.masked.append(m.span())
    for m in _OCCASION.finditer(t):
        act.masked.append(m.span())
    for m in _POSSESSED.finditer(t):
        act.masked.append(m.span(1))
    m = _PERSON_AGE.search(t)
    if m and act.age is None:                   # "my nephew is 15"
        n = m.group(1)
        act.age = int(n) if n.isdigit() else NUMBER_WORDS.get(n)
        act.masked.append(m.span(1))
    for m in MY_PERSON.finditer(t):                   # "my boyfriend", "my sister's birthday"
        act.masked.append(m.span(1))
        act.someone = True
        if act.audience is None and RECIPIENTS.get(m.group(1)):
            act.audience = RECIPIENTS[m.group(1)]
    m = _RECIPIENT.search(t)
    if m:
        act.someone = True
        act.masked.append(m.span(2))           # "dad" is the recipient, not a title word
        aud = RECIPIENTS.get(m.group(2))
        if aud:
            act.audience = aud
    for w in ("toddler", "preschooler", "baby"):
        if re.search(rf"\b{w}s?\b", t) and not re.search(
                rf"\b(?:had|having|expecting|just had|new|a new) (?:a |her |his |their )?{w}\b|"
                rf"\b{w} (?:shower|brain|boomers?)\b", t):   # "my sister just had a baby"
            act.audience = "picture book"
    if act.age is not None and _SAID_AUDIENCE.search(t):
        pass                                # "for my niece, she's 18, loves YA": YA was said
    elif act.age is not None:
        act.audience = ("picture book" if act.age <= 5 else "children" if act.age <= 12
                        else "young adult" if act.age <= 17 else "adult")
    for m in _INTEREST.finditer(t):
        act.interests.append(m.group(1).strip())
    for m in _MAD_ABOUT.finditer(t):                # "she's horse mad", "crazy about dinosaurs"
        act.interests.append((m.group(1) or m.group(2)).strip())
    m = _PAGES_PLUS.search(t)
    if m and _number(m.group(1) or m.group(2)):
        act.pages = (_number(m.group(1) or m.group(2)), 100000)
        act.masked.append(m.span())
    m = None if act.pages else _PAGES_BETWEEN.search(t)
    if m and _number(m.group(1)) and _number(m.group(2)):      # "between 200 and 350 pages"
        act.pages = (_number(m.group(1)), _number(m.group(2)) + 1)
        act.masked.append(m.span())
    m = None if act.pages else _PAGES.search(t)
    if m and _number(m.group(2) or m.group(3)):
        if m.group(1):
            word, n = m.group(1), _number(m.group(2))
            low = word in ("over", "more than", "at least", "longer than", "above", "exceeding")
        else:
            n, low = _number(m.group(3)), m.group(4) == "more"
        act.pages = (n, 100000) if low else (0, n + 1)
        act.masked.append(m.span())
    m = _LANG.search(t)
    if m:
        act.language = m.group(1)


def _number(said: str) -> int | None:
    """'300' or 'two hundred and fifty' (text2num) as a number of 10-9999 pages, else None."""
    from text_to_num import alpha2digit

    digits = re.findall(r"\d+", said if said.isdigit() else alpha2digit(said, "en"))
    n = int(digits[-1]) if len(digits) == 1 else None
    return n if n is not None and 10 <= n <= 9999 else None


NEWCOMER_VERBS = frozenset({"read", "reads", "tried", "try", "done"})
_NEWCOMER_AFTER = frozenset({"before", "yet", "so", "until", "till"})
_NEWCOMER_ASKS = frozenset({"start", "begin", "beginner", "beginners", "newbie", "starter",
                            "into", "introduce", "introduction", "first"})


def newcomer(toks: list[str], start: int, end: int, brk: str) -> bool:
    """"never read manga before", "haven't tried any sci fi yet": a reader new to the kind
    of book, who asks for it — not an exclusion."""
    j = start - 1
    while j >= 0 and toks[j] in ("any", "a", "much", "really", "proper", "some"):
        j -= 1
    if j < 1 or toks[j] not in NEWCOMER_VERBS or toks[j - 1] not in (
            "never", "not", "havent", "hadnt", "didnt", "ive", "i"):
        return False
    after = toks[end:end + 3]
    return any(t in _NEWCOMER_AFTER for t in after) or end >= len(toks) or \
        toks[end] == brk or bool(_NEWCOMER_ASKS & set(toks[end:]))   # "never read manga,
    #                                                     where should a total beginner start"
