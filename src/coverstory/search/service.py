"""``SearchService``: text search, photo search and similar books for one data home.

Everything is loaded lazily on first use: the catalog's books, the saved indexes under
``<home>/indexes/`` (written by ``coverstory build index``), the encoders. When an index
is missing it is built in memory from the feature cache; for small catalogs (at most
``ON_THE_FLY_MAX`` books, e.g. a test home) missing features are computed on the fly.

>>> svc = SearchService("/work/homes/full")                    # doctest: +SKIP
>>> [h.book_id for h in svc.text("harry poter", k=3)]           # doctest: +SKIP
>>> svc.photo("photo.jpg").best                                 # doctest: +SKIP
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from coverstory.artifacts import (COVER_FEATURE, COVER_FEATURES_FILE,  # noqa: F401 (re-exported)
                                  DESCRIPTION_FEATURE, PASSAGES_FILE, TEXT_ENCODER,
                                  TEXT_FEATURE, TITLE_FEATURE, fused_feature, index_dir)
from coverstory.config import home_dir
from coverstory.errors import NotBuilt, NotFound
from coverstory.results import Hit
from coverstory.search.photo import PhotoResult

ON_THE_FLY_MAX = 2000


class SearchService:
    """Search facade used by the CLI, the HTTP API and the dialogue (see docs/search.md)."""

    def __init__(self, home: str | Path | None = None, log=None):
        self.home = home_dir(home)
        self.index_dir = index_dir(self.home)
        self._lock = threading.RLock()
        self._books = None
        self._text = None
        self._similar = None
        self._photo = None
        self._text_encoder = None
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._indexes: dict = {}
        self.log = log or (lambda m: print(f"[search] {m}", file=sys.stderr, flush=True))

    def warm_up(self) -> None:
        """Load the text search and the photo index now (the server calls this at start)."""
        self.text_search
        try:
            self.photo_search
        except Exception as e:  # noqa: BLE001 - photo search may be unbuilt; text still works
            self.log(f"photo search not ready: {e}")

    # ---- shared pieces -----------------------------------------------------------------
    @property
    def books(self) -> dict:
        if self._books is None:
            from coverstory.catalog import Catalog

            cat = Catalog.open(self.home)
            try:
                self._books = {b.id: b for b in cat.books()}
            finally:
                cat.close()
        return self._books

    def features(self, feature: str, allow_compute: bool = True):
        """(ids, unit vectors) of a cached feature; computed for small catalogs; else None."""
        with self._lock:
            if feature in self._vectors:
                return self._vectors[feature]
            from coverstory.encoders.cache import load_features
            from coverstory.index import normalize

            try:
                ids, vecs = load_features(self.home, feature)
            except FileNotFoundError as e:
                if not allow_compute or len(self.books) > ON_THE_FLY_MAX:
                    self.log(f"{e} (searching without it)")
                    self._vectors[feature] = None
                    return None
                ids, vecs = self._compute(feature)
            got = (np.asarray(ids, np.int64), normalize(vecs)) if len(ids) else None
            self._vectors[feature] = got
            return got

    def _compute(self, feature: str):
        from coverstory.encoders.cache import book_inputs, split_feature
        from coverstory.encoders.registry import get_encoder

        inp, enc_name = split_feature(feature)
        items = book_inputs(list(self.books.values()), inp)
        if not items:
            return np.zeros(0, np.int64), np.zeros((0, 1), np.float32)
        enc = get_encoder(enc_name, self.home)
        vecs = enc.encode([it for _, it, _ in items])
        return np.asarray([b for b, _, _ in items], np.int64), vecs

    def embed_query(self, text: str) -> np.ndarray:
        if self._text_encoder is None:
            from coverstory.encoders.registry import get_encoder

            self._text_encoder = get_encoder(TEXT_ENCODER, self.home)
        return self._text_encoder.encode([text])[0]

    def index(self, name: str, feature: str | None = None):
        """The saved index ``<home>/indexes/<name>.npz``, else one built in memory from the
        feature cache (None when neither exists)."""
        from coverstory.index import Index, make_index

        with self._lock:
            if name in self._indexes:
                return self._indexes[name]
            path = self.index_dir / f"{name}.npz"
            idx = None
            if path.exists():
                idx = Index.load(path)
            elif name == "cover":
                idx = self._cover_index()
            elif feature is not None:
                got = self.features(feature)
                if got is not None:
                    idx = make_index(got[1].shape[1], len(got[0]))
                    idx.add(*got)
            self._indexes[name] = idx
            return idx

    def _cover_index(self):
        """Gallery of Lite0 cover vectors consistent with the photo embedder (in memory)."""
        from coverstory.index import make_index
        from coverstory.search.gallery import gallery_vectors

        if not any(b.cover_path for b in self.books.values()):
            return None
        self.log("no saved cover index; building one in memory (`coverstory build index` "
                 "saves it)")
        ids, vecs, _ = gallery_vectors(self, log=self.log, sample=2, max_embed=ON_THE_FLY_MAX)
        if len(ids) == 0:
            return None
        idx = make_index(vecs.shape[1], len(ids))
        idx.add(ids, vecs)
        return idx

    # ---- text ------------------------------------------------------------------------------
    @property
    def text_search(self):
        with self._lock:
            if self._text is None:
                from coverstory.catalog import Catalog
                from coverstory.search.bm25 import BM25
                from coverstory.search.ranker import RankerModel
                from coverstory.search.text import DOC_VERSION, TextSearch

                cat = Catalog.open(self.home)
                try:
                    ocr = {b: t for b, (_, t) in cat.ocr_texts("rapidocr").items()}
                finally:
                    cat.close()
                books = list(self.books.values())
                bm25 = names = None
                info = _bm25_info(self.index_dir)
                if (info.get("book_ids") == [b.id for b in books]
                        and info.get("doc_version") == DOC_VERSION):
                    bm25 = BM25.load(self.index_dir / "bm25.npz")
                    names = BM25.load(self.index_dir / "bm25_names.npz")
                elif len(books) > ON_THE_FLY_MAX:
                    self.log("the saved BM25 index is missing or out of date; building it in "
                             "memory (`coverstory build index` saves it)")
                got = self.features(TEXT_FEATURE)
                if got is None or len(got[0]) < 0.9 * len(books):
                    # the full-text feature is missing or partial: title + description
                    # vectors (same MiniLM space) stand in for it
                    parts = [p for p in (self.features(TITLE_FEATURE, allow_compute=False),
                                         self.features(DESCRIPTION_FEATURE, allow_compute=False),
                                         got) if p is not None]
                    if parts:
                        got = (np.concatenate([p[0] for p in parts]),
                               np.concatenate([p[1] for p in parts]))
                ids, vecs = got if got is not None else (None, None)
                self._text = TextSearch(books, ids, vecs,
                                        self.embed_query if got is not None else None, ocr,
                                        bm25, names, self.passages(books),
                                        model=lambda: RankerModel.for_home(self.home))
            return self._text

    def passages(self, books=None):
        """The description-passage vectors: the saved ``indexes/passages.npz`` when it is
        current, else encoded now for a small catalog; None otherwise."""
        from coverstory.search.passages import PassageIndex

        books = list(self.books.values()) if books is None else books
        path = self.index_dir / PASSAGES_FILE
        if path.exists():
            idx = PassageIndex.load(path)
            stale = idx.stale(books)
            if not stale:
                return idx
            self.log(f"{stale} descriptions changed since {path.name} was built "
                     "(`coverstory build index` updates it)")
            if stale > ON_THE_FLY_MAX:
                return idx
        elif len(books) > ON_THE_FLY_MAX:
            self.log(f"no {PASSAGES_FILE} in {self.index_dir}: searching without description "
                     "passages (`coverstory build index` builds them)")
            return None
        try:
            return PassageIndex.build(books, self._encode_texts)
        except Exception as e:  # noqa: BLE001 - no encoder: search without passages
            self.log(f"description passages not encoded ({type(e).__name__}: {e})")
            return None

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        if self._text_encoder is None:
            from coverstory.encoders.registry import get_encoder

            self._text_encoder = get_encoder(TEXT_ENCODER, self.home)
        return self._text_encoder.encode(texts)

    def text(self, query: str, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]:
        """Books for a free-text query: titles (typos forgiven), authors, series, ISBNs,
        descriptions of the story.

        A query the ranker reads as "books like X" finds X as a known item and returns
        books similar to it.
        """
        from coverstory.search.query import like_target

        ts = self.text_search
        if (query or "").strip() and like_target(query):
            rk = ts.rank(query.strip())
            if max(rk.probs, key=rk.probs.get) == "like":
                hits = self._like(like_target(query), k, exclude, rk.probs)
                if hits:
                    return hits
            return ts.hits(rk, k, exclude)
        return ts.search(query, k=k, exclude=exclude)

    def _like(self, target: str, k: int, exclude: Iterable[int], probs: dict) -> list[Hit]:
        from coverstory.search.text import norm_text

        seed = self.text_search.search(target, k=5, force_type="known")
        if not seed:
            return []
        # the same work may be in the catalog several times (one record per source):
        # start from the richest record of the top title (tags, description, ratings)
        key = norm_text(re.sub(r"\s*\([^)]*\)\s*$", "", self.books[seed[0].book_id].title))
        same = [h for h in seed if norm_text(re.sub(
            r"\s*\([^)]*\)\s*$", "", self.books[h.book_id].title)) == key]
        x = max(same, key=lambda h: _richness(self.books[h.book_id]))
        hits = self._one_per_work(self.similar(x.book_id, k=2 * k + len(set(exclude))),
                                  exclude, also=(x.book_id,))
        for h in hits:
            h.details = {**h.details, "like": x.book_id, "query_type": "like",
                         "type_probs": {t: round(p, 3) for t, p in probs.items()}}
            h.reason = f"like '{self.books[x.book_id].title}': {h.reason}"
        return hits[:k]

    def _one_per_work(self, hits: list[Hit], exclude: Iterable[int] = (),
                      also: Iterable[int] = ()) -> list[Hit]:
        """``hits`` with one place per work (``search.editions``), shown as its most rated
        record, the others in ``details["editions"]``; works with a record in ``exclude``
        or ``also`` are left out."""
        ts = self.text_search
        ed, row = ts.editions, ts.row
        excl = {int(e) for e in exclude}
        seen = {int(ed.group[row[b]]) for b in (*excl, *also) if b in row}
        out = []
        for h in hits:
            r = row.get(int(h.book_id))
            if r is None:
                if h.book_id not in excl:
                    out.append(h)
                continue
            g = int(ed.group[r])
            if g in seen:
                continue
            seen.add(g)
            rep = ed.representative(r)
            others = [int(ts.ids[m]) for m in ed.members(r) if m != rep]
            if rep != r:
                h.details = {**h.details, "matched": int(h.book_id)}
                h.book_id = int(ts.ids[rep])
            if others:
                h.details = {**h.details, "editions": others}
            out.append(h)
        return out

    # ---- similar -----------------------------------------------------------------------
    @property
    def similar_search(self):
        with self._lock:
            if self._similar is None:
                from coverstory.search.similar import Similar, TagSpace

                indexes = {"text": self.index("text", TEXT_FEATURE),
                           "cover": self.index("cover"),
                           "tags": TagSpace(list(self.books.values()))}
                fused = fused_feature(self.home)
                if fused:
                    indexes["fused"] = self.index("fused", fused)
                authors = {b.id: b.authors for b in self.books.values()}
                self._similar = Similar(indexes, authors)
            return self._similar

    def similar(self, book_id: int, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]:
        """Books like ``book_id`` (text, cover and fused neighbours; same author)."""
        if int(book_id) not in self.books:
            raise NotFound(f"no book with id {book_id} in the catalog at {self.home}")
        return self.similar_search.similar(int(book_id), k=k, exclude=exclude)

    def cover_features(self):
        """Local features of every cover: the saved ``indexes/cover_features.npz`` (brought
        up to date with the catalog's covers), else built in memory for a small catalog."""
        from coverstory.search.local_features import CoverFeatures

        covers = {b.id: b.cover_path for b in self.books.values() if b.cover_path}
        path = self.index_dir / COVER_FEATURES_FILE
        if path.exists():
            local = CoverFeatures.load(path)
            missing = len(set(covers) - set(local.row))
            if missing > ON_THE_FLY_MAX:
                self.log(f"{missing} covers are not in {path.name}; run `coverstory build index`")
            elif missing or len(local) != len(covers):
                local = local.updated(covers)
            return local
        if not covers:
            raise NotBuilt(f"the catalog in {self.home} has no covers to search")
        if len(covers) > ON_THE_FLY_MAX:
            raise NotBuilt(f"no photo index in {self.home}: run `coverstory --home "
                           f"{self.home} build index` once")
        self.log("no saved photo index; building one in memory (`coverstory build index` "
                 "saves it)")
        return CoverFeatures.build(covers)

    # ---- photo -------------------------------------------------------------------------
    @property
    def photo_search(self):
        with self._lock:
            if self._photo is None:
                from coverstory.search.photo import PhotoSearch

                self._photo = PhotoSearch.from_service(self)
            return self._photo

    def photo(self, image, k: int = 10, use_ocr: bool | None = None) -> PhotoResult:
        """What book is this? ``image``: bytes, a path or a PIL image of a cover photo.

        Raises :class:`coverstory.search.errors.BadImage` for unusable images.
        """
        from coverstory.search.image_io import load_photo

        img = load_photo(image)
        return self.photo_search.search(img, k=k, use_ocr=use_ocr)


def _richness(book) -> tuple:
    return (len(book.tags) > 0, book.ratings_count or 0, bool(book.description))


def _bm25_info(index_dir: Path) -> dict:
    import json

    try:
        return json.loads((index_dir / "bm25.json").read_text())
    except (OSError, ValueError):
        return {}

