"""MiniLM over description passages: a book scores the best of its sentences, not one
vector for its whole text (which MiniLM truncates at 256 word pieces and averages).

A passage is one sentence of the description, joined with the next when shorter than
``MIN_WORDS`` words; at most ``MAX_PASSAGES`` per book. ``coverstory build index`` saves
the vectors to ``<home>/indexes/passages.npz`` (float16, the owner book of each row and a
hash of each book's description, so a changed description is noticed).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np

MIN_WORDS = 8
MAX_PASSAGES = 8            # 9th-16th: 12% of the word pieces; dev split Hit@5 one query less
_SENT = re.compile(r"(?<=[.!?…])[\"'”’)]*\s*(?=[\"'“‘(]?[A-Z0-9])|\n+")


def passages(description: str | None) -> list[str]:
    """The passages of one description (sentences, short ones joined)."""
    text = " ".join((description or "").split())
    if not text:
        return []
    out: list[str] = []
    cur = ""
    for s in _SENT.split(text):
        s = s.strip()
        if not s:
            continue
        cur = f"{cur} {s}".strip()
        if len(cur.split()) >= MIN_WORDS:
            out.append(cur)
            cur = ""
    if cur:
        if out and len(cur.split()) < MIN_WORDS:
            out[-1] = f"{out[-1]} {cur}"
        else:
            out.append(cur)
    return out[:MAX_PASSAGES]


def description_hash(description: str | None) -> str:
    return hashlib.sha1((description or "").encode()).hexdigest()[:12]


class PassageIndex:
    """Unit vectors of description passages and the catalog row that owns each."""

    def __init__(self, book_ids: np.ndarray, vectors: np.ndarray, hashes: dict[int, str]):
        self.book_ids = np.asarray(book_ids, np.int64)
        self.vectors = np.ascontiguousarray(vectors, np.float32)
        self.hashes = hashes
        self.owner: np.ndarray | None = None      # catalog rows, set by bind()
        self.n_rows = 0

    def __len__(self) -> int:
        return len(self.book_ids)

    @classmethod
    def build(cls, books, encode, log=None, batch: int = 512) -> "PassageIndex":
        """Encode every passage of ``books`` with ``encode(list[str]) -> [n, d]``."""
        owners, texts, hashes = [], [], {}
        for b in books:
            ps = passages(b.description)
            if ps:
                hashes[int(b.id)] = description_hash(b.description)
                owners += [int(b.id)] * len(ps)
                texts += ps
        slot: dict[str, int] = {}            # a passage shared by editions: encoded once
        rows_of = np.asarray([slot.setdefault(t, len(slot)) for t in texts], np.int64)
        unique = list(slot)
        vecs = []
        for s in range(0, len(unique), batch):
            vecs.append(np.asarray(encode(unique[s:s + batch]), np.float32))
            if log and (s // batch) % 10 == 0:
                log(f"passages: {min(s + batch, len(unique))}/{len(unique)} encoded")
        dim = vecs[0].shape[1] if vecs else 384
        v = np.concatenate(vecs)[rows_of] if vecs else np.zeros((0, dim), np.float32)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return cls(np.asarray(owners, np.int64), v, hashes)

    def stale(self, books) -> int:
        """How many books' descriptions differ from the ones encoded."""
        n = 0
        for b in books:
            h = self.hashes.get(int(b.id))
            if (h is None) != (not passages(b.description)) or (
                    h is not None and h != description_hash(b.description)):
                n += 1
        return n

    def bind(self, row_of: dict[int, int], n_rows: int) -> "PassageIndex":
        """Map passage owners to catalog rows (passages of books not in the catalog drop)."""
        keep = np.asarray([int(b) in row_of for b in self.book_ids.tolist()], bool)
        self.book_ids, self.vectors = self.book_ids[keep], self.vectors[keep]
        owner = np.asarray([row_of[int(b)] for b in self.book_ids.tolist()], np.int64)
        order = np.argsort(owner, kind="stable")          # one contiguous run per row
        self.book_ids, self.vectors = self.book_ids[order], self.vectors[order]
        self.owner = owner[order]
        self._starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        self.n_rows = n_rows
        return self

    def scores(self, q: np.ndarray) -> np.ndarray:
        """Best passage cosine of every catalog row (-1 for rows without passages)."""
        out = np.full(self.n_rows, -1.0, np.float32)
        if len(self.book_ids):
            sims = self.vectors @ np.asarray(q, np.float32).ravel()
            out[self.owner[self._starts]] = np.maximum.reduceat(sims, self._starts)
        return out

    def save(self, path: str | Path) -> None:
        from coverstory.search.bm25 import _atomic_write

        buf = io.BytesIO()
        np.savez(buf, book_ids=self.book_ids, vectors=self.vectors.astype(np.float16),
                 hashes=np.frombuffer(json.dumps(self.hashes).encode(), np.uint8))
        _atomic_write(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "PassageIndex":
        with np.load(path, allow_pickle=False) as z:
            hashes = {int(k): v for k, v in json.loads(z["hashes"].tobytes().decode()).items()}
            return cls(z["book_ids"], z["vectors"].astype(np.float32), hashes)
