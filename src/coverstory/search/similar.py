"""Similar books: neighbours in several vector spaces (text, cover, fused), combined.

Each modality has an :class:`~coverstory.index.Index` of unit vectors. For a book, every
modality where it has a vector returns its ``depth`` nearest neighbours; scores are
standardised per modality (z-scores over that list, so a cover cosine of 0.8 and a text
cosine of 0.5 become comparable) and summed with the modality weights. Books missing from
one list get that list's lowest score. The reason names the modality that contributed most.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from coverstory.results import Hit

WEIGHTS = {"fused": 1.0, "text": 0.8, "tags": 0.7, "cover": 0.2, "author": 0.3}
REASONS = {"fused": "close overall (story, themes and cover)",
           "text": "similar story, themes and genre",
           "tags": "shelved with the same genres and tags by readers",
           "cover": "a similar-looking cover",
           "author": "by the same author"}


class Similar:
    """Multimodal neighbours. ``indexes``: modality -> Index; ``authors``: id -> names."""

    def __init__(self, indexes: dict, authors: dict[int, list[str]] | None = None,
                 weights: dict[str, float] | None = None, depth: int = 200):
        self.indexes = {m: i for m, i in indexes.items() if i is not None and len(i)}
        self.authors = authors or {}
        self.weights = {**WEIGHTS, **(weights or {})}
        self.depth = depth

    def _books_by_author(self) -> dict[str, set[int]]:
        """lower-cased author -> their books (built once)."""
        if getattr(self, "_by_author", None) is None:
            by: dict[str, set[int]] = {}
            for b, names in self.authors.items():
                for a in names:
                    by.setdefault(a.lower(), set()).add(b)
            self._by_author = by
        return self._by_author

    def neighbour_z(self, book_id: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per modality, the book's neighbours (ids) and their z-scored similarities."""
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}     # modality -> (ids, z)
        for m, idx in self.indexes.items():
            if book_id not in idx:
                continue
            if hasattr(idx, "neighbours"):
                s, ids = idx.neighbours(book_id, self.depth + 1)
            else:
                s, ids = idx.search(idx.reconstruct(book_id), min(self.depth + 1, len(idx)))
                s, ids = s[0], ids[0]
            ok = (ids >= 0) & (ids != book_id)
            s, ids = s[ok], ids[ok]
            if len(s) < 2:
                continue
            z = (s - s.mean()) / (s.std() + 1e-6)
            parts[m] = (np.asarray(ids, np.int64), np.asarray(z, np.float64))
        return parts

    def similar(self, book_id: int, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]:
        book_id = int(book_id)
        parts = self.neighbour_z(book_id)
        mine = {a.lower() for a in self.authors.get(book_id, [])}
        if not parts and not mine:
            return []
        # the candidates in the order the set of them iterates (ties keep that order)
        cand = set().union(*[set(ids.tolist()) for ids, _ in parts.values()])
        same: set[int] = set()
        if mine:
            by_author = self._books_by_author()
            same = set().union(*(by_author.get(a, set()) for a in mine))
            cand |= same - {book_id}
        excl = {int(e) for e in exclude} | {book_id}
        order = np.asarray([b for b in cand if b not in excl], np.int64)
        if not len(order):
            return []
        # each modality's weighted z-score of every candidate (a book missing from its list:
        # the list's lowest), summed in the modalities' order, then "same author"
        sort = np.argsort(order, kind="stable")
        cols: dict[str, np.ndarray] = {}
        total = np.zeros(len(order), np.float64)
        for m, (ids, z) in parts.items():
            ids, z = _last_of_each(ids, z)
            col = np.full(len(order), float(z.min()), np.float64)
            pos = np.searchsorted(order[sort], ids)
            pos = np.minimum(pos, len(order) - 1)
            hit = order[sort][pos] == ids
            col[sort[pos[hit]]] = z[hit]
            cols[m] = self.weights.get(m, 0.5) * col
            total = total + cols[m]
        by = np.zeros(len(order), bool)
        if same:
            by = np.asarray([b in same for b in order.tolist()], bool)
            cols["author"] = np.where(by, self.weights["author"] * 2.0, 0.0)
            total = np.where(by, total + cols["author"], total)
        total = total / max(1e-6, sum(self.weights.get(m, 0.5) for m in parts))
        hits = []
        for j in np.argsort(-total, kind="stable")[:k].tolist():
            contrib = {m: float(c[j]) for m, c in cols.items() if m != "author" or by[j]}
            top = max(contrib, key=contrib.get)
            hits.append(Hit(int(order[j]), round(float(total[j]), 4), REASONS.get(top, "similar"),
                            {m: round(v, 3) for m, v in contrib.items()}))
        return hits


def _last_of_each(ids: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A book listed twice (several vectors in one space) keeps its last score, as a dict
    built from the list would; the lowest score is taken over those."""
    if len(np.unique(ids)) == len(ids):
        return ids, z
    _, first_from_end = np.unique(ids[::-1], return_index=True)
    keep = np.sort(len(ids) - 1 - first_from_end)
    return ids[keep], z[keep]


class TagSpace:
    """Books as tf-idf vectors of their reader tags and shop categories (sparse cosine)."""

    def __init__(self, books: list):
        from scipy import sparse

        vocab: dict[str, int] = {}
        rows, cols = [], []
        ids = []
        for b in books:
            tags = set(b.tags) | {"cat:" + c for c in b.categories}
            if not tags:
                continue
            r = len(ids)
            ids.append(b.id)
            for t in tags:
                rows.append(r)
                cols.append(vocab.setdefault(t, len(vocab)))
        self.ids = np.asarray(ids, np.int64)
        self.row = {int(b): i for i, b in enumerate(ids)}
        n = len(ids)
        M = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                              shape=(n, max(1, len(vocab))))
        df = np.bincount(M.indices, minlength=M.shape[1]).astype(np.float32)
        M.data *= np.log((n + 1) / (df[M.indices] + 1)) + 1
        norms = np.sqrt(np.asarray(M.multiply(M).sum(1)).ravel()) + 1e-9
        self.M = sparse.diags(1 / norms).dot(M).tocsr()

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, book_id) -> bool:
        return int(book_id) in self.row

    def neighbours(self, book_id: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.row[int(book_id)]
        s = np.asarray((self.M @ self.M[r].T).todense()).ravel()
        top = np.argpartition(-s, min(k, len(s) - 1))[:k] if len(s) > k else np.arange(len(s))
        top = top[np.argsort(-s[top])]
        return s[top].astype(np.float32), self.ids[top]
