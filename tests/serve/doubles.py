"""Small working implementations of the search / recommend / dialogue contracts
(coverstory.contracts: the Protocols and the one definition of each result type; docs/api.md),
over a real catalog, so the HTTP layer can be tested on its own (tests/contracts/ checks
them against the same contract as the real services).
They are simple but real: photo search compares downscaled pixels of the covers,
text search counts shared words, feedback is written to the catalog."""

from __future__ import annotations

import io
import re
import threading

import numpy as np
from PIL import Image

from coverstory.contracts import BadImage, Hit, PhotoResult, Reply
from coverstory.errors import BadInput, NotFound

WORD = re.compile(r"[a-z]+")


def _words(s: str) -> set[str]:
    return set(WORD.findall(s.lower()))


def _thumb(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB").resize((8, 12)), dtype=np.float32).ravel() / 255.0


class WordSearch:
    """contracts.SearchService: text (shared words), photo (nearest cover pixels), similar (tags)."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.books = {b.id: b for b in catalog.books()}
        self.thumbs = {b.id: _thumb(Image.open(b.cover_path)) for b in self.books.values()
                       if b.cover_path}
        self.photo_sizes: list[tuple[int, int]] = []
        self.photo_ocr: list[bool | None] = []

    def text(self, query: str, k: int = 10, exclude=()) -> list[Hit]:
        q = _words(query)
        scored = []
        for b in self.books.values():
            if b.id in exclude:
                continue
            s = len(q & _words(b.text()))
            if s:
                scored.append(Hit(b.id, float(s), f"matches {s} of your words"))
        return sorted(scored, key=lambda h: (-h.score, h.book_id))[:k]

    def photo(self, image, k: int = 10, use_ocr: bool | None = None) -> PhotoResult:
        self.photo_ocr.append(use_ocr)
        if isinstance(image, (bytes, bytearray)):
            try:
                image = Image.open(io.BytesIO(image))
                image.load()
            except Exception as e:
                raise BadImage(f"not an image: {e}") from None
        self.photo_sizes.append(image.size)
        t = _thumb(image)
        dist = sorted((float(np.abs(t - v).mean()), bid) for bid, v in self.thumbs.items())
        hits = [Hit(bid, 1.0 - d, "looks like your photo") for d, bid in dist[:k]]
        best = hits[0] if hits and dist[0][0] < 0.08 else None
        return PhotoResult(hits=hits, in_catalog=best is not None, best=best,
                           suggestions=[] if best else hits[:3])

    def similar(self, book_id: int, k: int = 10) -> list[Hit]:
        if book_id not in self.books:
            raise NotFound(f"no book {book_id}")
        tags = set(self.books[book_id].tags)
        out = [Hit(b.id, float(len(tags & set(b.tags))), "shares genres")
               for b in self.books.values() if b.id != book_id and tags & set(b.tags)]
        return sorted(out, key=lambda h: (-h.score, h.book_id))[:k]


class PopularRecommend:
    """contracts.RecommendService: most-rated unseen books; feedback saved in the catalog."""

    RATING = {"like": 5.0, "dislike": 1.0, "read": 4.0}

    def __init__(self, catalog):
        self.catalog = catalog

    def recommend(self, user_id: int, k: int = 10, exclude=(), candidates=None) -> list[Hit]:
        seen = {b for b, _ in self.catalog.user_ratings(user_id)} | set(exclude)
        rows = self.catalog.conn.execute(
            "SELECT b.id, COUNT(r.book_id) FROM books b LEFT JOIN ratings r ON r.book_id=b.id "
            "GROUP BY b.id ORDER BY COUNT(r.book_id) DESC, b.id").fetchall()
        return [Hit(r[0], float(r[1]), "popular with readers") for r in rows
                if r[0] not in seen and (candidates is None or r[0] in candidates)][:k]

    def score(self, user_id: int, book_ids):
        return np.zeros(len(book_ids), np.float32)

    def feedback(self, user_id: int, book_id: int, kind: str, rating: float | None = None):
        if kind not in self.RATING:
            raise BadInput(f"kind must be like, dislike or read, not {kind!r}")
        with self.catalog.transaction():
            self.catalog.set_rating(user_id, book_id, rating or self.RATING[kind], source="app")
            self.catalog.log_event(kind, user_id=user_id, book_id=book_id)

    def similar_items(self, book_id: int, k: int = 10) -> list[Hit]:
        return [Hit(b, 1.0, "readers also liked") for b in self.catalog.book_ids()
                if b != book_id][:k]


class EchoDialogue:
    """contracts.DialogueService on top of the two doubles above."""

    def __init__(self, catalog, search: WordSearch, recommend: PopularRecommend):
        self.catalog, self.search, self.recommend = catalog, search, recommend
        self.turns: list[dict] = []
        self.disliked: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self.fail_with: Exception | None = None

    def _books(self, hits) -> list[dict]:
        out = []
        for h in hits:
            b = self.catalog.book(h.book_id)
            out.append({"id": b.id, "title": b.title, "authors": b.authors, "year": b.year,
                        "cover_url": f"/api/books/{b.id}/cover" if b.cover_path else None,
                        "score": h.score, "reason": h.reason})
        return out

    def turn(self, session_id: str, text=None, photo=None, audio=None) -> Reply:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.turns.append({"session_id": session_id, "text": text,
                               "photo": photo is not None, "audio": audio is not None})
        skip = self.disliked.get(session_id, set())
        if photo is not None:
            res = self.search.photo(photo, k=4)
            hits = [h for h in res.hits if h.book_id not in skip]
            return Reply(session_id, "This looks like your book.", "photo", None,
                         self._books(hits))
        if audio is not None:
            return Reply(session_id, "I heard you.", "voice", None, [])
        hits = self.search.text(text or "", k=4, exclude=skip)
        if not hits:
            return Reply(session_id, "Tell me more.", "chat", "Which genre do you like?", [])
        return Reply(session_id, f"Here are {len(hits)} books.", "recommend", None,
                     self._books(hits))

    def feedback(self, session_id: str, book_id: int, kind: str) -> Reply:
        uid = self.catalog.ensure_user(f"session:{session_id}")
        self.recommend.feedback(uid, book_id, kind)
        if kind == "dislike":
            self.disliked.setdefault(session_id, set()).add(book_id)
        return Reply(session_id, "Noted.", "feedback", None, [])


def make_services(home):
    """(catalog, search, recommend, dialogue) doubles over the catalog at ``home``."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    search = WordSearch(cat)
    rec = PopularRecommend(cat)
    return cat, search, rec, EchoDialogue(cat, search, rec)
