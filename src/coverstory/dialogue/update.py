"""State updates: what one request turn changes in the session's constraints.

Rules: a new request that names a new subject (a genre, an author, a book to be like) or
opens with "actually", "forget that", "what about", "instead" replaces the old constraints;
a refinement ("shorter", "no romance", "for teens", "set in Venice", "and with dragons")
adds to them; a negation removes or excludes. Every constraint records the turn that set it
(``SessionState.source``).
"""

from __future__ import annotations

import re

import numpy as np

from coverstory.catalog.normalize import fold
from coverstory.dialogue.acts import Act
from coverstory.dialogue.bookindex import _STOP, BookIndex
from coverstory.dialogue.constraints import editions
from coverstory.dialogue.lexicon import FACETS, NEGATORS, SHELF_WORDS
from coverstory.dialogue.mentions import (FILLER, SENTIMENT_WORDS, already_read, disliked_in_passing,
                                          like_named, names_titles_author, negated_franchise,
                                          negated_series, negated_words, series_start)
from coverstory.dialogue.nlu import Parse, tokens
from coverstory.dialogue.state import SessionState

RARE_SHARE = 0.02  # outside descriptions, a stray word counts when it singles out few books
SUBJECT = ("genre", "author")
SOFT_IN_PLOT = ("genre", "mood", "audience")   # in a plot description: preferences only
DESCRIPTION_WORDS = 4        # this many unexplained words make a description of a story                  # kinds that name what a request is for
def subjects(p: Parse, act: Act) -> set[str]:
    out = {f"{s.kind}:{s.value}" for s in p.slots if s.kind in SUBJECT and not s.negated}
    toks, read = tokens(p.text), set()
    for s in sorted(p.slots, key=lambda s: s.start):
        if s.kind == "title" and not s.negated and s.score >= 0.85:
            if already_read(toks, s, read):        # "she's read black beauty": no new subject
                read.add(s.end)
            else:
                out.add(f"title:{s.value}")
    if act.audience:
        out.add(f"audience:{act.audience}")
    return out


def is_new_topic(st: SessionState, p: Parse, act: Act) -> bool:
    """Does this request replace the session's constraints rather than refine them?"""
    if not st.stated():
        return False
    new = subjects(p, act)
    if act.strong_change or act.topic_change and (new or any(     # "what about something newer":
            s.kind == "audience" and not s.negated for s in p.slots)):  # refine; "no wait, it's for
        return True                                                  # my 5 year old": new
    if act.interests or act.someone or re.search(r"\b(?:gift|present|stocking filler)\b",
                                                 fold(p.text)):
        return True                     # "a gift for my dad who likes cooking": someone new
    if act.refine_cue or p.intent == "refine":
        return False
    if not new:
        return False
    old = {f"{k}:{v}" for k in SUBJECT for v in st.prefs.get(k, {})}
    old |= {f"title:{a}" for a in st.anchors}
    if st.audience:
        old.add(f"audience:{st.audience}")
    if new <= old:
        return False
    # a new subject of a kind already stated, or any subject after a tone-only request
    kinds_new = {s.split(":")[0] for s in new}
    kinds_old = {s.split(":")[0] for s in old}
    return bool(kinds_new & kinds_old) or not kinds_old or "author" in kinds_new \
        or "title" in kinds_new


_REQUEST_CUE = re.compile(
    r"\b(?:i want|i'?d like|we want|looking for something|recommend|suggest|any thoughts|"
    r"any ideas|ideas for|find (?:me |us )?(?:something|a book|one)|what should (?:i|we) "
    r"(?:read|try)|can you find|give me)\b")
_IDENTIFY_CUE = re.compile(
    r"\b(?:the one (?:where|with|about|that|in which)|can'?t remember|cannot remember|forgot|"
    r"forgotten|what (?:was|is) (?:the|that|this) (?:book|title|name)|trying to (?:find|"
    r"remember|think)|the name of|read (?:it|this|one|a book) (?:years ago|as a kid|once)|"
    r"which book (?:is|was)|what book (?:is|was))\b")


def asks_for_books(text: str) -> bool:
    """A long message that asks for books ("... so I want ONE massive sci fi book, any
    ideas?"), not a half-remembered story to identify."""
    t = fold(text)
    return bool(_REQUEST_CUE.search(t)) and not _IDENTIFY_CUE.search(t)


def keeps_limits(st: SessionState, p: Parse, act: Act) -> bool:
    """A first subject after a request without one ("a novel I can read in one sitting, under
    150 pages", then "sci fi one") starts a new topic but keeps its page, year and language
    limits; a change of mind ("actually", "what about") or someone new drops them too."""
    if act.strong_change or act.topic_change or act.interests or act.someone:
        return False
    old = [k for k in SUBJECT if st.prefs.get(k)] + (["title"] if st.anchors else [])
    return not old and not st.audience and bool(st.pages or st.years or st.language)


def apply(idx: BookIndex, st: SessionState, p: Parse, act: Act, pending: dict | None) -> None:
    """Apply a request's slots and typed constraints to the state (see module docstring)."""
    used: set[int] = set()
    p.slots = [s for s in p.slots if not names_titles_author(idx, p, s)]
    wanted = {(s.kind, s.value) for s in p.slots if not s.negated}
    denied = [s for s in p.slots if s.negated and (s.kind, s.value) in wanted and
              s.kind in ("genre", "form")]
    for s in denied:          # "a ghost story, but not proper horror": ghost stories that are
        p.slots.remove(s)     # not shelved as horror
        if idx.tag_column(s.surface) is not None:
            st.exclude("tag", s.surface)
    disliked_in_passing(p)
    spans = {i for s in p.slots if not (s.kind == "title" and s.score < 0.85)
             for i in range(s.start, s.end)}
    if p.intent in ("recommend", "refine") and not pending and \
            len(story_words(p, spans)) >= DESCRIPTION_WORDS:
        p.intent = "describe"                 # a story in the reader's words, not a request
    limits = act.pages or p.years or act.age or any(s.negated for s in p.slots)
    if p.intent == "describe" and (asks_for_books(p.text) and limits or act.interests or act.age):
        p.intent = "recommend"    # "... ONE massive sci fi book, at least 600 pages, any ideas?"
    describe = p.intent == "describe"
    fiction_sf = any(re.search(r"sci[- ]?fi|science[- ]fiction", str(s.value)) and not s.negated
                     for s in p.slots if s.kind in ("genre", "tag"))
    if fiction_sf:                       # "hard sci-fi, heavy on the science": not popular science
        p.slots = [s for s in p.slots if not (s.kind == "genre" and s.value == "science")]
    named = [int(s.value) for s in p.slots if s.kind == "title" and not s.negated
             and s.score >= 0.85]
    toks, read_before = tokens(p.text), set()
    book, words, series = like_named(idx, p, st) if not named else (None, [], None)
    if book is not None:                 # "like the foundation books", "my son liked holes"
        st.anchors = ([a for a in st.anchors if a != book] + [book])[-2:]
        named = [book]
        used.update(i for i, t in enumerate(toks) if t in words)
        if series:
            st.exclude("series", series)          # "graphic novels like maus": not Maus II
    new_authors = {s.value for s in p.slots if s.kind == "author" and not s.negated}
    if new_authors and st.prefs.get("author") and not new_authors & set(st.prefs["author"]) \
            and re.match(r"(?:and )?(?:also|what about|how about)\b|.*\b(?:too|as well)\W*$",
                         fold(p.text)):
        st.prefs["author"] = {}           # "maeve binchy for my mum", "also rosamunde pilcher":
        #                                   the new author now, the rest of the request kept
    named_anchor = None
    for s in p.slots:
        used.update(range(s.start, s.end))
        if describe and s.kind in SOFT_IN_PLOT and not s.negated:
            # "a clown terrorises children in a maine town": words of a plot, not a request
            st.prefer(s.kind, s.value)
            if f"{s.kind}:{s.value}" not in st.soft:
                st.soft.append(f"{s.kind}:{s.value}")
        elif s.kind == "audience" and not s.negated:
            st.audience = s.value
            st.source[f"audience:{s.value}"] = st.turns
        elif s.kind == "era" and not s.negated and not p.years:
            st.prefer(s.kind, s.value)         # "written recently", "noughties": a hard range
            st.years = list(FACETS["era"].value(s.value).years)
        elif s.kind == "length" and not s.negated:
            lo, hi = FACETS["length"].value(s.value).pages
            if st.pages and max(lo, st.pages[0]) < min(hi, st.pages[1]):
                lo, hi = max(lo, st.pages[0]), min(hi, st.pages[1])   # "more doorstoppers"
            st.pages = [lo, hi]
        elif s.kind in FACETS or s.kind in ("tag", "author"):
            (st.exclude if s.negated else st.prefer)(s.kind, s.value)
            kind = TAG_GENRE.get(str(s.value)) if s.negated and s.kind == "tag" else None
            if kind and ("genre", kind) not in wanted and kind not in st.prefs.get("genre", {}):
                st.exclude("genre", kind)      # "realistic, not magic": no fantasy at all
        elif s.kind == "title":
            read = not s.negated and s.end - s.start >= 2 and already_read(toks, s, read_before)
            if s.score < 0.85 and p.intent != "similar_to" and not read and not (
                    s.negated and s.end - s.start >= 2       # "not the cat in the hat": a title
                    and idx.series.find(s.surface) is None):  # ("not wheel of time": a series)
                used.difference_update(range(s.start, s.end))   # just words, then
            elif s.negated:
                st.rejected += [b for b in editions(idx, int(s.value)) if b not in st.rejected]
            elif read or already_read(toks, s, read_before):  # "she's read Black Beauty"
                read_before.add(s.end)
                st.read += [b for b in editions(idx, int(s.value)) if b not in st.read]
                if not named_anchor and p.sentiment >= 0 and not act.interests and not any(
                        x.kind in FACETS or x.kind in ("tag", "author") for x in p.slots
                        if not x.negated) and p.intent in ("similar_to", "recommend"):
                    # "just read X, what next?": like X (not "a cosy mystery, I've read X")
                    named_anchor = int(s.value)
                    st.anchors = (st.anchors + [named_anchor])[-2:]
            elif p.intent in ("similar_to", "recommend", "refine", "describe"):
                book = series_start(idx, s.surface) or int(s.value)   # "like Harry Potter"
                if book not in st.anchors:
                    st.anchors = (st.anchors + [book])[-2:]
        elif s.kind == "refine":             # "like Outliers but shorter": than Outliers
            _refine(idx, st, *str(s.value).split(":"), named=named)
    if _NOT_THAT_LONG.search(fold(p.text)) and not act.pages:
        _refine(idx, st, "length", "short", named=named)   # "like X but not 1000 pages"
    _implied_tone(st)
    _drop_contradicted_tags(st)
    if not describe:
        _shelf_words(idx, st, p)
    for i, j, key in ([] if describe else negated_series(idx, p, used)):  # "not James Bond"
        used.update(range(i, j))
        st.exclude("series", key)
    if _NO_FICTION.search(fold(p.text)):                  # "he's not a novel person at all"
        st.prefer("genre", "non-fiction")
        p.intent = "refine" if describe else p.intent
        describe = False
    named_authors = {s.value for s in p.slots if s.kind == "author" and not s.negated}
    named_spans = {i for s in p.slots if s.kind in ("title", "author") and not s.negated
                   for i in range(s.start, s.end)}
    for i, j, phrase, author in ([] if describe else negated_franchise(idx, p, named_spans)):
        used.update(range(i, j))                 # "but not sherlock holmes", "no more wimpy kid"
        st.exclude("phrase", phrase)
        if author and author not in named_authors:   # "no more potter, what else has rowling"
            st.exclude("author", author)
    for i, word, shelf in ([] if describe else negated_words(idx, p, used)):  # "no memory"
        # in a plot ("a boy wakes up in a maze with no memory") is part of the story
        used.add(i)
        st.exclude("tag" if shelf else "word", word)      # "no zombies", "nothing too gory"
    if act.audience:
        st.set_audience(act.audience, act.age)
    if act.pages:
        st.pages = list(act.pages)
    if act.language:
        st.language = act.language
    titled = " ".join(s.surface for s in p.slots if s.kind == "title" and s.score >= 0.85)
    if p.years and not re.search(rf"\b{p.years[0]}\b", titled) and not (   # "like 1984":
            describe and not _PUBLISHED.search(fold(p.text))):               # a title; "a
        st.years = list(p.years)             # woman in 1976 california": the story's year
    m = _LAST_YEARS.search(fold(p.text))
    if m and not re.search(r"\b(?:1[5-9]|20)\d\d\b", p.text):   # (a year said wins: "the last
        #                                  twenty years, so 2006 or later"); "from the last ten
        #                                  years": of this catalog
        n = int(m.group(1)) if m.group(1).isdigit() else _NUM_WORDS.get(m.group(1), 10)
        newest = int(np.nanmax(idx.years)) if np.isfinite(idx.years).any() else 2020
        st.years = [newest - n + 1, 3000]
    if pending and pending["facet"] not in st.asked:
        st.asked.append(pending["facet"])
    about = about_words(idx, p, used, pending)
    extra = qualifier_words(p) + act.interests  # "spy novels": spy; "who loves horses"
    if extra:
        about = (about + " " + " ".join(extra)).strip()
    if about and p.intent not in ("dont_care",):
        st.about.append(about)


#: a story element said "no" to that rules out its whole genre, unless that genre is asked for
#: ("fantasy, but no dragons" keeps fantasy)
TAG_GENRE = {"magic": "fantasy", "wizards": "fantasy", "witches": "fantasy", "dragons": "fantasy",
             "elves": "fantasy", "vampires": "paranormal", "werewolves": "paranormal",
             "aliens": "science fiction"}
_PUBLISHED = re.compile(r"\b(?:published|written|came out|come out|released|from (?:the )?"
                        r"(?:\d{4}|\d0s|(?:late|early|mid) )|books? (?:of|from) )")
LIGHT = ("funny", "cosy", "uplifting")
_NOT_THAT_LONG = re.compile(r"\b(?:not|nothing|no) (?:another |a |like |close to |anywhere near )?"
                            r"(?:\d{3,4}|a thousand|(?:five|six|seven|eight|nine) hundred)\+? pages?\b")
_NO_FICTION = re.compile(r"\b(?:not|isn ?t|never|no) (?:an? |really an? )?(?:novel|fiction) (?:person|"
                         r"reader|fan|guy|type|lover)\b|\b(?:doesn ?t|don ?t|never|won ?t) (?:read|like|"
                         r"enjoy|do) (?:novels|fiction)\b|\bno (?:novels|fiction)\b")
_LAST_YEARS = re.compile(r"\b(?:last|past) (\d{1,2}|two|three|five|ten|twenty|few|couple of|"
                         r"couple) years\b")
_NUM_WORDS = {"two": 2, "three": 3, "five": 5, "ten": 10, "twenty": 20, "few": 5,
              "couple of": 3, "couple": 3}
_SETTING = re.compile(r"\b(?:set in|set on|set at|takes place in|takes place on|taking place in|"
                      r"located in|set during|aboard|"
                      r"about|featuring|involving|with)\s+((?:the\s+)?[a-z]+(?:\s+[a-z]+)?)")
def _implied_tone(st: SessionState) -> None:
    """"funny" / "cosy" / "uplifting" rule out dark books (the later of "dark" and a light
    tone wins: "a dark thriller" then "lighter than that"); "scary" means horror."""
    moods = st.prefs.get("mood", {})
    light = [m for m in LIGHT if m in moods]
    heavy = [m for m in ("dark", "scary") if m in moods]    # "a cosy mystery", then "make it
    if light and heavy:                                      # scarier - proper horror"
        newest = max(st.source.get(f"mood:{m}", 0) for m in light)
        if newest >= max(st.source.get(f"mood:{m}", 0) for m in heavy):
            for m in heavy:
                moods.pop(m)
        else:
            for m in light:
                moods.pop(m)
            if "dark" in st.excl.get("mood", []):
                st.excl["mood"].remove("dark")
    if any(m in moods for m in LIGHT) and "dark" not in moods \
            and "dark" not in st.excl.get("mood", []):
        st.exclude("mood", "dark")
    if "scary" in moods and "horror" not in st.prefs.get("genre", {}) and \
            "horror" not in st.excl.get("genre", []):    # "spooky but not proper horror"
        st.prefer("genre", "horror")


_NEGATOR_WORDS = tuple(" " + n.replace("'", "") + " " for n in NEGATORS)   # as in fold()ed text


def _shelf_words(idx: BookIndex, st: SessionState, p: Parse) -> None:
    """'scandi crime', 'spy novels', 'picture books': the narrow shelf the reader means, when
    the catalog has it (without: 'no spy stuff' excludes it)."""
    t = " " + re.sub(r"[^a-z ]+", " ", fold(p.text)) + " "
    toks = tokens(p.text)
    for phrase, shelf in SHELF_WORDS.items():
        at = t.find(f" {phrase} ")
        if at < 0 or idx.tag_column(shelf) is None:
            continue
        before = " " + " ".join(t[:at].split()[-4:]) + " "
        if " than " in before:                          # "longer than a picture book"
            st.exclude("tag", shelf)
        elif _slot_says(p, toks, phrase) is False:      # the slot matcher read it as wanted:
            st.prefer("tag", shelf)                     # "never read manga before"
        elif any(n in before for n in _NEGATOR_WORDS):
            st.exclude("tag", shelf)
        else:
            st.prefer("tag", shelf)


def _slot_says(p: Parse, toks: list[str], phrase: str) -> bool | None:
    """Whether the slot over the first occurrence of ``phrase`` is negated (None: no slot
    covers it)."""
    words = phrase.split()
    for i in range(len(toks) - len(words) + 1):
        if toks[i:i + len(words)] == words:
            for s in p.slots:
                if s.start <= i < s.end and s.kind != "ref":
                    return s.negated
            return None
    return None


def _refine(idx: BookIndex, st: SessionState, facet: str, val: str,
            named: list[int] | None = None) -> None:
    """Comparatives relative to the books ``named`` in the same breath ("like Outliers but
    shorter") or else the books just shown: "shorter", "newer", "less dark"."""
    than = named or st.last_books or ([st.focus] if st.focus is not None else [])
    if facet == "era":
        ys = [idx.years[idx.row[b]] for b in than if b in idx.row]
        ys = [int(y) for y in ys if not np.isnan(y)]
        if val == "+":      # newer than (at least) the oldest book just shown
            st.years = [min(ys) + 1 if ys else 2000, 3000]
            if named:                          # "like the Bourne Identity but newer": modern
                st.years[0] = max(st.years[0], 2000)
        else:
            st.years = [-3000, max(ys) if ys else 1990]
    elif facet == "length":
        ps = [idx.pages[idx.row[b]] for b in than if b in idx.row]
        ps = [int(x) for x in ps if not np.isnan(x)]
        if val == "short":
            st.pages = [0, min(min(ps), 300) if ps else 300]
            if ps and named:                             # shorter than the book named
                st.pages = [0, int(0.6 * min(ps))]
        else:
            st.pages = [max(max(ps) + 1, 400) if ps else 400, 100000]
    elif val.startswith("-"):
        st.exclude(facet, val[1:])
    else:
        st.prefer(facet, val)


GENERIC_FORMS = frozenset("""novel novels story stories book books fiction thriller thrillers
mystery mysteries romance romances""".split())


FRAGMENTS = frozenset("sci fi sf non ya rom com lit chick pop popular literary".split())


def qualifier_words(p: Parse) -> list[str]:
    """The words of a genre phrase beyond the genre itself ("spy" in "spy novels",
    "ghost" in "ghost story"): what the book should be about, too."""
    out = []
    for s in p.slots:
        if s.kind == "genre" and not s.negated and " " in s.surface:
            words = [w for w in s.surface.split() if w not in GENERIC_FORMS and w not in _STOP
                     and w not in FRAGMENTS and w not in str(s.value) and len(w) > 2]
            out += words
    return out


def story_words(p: Parse, used: set[int]) -> list[str]:
    """Words of the utterance that no slot explains and that carry content."""
    return [t for i, t in enumerate(tokens(p.text)) if i not in used and t not in FILLER
            and len(t) > 2 and t not in _STOP and t not in SENTIMENT_WORDS and not t.isdigit()]


def about_words(idx: BookIndex, p: Parse, used: set[int], pending: dict | None) -> str:
    """Words no slot explained: what the book should be about ("set on a train": the
    setting counts even when it is a word that is usually just context)."""
    rest = story_words(p, used)
    m = _SETTING.search(fold(p.text))
    if m:
        rest += [w for w in re.findall(r"[a-z]+", fold(p.text)[m.start(1):]) if w not in _STOP
                 and len(w) > 2 and w not in rest and w not in ("please", "something")][:4]
    if p.intent == "describe" or (pending and pending["facet"] in ("about", "themes")):
        return p.text if p.intent == "describe" else " ".join(rest)
    if len(rest) >= DESCRIPTION_WORDS:                       # a story, in the reader's words
        return " ".join(rest)
    rare = max(3, RARE_SHARE * len(idx))                     # "venice", not "next"
    setting = set(m.group(1).split()) if m else set()        # "set in england": always
    rest = [t for t in rest if t in setting or 0 < idx.df_of(t) <= rare]
    return " ".join(rest)


def _drop_contradicted_tags(st: SessionState) -> None:
    """A shelf tag asked for that an excluded mood is made of goes ("a dark psychological
    thriller", then "less dark than those": psychological-thriller is one of the lexicon's
    dark tags)."""
    tags = st.prefs.get("tag")
    if not tags:
        return
    for value in st.excl.get("mood", []):
        v = FACETS["mood"].value(value)
        for t in [t for t in tags if v is not None and v.marks(t)]:
            tags.pop(t)
