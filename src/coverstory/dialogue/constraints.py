"""Hard constraints as filters: every book shown satisfies every constraint whose metadata
is known, or the reply says which constraint had to be relaxed.

Hard: exclusions (facets, themes, authors), authors asked for, the audience, genres and
forms, era (years), length (pages), language, and the books already shown / rejected /
read. Tone (mood) is a filter while enough books keep it, else a preference. When nothing
fits, constraints are relaxed one at a time, those said longest ago first and, among those
said in one turn, in ``RELAX_ORDER`` (the least explicit first); the relaxed ones are
reported. An author asked for is not relaxed while books of theirs shown before fit: those
come back, and the reply says they were all shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coverstory.dialogue.bookindex import BookIndex
from coverstory.dialogue.lexicon import FACETS
from coverstory.dialogue.state import SessionState

RELAX_ORDER = ("tag", "like", "mood", "genre", "length", "era", "language", "audience", "author")
HARD_FACETS = ("genre", "mood")
# genres too broad to say what a book is ("contemporary" fits most fiction): not used for
# the coherence of "like X"
BROAD = frozenset({"contemporary", "literary fiction", "classics", "adventure"})


@dataclass
class Filter:
    ok: np.ndarray                                  # bool [n]: may be shown
    relaxed: list[str] = field(default_factory=list)   # names of relaxed constraints
    again: bool = False           # every new book by the author asked for was shown before


def author_mask(idx: BookIndex, name: str) -> np.ndarray:
    key = name.lower()
    cache = idx.__dict__.setdefault("_author_masks", {})
    m = cache.get(key)
    if m is None:
        m = cache[key] = np.array([any(key == a.lower() for a in names) for names in idx.authors],
                                  bool)
    return m


def audience_mask(idx: BookIndex, audience: str) -> np.ndarray:
    if audience == "picture book":
        pic = tag_family_mask(idx, "picture-book")      # children-s-picture-books, ...
        return pic if pic.any() else idx.has("audience", "children")
    if audience == "adult":                  # for adults: not even one children's/YA shelf
        strict = ~idx.any_shelf("audience", "children") & ~idx.any_shelf("audience", "young adult")
        return strict if strict.sum() >= 50 else idx.has("audience", "adult")
    return idx.has("audience", audience)


def like_mask(idx: BookIndex, st: SessionState) -> np.ndarray | None:
    """"Like X": books that share a genre and an audience with X (coherence), unless the
    reader named genres or an audience themselves."""
    use_genre, use_audience = not st.prefs.get("genre"), not st.audience
    if not st.anchors or not (use_genre or use_audience):
        return None                     # ("like The Giver but for adults": its genres still)
    out = None
    for a in st.anchors[-2:]:
        r = idx.row.get(int(a))
        if r is None:
            continue
        m = np.ones(len(idx), bool)
        genres = [g for g in idx.main_values(r, "genre") if g not in BROAD] if use_genre else []
        if genres:
            m &= np.logical_or.reduce([idx.has("genre", g) for g in genres])
        if use_genre:                    # like a true story: true stories; like a novel: novels
            nf = "non-fiction" in idx.main_values(r, "genre")
            m &= idx.has("genre", "non-fiction") if nf else ~idx.mainly("genre", "non-fiction")
        auds = idx.book_values(r, "audience") if use_audience else []
        if auds:
            m &= np.logical_or.reduce([idx.has("audience", v) for v in auds])
        if not idx.has("mood", "dark")[r]:               # like a gentle book: not a dark one
            m &= ~idx.any_shelf("mood", "dark")
        out = m if out is None else out | m
    return out


def editions(idx: BookIndex, book_id: int) -> list[int]:
    """The book and the catalog's other editions of it (same title without series or
    subtitle, same first author)."""
    from coverstory.catalog.normalize import norm_title

    cache = idx.__dict__.get("_editions")
    if cache is None:
        cache = {}
        for r, t in enumerate(idx.titles):
            a = idx.authors[r][0] if idx.authors[r] else ""
            cache.setdefault((norm_title(t), a), []).append(int(idx.ids[r]))
        idx.__dict__["_editions"] = cache
    r = idx.row.get(book_id)
    if r is None:
        return [book_id]
    a = idx.authors[r][0] if idx.authors[r] else ""
    return cache.get((norm_title(idx.titles[r]), a), [book_id])


def seen_mask(idx: BookIndex, st: SessionState, shown: bool = True) -> np.ndarray:
    """Books not yet shown (unless ``shown=False``), rejected, read or used as the anchor."""
    ok = np.ones(len(idx), bool)
    anchors = {e for a in st.anchors for e in editions(idx, int(a))}    # "like Maus": no Maus
    done = set(st.rejected) | set(st.read) | anchors | (set(st.shown) if shown else set())
    for b in done:
        r = idx.row.get(int(b))
        if r is not None:
            ok[r] = False
    return ok


EXCLUDES_ALSO = {("genre", "crime"): ("mystery",), ("genre", "mystery"): ("crime",),  # "not crime"
                 ("tag", "superheroes"): ("dc-comics", "marvel"),    # the two superhero houses
                 ("tag", "superhero"): ("dc-comics", "marvel")}


def exclusion_mask(idx: BookIndex, st: SessionState, level: int = 0) -> np.ndarray:
    """Books none of the exclusions rule out. Level 0: a single shelf of an excluded value
    rules a book out ("no romance"); 1: the value itself (two shelves); 2: only books
    mainly of that value (used when nothing else fits)."""
    ok = np.ones(len(idx), bool)
    for kind, vals in st.excl.items():
        for v in [*vals, *(w for u in vals for w in EXCLUDES_ALSO.get((kind, u), ()))]:
            if kind in FACETS:
                ok &= ~(idx.any_shelf(kind, v) if level == 0 else idx.has(kind, v)
                        if level == 1 else idx.mainly(kind, v))
            elif kind == "tag":
                ok &= ~tag_family_mask(idx, v)
            elif kind == "author":
                ok &= ~author_mask(idx, v)
            elif kind == "word":
                ok &= ~word_mask(idx, v)
            elif kind == "phrase":
                from coverstory.dialogue.mentions import phrase_mask

                ok &= ~phrase_mask(idx, v)
            elif kind == "series":
                for r in idx.series.members.get(v, []) + [
                        r for r, (k, _) in idx.series.of_row.items() if k == v]:
                    ok[r] = False
    return ok


def word_mask(idx: BookIndex, word: str) -> np.ndarray:
    """Books whose text (shelves, description) uses a word's stem."""
    from coverstory.dialogue.bookindex import stem

    m = np.zeros(len(idx), bool)
    j = idx.term_vocab.get(stem(word))
    if j is not None:
        m[idx.terms.indices[idx.terms.indptr[j]:idx.terms.indptr[j + 1]]] = True
    return m


def tag_family_mask(idx: BookIndex, tag: str) -> np.ndarray:
    """Books on a shelf or any of its variants: "ghosts" also excludes "ghost",
    "ghost-stories"; "russian" excludes "russian-literature", "russian-classics"."""
    from coverstory.dialogue.bookindex import stem

    cache = idx.__dict__.setdefault("_tag_family", {})
    m = cache.get(tag)
    if m is None:
        want = {stem(w) for w in tag.split("-")}
        m = idx.tag_mask(tag).copy()
        for t in idx.tag_names:
            parts = {stem(w) for w in t.split("-")}
            if want <= parts:
                m |= idx.tag_mask(t)
        cache[tag] = m
    return m


def positive_masks(idx: BookIndex, st: SessionState, k: int) -> dict[str, np.ndarray]:
    """One mask per positive hard constraint the reader stated (name -> bool [n])."""
    out: dict[str, np.ndarray] = {}
    authors = list(st.prefs.get("author", {}))
    if authors:
        m = np.zeros(len(idx), bool)
        for a in authors:
            m |= author_mask(idx, a)
        out["author"] = m
    if st.audience:
        out["audience"] = audience_mask(idx, st.audience)
    like = like_mask(idx, st) if not authors else None   # "Graham Greene - I liked Brighton
    if like is not None:                                  # Rock": his books, whatever their shelf
        out["like"] = like
    shelves = [t for t in st.prefs.get("tag", {}) if f"tag:{t}" not in st.soft]
    if shelves:                       # a shelf named outright ("greek mythology", "manga")
        m = np.zeros(len(idx), bool)
        for t in shelves:
            m |= tag_family_mask(idx, t)
        if m.sum() >= k:
            out["tag"] = m
    for facet in HARD_FACETS:
        vals = [v for v in st.prefs.get(facet, {}) if f"{facet}:{v}" not in st.soft]
        if vals:           # among one author's books a single shelf is enough ("shel
            has = idx.any_shelf if authors else idx.has   # silverstein poems")
            m = np.ones(len(idx), bool)
            for v in vals:
                m &= has(facet, v)
            if m.sum() < k and len(vals) > 1:          # "historical romance": any of them
                m = np.zeros(len(idx), bool)
                for v in vals:
                    m |= has(facet, v)
            out[facet] = m
    with np.errstate(invalid="ignore"):
        if st.years is not None:
            lo, hi = st.years
            out["era"] = ~((idx.years < lo) | (idx.years >= hi))          # unknown years pass
        if st.pages is not None:
            lo, hi = st.pages
            out["length"] = ~((idx.pages < lo) | (idx.pages >= hi))       # unknown pages pass
    if st.language:
        from coverstory.dialogue.said import LANGUAGES

        codes = LANGUAGES.get(st.language, (st.language[:2],))
        out["language"] = np.array([not lg or lg.startswith(codes) for lg in idx.languages], bool)
    return out


def build(idx: BookIndex, st: SessionState, k: int, allow_seen: bool = False,
          level: int = 0, by_turn: bool = True) -> Filter:
    """The books that may be shown, relaxing stated constraints only when none fit. With
    ``allow_seen`` (a new explicit request, not "more"), books shown earlier in the session
    (never rejected or read ones) come back before any stated constraint is relaxed. Without
    ``by_turn`` the constraints give way in ``RELAX_ORDER`` alone, whenever they were said."""
    base = seen_mask(idx, st) & exclusion_mask(idx, st, level)
    masks = positive_masks(idx, st, k)
    ok = base.copy()
    for m in masks.values():
        ok &= m
    if not ok.any() and allow_seen and masks:
        again = exclusion_mask(idx, st, level) & seen_mask(idx, st, shown=False)
        for m in masks.values():
            again &= m
        if again.any():
            base, ok = again | base, again
    no_tone = base.copy()
    for name, m in masks.items():
        if name != "mood":
            no_tone &= m
    if not ok.any() and st.excl and level < 2 and not ("mood" in masks and no_tone.any()):
        # the tone gives way before an exclusion does ("a fun thriller, nothing grim")
        # "by Stephen King that isn't horror": even one horror shelf was too strict; then
        # only books that are mainly horror are out
        return build(idx, st, k, allow_seen=allow_seen, level=level + 1, by_turn=by_turn)
    relaxed: list[str] = []
    mood = masks.get("mood")
    if mood is not None and ok.sum() < k:                 # tone is a filter only while it can be
        relaxed.append("mood")
        ok = base.copy()
        for name, m in masks.items():
            if name != "mood":
                ok &= m
    order = relax_order(st, masks) if by_turn else [n for n in RELAX_ORDER if n in masks]
    for name in order:
        if ok.any() or name in relaxed:
            continue
        relaxed.append(name)
        ok = base.copy()
        for other, m in masks.items():
            if other not in relaxed:
                ok &= m
    again = False
    if "author" in relaxed:
        # every book by the author asked for that fits was shown: those come back, said so
        # ("other wells novels" when all five were shown), not books by anyone else
        seen = exclusion_mask(idx, st, level) & seen_mask(idx, st, shown=False)
        for m in masks.values():
            seen &= m
        if seen.any():
            ok, relaxed, again = seen, [], True
    if not ok.any():
        ok = base
    relaxed = [n for n in relaxed if n != "like"]      # coherence with X: not the reader's words
    if "era" in masks and "era" not in relaxed:         # years asked: known years only,
        known = ok & ~np.isnan(idx.years)                # while enough books have one
        if known.sum() >= k:
            ok = known
    if "length" in masks and "length" not in relaxed:   # a length asked: known lengths only,
        known = ok & ~np.isnan(idx.pages)                # while enough books have one
        if known.sum() >= k:
            ok = known
    return Filter(ok=ok, relaxed=relaxed, again=again)


def said_turn(st: SessionState, name: str) -> int:
    """The newest turn that stated the constraint called ``name`` (0 when unknown)."""
    if name in ("era", "length", "language"):
        return st.limit_turn(name)
    kind = {"author": "author", "audience": "audience", "tag": "tag", "genre": "genre",
            "mood": "mood"}.get(name)
    if kind is None:
        return 0
    return max((t for key, t in st.source.items() if key.startswith(kind + ":")), default=0)


def relax_order(st: SessionState, masks: dict[str, np.ndarray]) -> list[str]:
    """The constraints in the order they give way: what the reader said longest ago first
    (\"books by Stephen King\", then \"more from the 70s\": the author gives way, the years
    stay), and among those said together the least explicit first (``RELAX_ORDER``); the
    likeness to a book named always first."""
    names = [n for n in RELAX_ORDER if n in masks]
    return sorted(names, key=lambda n: (-1 if n == "like" else said_turn(st, n),
                                        RELAX_ORDER.index(n)))


def describe_relaxed(names: list[str], st: SessionState) -> str:
    """'No books fit all of that here, so I relaxed the length (under 300 pages).'"""
    said = []
    for n in names:
        if n == "length" and st.pages:
            lo, hi = st.pages
            said.append(f"the length (under {hi - 1} pages)" if lo == 0 else
                        f"the length (over {lo} pages)")
        elif n == "era" and st.years:
            said.append("the years")
        elif n == "author":
            said.append("the author (" + ", ".join(st.prefs.get("author", {})) + ")")
        elif n == "audience":
            said.append(f"the audience ({st.audience})")
        elif n in ("genre", "mood"):
            said.append(f"the {'tone' if n == 'mood' else 'genre'} (" +
                        ", ".join(st.prefs.get(n, {})) + ")")
        else:
            said.append(f"the {n}")
    return " and ".join(said)
