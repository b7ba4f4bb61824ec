"""What the dialogue needs to know about every book, as arrays: facet values, tags, terms.

Built once per catalog (a few seconds for 35k books) and shared by the engine, the
policies, the explanations and the simulated readers, so a turn is a few numpy operations.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coverstory.catalog.normalize import fold
from coverstory.dialogue.lexicon import FACETS

_TOKEN = re.compile(r"[a-z][a-z']+")
_NOISE_TAG = re.compile(r"(to-read|^read-|-read$|owned|i-own|favou?rite|^my-|-i-ve-|punya|"
                        r"^\d|books-read|-to-|^other-|^a-fiction|^general|^genre-|^good-)")
_STOP = frozenset("""a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours one two new also book books novel story stories
series first time life world year years man woman people find way must when back even still
like make made get gets us""".split())


def stem(word: str) -> str:
    """The project's one stemmer (Snowball English, ``coverstory.search.bm25.stem``)."""
    from coverstory.search.bm25 import stem as _stem

    return _stem(word)


def terms(text: str) -> list[str]:
    """Content-word stems of a text (the dialogue's stop words dropped)."""
    text = (text or "").lower()
    if not text.isascii():
        text = fold(text)
    return [stem(t) for t in _TOKEN.findall(text) if len(t) > 2 and t not in _STOP]


@dataclass
class BookIndex:
    """Facet membership, tags and term vectors of every book in a catalog."""

    ids: np.ndarray                          # int64 [n] catalog ids
    titles: list[str]
    authors: list[list[str]]
    years: np.ndarray                        # float32 [n], nan when unknown
    pages: np.ndarray                        # float32 [n], nan when unknown
    popularity: np.ndarray                   # float32 [n] in [0, 1]
    has_cover: np.ndarray                    # bool [n]
    goodbooks: np.ndarray                    # bool [n] (book came from goodbooks)
    values: list[tuple[str, str]]            # (facet, value) per column of `member`
    member: np.ndarray                       # bool [n, V]
    tag_names: list[str]                     # theme tags (columns of `tags`)
    tags: "object"                           # scipy.sparse csr bool [n, T]
    term_vocab: dict[str, int] = field(default_factory=dict)
    term_idf: np.ndarray | None = None
    terms: "object" = None                   # scipy.sparse csr float32 [n, W], l2 rows
    descriptions: list[str] = field(default_factory=list)
    book_tags: list[list[str]] = field(default_factory=list)
    row: dict[int, int] = field(default_factory=dict)
    facet_tags: frozenset = frozenset()      # tags that mark a facet value (not themes)
    languages: list[str] = field(default_factory=list)   # language code per book ("" unknown)
    strength: np.ndarray | None = None       # int8 [n, V]: shelves marking each facet value

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def from_books(cls, books) -> "BookIndex":
        import scipy.sparse as sp

        n = len(books)
        ids = np.array([b.id for b in books], dtype=np.int64)
        years = np.array([b.year if b.year is not None else np.nan for b in books], np.float32)
        pages = np.array([b.pages if b.pages else np.nan for b in books], np.float32)
        counts = np.array([b.ratings_count or 0 for b in books], np.float64)
        pop = np.log1p(counts)
        pop = (pop / pop.max()).astype(np.float32) if pop.max() > 0 else pop.astype(np.float32)
        has_cover = np.array([b.cover_path is not None for b in books], bool)
        goodbooks = np.array([any(s.startswith("goodbooks") for s in b.sources) for b in books],
                             bool)
        desc_terms = [terms(b.description) if b.description else [] for b in books]

        values = [(f.name, v.name) for f in FACETS.values() for v in f.values]
        member = np.zeros((n, len(values)), bool)
        tag_hits = _tag_hits(books)
        tag_cols: dict[str, list[int]] = {}
        cat_cols: dict[str, list[int]] = {}
        word_cols: list[tuple[int, set[str]]] = []
        col = 0
        for facet in FACETS.values():
            for v in facet.values:
                if v.years is not None:
                    with np.errstate(invalid="ignore"):
                        member[:, col] = (years >= v.years[0]) & (years < v.years[1])
                elif v.pages is not None:
                    with np.errstate(invalid="ignore"):
                        member[:, col] = (pages >= v.pages[0]) & (pages < v.pages[1])
                for t in tag_hits[(facet.name, v.name)]:
                    tag_cols.setdefault(t, []).append(col)
                for c in v.categories:
                    cat_cols.setdefault(c, []).append(col)
                if facet.name == "mood" and v.words:
                    word_cols.append((col, {stem(w) for w in v.words}))
                col += 1
        strength = np.zeros((n, len(values)), np.int8)   # distinct shelves marking a value
        for i, b in enumerate(books):
            for t in set(b.tags):
                for c in tag_cols.get(t, ()):
                    strength[i, c] = min(strength[i, c] + 1, 100)
            for t in b.categories:
                for c in cat_cols.get(t, ()):
                    strength[i, c] = 100                  # a shop category is decisive
        # one stray shelf ("children" from Earth's Children, "horror" on 1984) does not make
        # an audience, a genre or a tone when a book has many shelves
        many = np.array([len(b.tags) >= 8 for b in books])
        # ... where the catalog has several shelves for the value: "dystopian" has only
        # "ya-dystopia" in goodbooks, so one shelf is all a book can have
        family = np.array([f in ("audience", "genre", "mood") and
                           len(tag_hits[(f, v)]) >= 3 for f, v in values])
        need = np.where(many[:, None] & family[None, :], 2, 1)
        member |= strength >= need
        for i, b in enumerate(books):
            if b.description:
                for c, words in word_cols:
                    k = len(words.intersection(desc_terms[i]))
                    if k >= 2 or (k == 1 and not b.tags):
                        member[i, c] = True
        # audience "adult" = neither children nor young adult
        a = {v: i for i, (f, v) in enumerate(values) if f == "audience"}
        member[:, a["adult"]] = ~(member[:, a["children"]] | member[:, a["young adult"]])

        # theme tags: the catalog's own shelves, minus reading-list noise
        df: dict[str, int] = {}
        for b in books:
            for t in set(b.tags):
                df[t] = df.get(t, 0) + 1
        tag_names = sorted(t for t, c in df.items()
                           if c >= (3 if n > 1000 else 1) and not _NOISE_TAG.search(t)
                           and c <= max(0.6 * n, 2))
        tcol = {t: i for i, t in enumerate(tag_names)}
        r, c = [], []
        for i, b in enumerate(books):
            for t in set(b.tags):
                j = tcol.get(t)
                if j is not None:
                    r.append(i)
                    c.append(j)
        tags = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, len(tag_names)))

        idx = cls(ids=ids, titles=[b.title for b in books], authors=[b.authors for b in books],
                  years=years, pages=pages, popularity=pop, has_cover=has_cover,
                  goodbooks=goodbooks, values=values, member=member, tag_names=tag_names,
                  tags=tags, descriptions=[b.description or "" for b in books],
                  book_tags=[list(b.tags) + list(b.categories) for b in books],
                  row={int(b): i for i, b in enumerate(ids)},
                  languages=[(b.language or "").lower() for b in books], strength=strength)
        generic = {t for t, c in df.items() if c > 0.12 * max(int((np.diff(tags.indptr) > 0).sum()), 1)}
        idx.facet_tags = frozenset(t for t in df if facet_alias(t)) | generic
        idx._build_terms(books, desc_terms)
        return idx

    def _build_terms(self, books, desc_terms) -> None:
        """The term index: the project's BM25 (``coverstory.search.bm25.BM25``, k1 1.2) over
        shelves, categories and descriptions, with title words at weight TITLE_WEIGHT (a
        reader describing a book rarely uses its title's words)."""
        from coverstory.search.bm25 import BM25

        docs, weights = [], []
        for i, b in enumerate(books):
            shelves = " ".join([" ".join(t.replace("-", " ") for t in b.tags[:25]),
                                " ".join(c.replace("-", " ") for c in b.categories)])
            title, rest = terms(b.title), terms(shelves) + desc_terms[i]
            docs.append(title + rest)
            weights.append([TITLE_WEIGHT] * len(title) + [1.0] * len(rest))
        bm = BM25(k1=1.2, b=0.75).fit(docs, weights)
        self.term_vocab, self.term_idf, self.terms = bm.vocab, bm.idf, bm.W

    # ---- queries --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def column(self, facet: str, value: str) -> int:
        return self.values.index((facet, value))

    def has(self, facet: str, value: str) -> np.ndarray:
        return self.member[:, self.column(facet, value)]

    def book_values(self, i: int, facet: str) -> list[str]:
        return [v for (f, v), on in zip(self.values, self.member[i]) if f == facet and on]

    def any_shelf(self, facet: str, value: str) -> np.ndarray:
        """Books with the value or at least one shelf marking it (for exclusions: "no
        romance" keeps out a book only one reader shelved as romance)."""
        c = self.column(facet, value)
        m = self.member[:, c].copy()
        if self.strength is not None:
            m |= self.strength[:, c] >= 1
        return m

    def mainly(self, facet: str, value: str) -> np.ndarray:
        """Books for which the value is a main one (most of the facet's shelves agree)."""
        if self.strength is None:
            return self.has(facet, value)
        cols = [j for j, (f, _) in enumerate(self.values) if f == facet]
        st = self.strength[:, cols].astype(np.float32)
        floor = np.where(st.sum(axis=1) >= 4, 2, 1)        # few shelves: one is enough
        c = self.column(facet, value)
        return self.has(facet, value) & (
            self.strength[:, c] >= np.maximum(floor, np.ceil(0.5 * st.max(axis=1))))

    def main_values(self, i: int, facet: str) -> list[str]:
        """The values of a facet most of a book's shelves agree on (its main genres)."""
        cols = [j for j, (f, _) in enumerate(self.values) if f == facet]
        st = self.strength[i, cols].astype(np.int32)
        if st.max() <= 0:
            return self.book_values(i, facet)
        cut = max(2, int(np.ceil(0.5 * st.max()))) if st.max() >= 2 else 1
        return [self.values[j][1] for j, v in zip(cols, st) if v >= cut]

    def book_tag_names(self, i: int) -> list[str]:
        ip = self.tags.indptr
        return [self.tag_names[j] for j in self.tags.indices[ip[i]:ip[i + 1]]]

    def similar_content(self, i: int, n_terms: int = 30) -> np.ndarray:
        """Content similarity of every book to book i, in [0, 1]: cosine of idf-weighted
        shelf vectors, averaged with BM25 of book i's most specific description words."""
        import scipy.sparse as sp

        tv = getattr(self, "_tagvec", None)
        if tv is None:
            n = max(len(self), 1)
            df = np.bincount(self.tags.indices, minlength=len(self.tag_names)).astype(np.float32)
            idf = np.log((1 + n) / (1 + df)).astype(np.float32)
            m = self.tags.astype(np.float32).multiply(idf[None, :]).tocsr()
            norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel()) + 1e-9
            tv = self._tagvec = sp.diags(1.0 / norms).dot(m).tocsr()
        cos = np.asarray((tv @ tv[i].T).todense()).ravel().astype(np.float32)
        desc = self.descriptions[i]
        if not desc:
            return cos
        rows = getattr(self, "_terms_csr", None)
        if rows is None:
            rows = self._terms_csr = self.terms.tocsr()
        cols = rows.indices[rows.indptr[i]:rows.indptr[i + 1]]
        vals = rows.data[rows.indptr[i]:rows.indptr[i + 1]]
        top = cols[np.argsort(-vals)[:n_terms]]
        bm = np.asarray(self.terms[:, top].sum(axis=1)).ravel().astype(np.float32)
        bm /= max(float(np.partition(bm, -2)[-2]) if len(bm) > 1 else 1.0, 1e-6)
        return 0.5 * cos + 0.5 * np.minimum(bm, 1.0)

    @property
    def series(self):
        """The catalog's series, from "(Series, #N)" titles (built on first use)."""
        s = self.__dict__.get("_series")
        if s is None:
            from coverstory.dialogue.series import Series

            s = self.__dict__["_series"] = Series.from_titles(self.titles, self.popularity)
        return s

    def tag_column(self, tag: str) -> int | None:
        cols = self.__dict__.get("_tag_col")
        if cols is None:
            cols = self._tag_col = {t: j for j, t in enumerate(self.tag_names)}
        return cols.get(tag)

    def tag_mask(self, tag: str) -> np.ndarray:
        j = self.tag_column(tag)
        if j is None:
            return np.zeros(len(self), bool)
        return np.asarray(self.tags[:, j].todense()).ravel().astype(bool)

    def df_of(self, word: str) -> int:
        """How many books' text uses a word (0 when none)."""
        j = self.term_vocab.get(stem(word))
        return int(self.terms.indptr[j + 1] - self.terms.indptr[j]) if j is not None else 0

    def term_query(self, text: str) -> tuple[np.ndarray, list[str]]:
        """BM25 of a query against every book's text (title, tags, description), scaled to
        [0, 1] by the query's best possible score; and the query's stems the catalog knows."""
        q = {}
        for t in terms(text):
            j = self.term_vocab.get(t)
            if j is not None:
                q[j] = q.get(j, 0) + 1
        if not q:
            return np.zeros(len(self), np.float32), []
        cols = np.fromiter(q.keys(), np.int64)
        qw = np.fromiter(q.values(), np.float32)
        scores = np.asarray(self.terms[:, cols] @ qw, np.float32).ravel()
        best = float((self.term_idf[cols] * 2.2 * qw).sum())
        inv = getattr(self, "_vocab_list", None)
        if inv is None:
            inv = self._vocab_list = [""] * len(self.term_vocab)
            for t, j in self.term_vocab.items():
                inv[j] = t
        return scores / max(best, 1e-9), [inv[j] for j in q]

    def matched_terms(self, i: int, text: str, limit: int = 4) -> list[str]:
        """Words of the query that occur in the book's text (title, shelves, description)."""
        rows = getattr(self, "_terms_csr", None)
        if rows is None:
            rows = self._terms_csr = self.terms.tocsr()
        have = set(rows.indices[rows.indptr[i]:rows.indptr[i + 1]].tolist())
        out = []
        for w in _TOKEN.findall((text or "").lower()):
            if w in _STOP or len(w) <= 2 or w in out:
                continue
            j = self.term_vocab.get(stem(w))
            if j is not None and j in have:
                out.append(w)
        return out[:limit]

    # ---- persistence (npz + JSON, no pickle) ----------------------------------------
    def save(self, folder: Path, key: str) -> None:
        import json

        import scipy.sparse as sp

        folder.mkdir(parents=True, exist_ok=True)
        tags, tm = self.tags.tocsr(), self.terms.tocsr()
        np.savez(folder / "arrays.npz", ids=self.ids, years=self.years, pages=self.pages,
                 popularity=self.popularity, has_cover=self.has_cover, goodbooks=self.goodbooks,
                 member=self.member, term_idf=self.term_idf, strength=self.strength,
                 tags_indptr=tags.indptr, tags_indices=tags.indices,
                 terms_indptr=tm.indptr, terms_indices=tm.indices, terms_data=tm.data)
        meta = {"key": key, "titles": self.titles, "authors": self.authors,
                "values": self.values, "tag_names": self.tag_names,
                "term_vocab": self.term_vocab, "descriptions": self.descriptions,
                "book_tags": self.book_tags, "facet_tags": sorted(self.facet_tags),
                "languages": self.languages, "shape": [len(self.ids), len(self.term_vocab)]}
        (folder / "meta.json").write_text(json.dumps(meta))
        del sp

    @classmethod
    def load(cls, folder: Path, key: str) -> "BookIndex | None":
        import json

        import scipy.sparse as sp

        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("key") != key:
                return None
            a = np.load(folder / "arrays.npz", allow_pickle=False)
        except (OSError, ValueError):
            return None
        n, w = meta["shape"]
        tags = sp.csr_matrix((np.ones(len(a["tags_indices"]), bool), a["tags_indices"],
                              a["tags_indptr"]), shape=(n, len(meta["tag_names"])))
        tm = sp.csr_matrix((a["terms_data"], a["terms_indices"], a["terms_indptr"]),
                           shape=(n, w)).tocsc()
        ids = a["ids"]
        return cls(ids=ids, titles=meta["titles"], authors=meta["authors"], years=a["years"],
                   pages=a["pages"], popularity=a["popularity"], has_cover=a["has_cover"],
                   goodbooks=a["goodbooks"], values=[tuple(v) for v in meta["values"]],
                   member=a["member"], strength=a["strength"], tag_names=meta["tag_names"], tags=tags,
                   term_vocab=meta["term_vocab"], term_idf=a["term_idf"], terms=tm,
                   descriptions=meta["descriptions"], book_tags=meta["book_tags"],
                   row={int(b): i for i, b in enumerate(ids)},
                   facet_tags=frozenset(meta.get("facet_tags", ())),
                   languages=meta.get("languages") or [""] * n)


_CACHE: dict[str, BookIndex] = {}
_LOCK = threading.Lock()
FORMAT = 10
TITLE_WEIGHT = 0.3


def _key(cat) -> str:
    import hashlib

    import coverstory.dialogue.lexicon as lex

    n, upd, t = cat.books_stamp()
    lex_hash = hashlib.sha1(Path(lex.__file__).read_bytes()).hexdigest()[:12]
    return f"v{FORMAT}|{TITLE_WEIGHT}|{n}|{upd}|{t}|{lex_hash}"


def for_home(home: str | Path) -> BookIndex:
    """The BookIndex of a data home's catalog: from memory, from home/dialogue/bookindex/
    when the catalog has not changed, else built (about 10 s for 30k books) and saved."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    disk_key = _key(cat)
    key = f"{cat.path}|{disk_key}"
    with _LOCK:
        idx = _CACHE.get(key)
        if idx is None:
            folder = cat.home / "dialogue" / "bookindex"
            idx = BookIndex.load(folder, disk_key)
            if idx is None:
                idx = BookIndex.from_books(cat.books())
                try:
                    idx.save(folder, disk_key)
                except OSError:
                    pass
            _CACHE.clear()
            _CACHE[key] = idx
    return idx


def _tag_hits(books) -> dict[tuple[str, str], set[str]]:
    """(facet, value) -> the distinct catalog tags that mark it (matched once per tag)."""
    distinct = {t for b in books for t in b.tags}
    out: dict[tuple[str, str], set[str]] = {}
    for facet in FACETS.values():
        for v in facet.values:
            out[(facet.name, v.name)] = {t for t in distinct if v.marks(t)}
    # "sci-fi-fantasy", "fantasy-scifi": a shelf that names both says neither
    both = out[("genre", "fantasy")] & out[("genre", "science fiction")]
    out[("genre", "fantasy")] -= both
    out[("genre", "science fiction")] -= both
    return out


GENERIC_TAIL = ("books", "book", "fiction", "lit", "novels", "novel", "series", "read", "reads")


def facet_alias(tag: str) -> tuple[str, str] | None:
    """The facet value a shelf tag merely restates ("fantasy", "fantasy-books",
    "adventure-fiction"), or None for a real theme ("dragons", "urban-fantasy")."""
    words = tag.replace("-", " ")
    ws = words.split()
    cands = [words]
    if len(ws) > 1 and ws[-1] in GENERIC_TAIL:
        cands.append(" ".join(ws[:-1]))
    for facet in FACETS.values():
        for v in facet.values:
            if any(c == v.name or c in v.say for c in cands):
                return facet.name, v.name
    return None
