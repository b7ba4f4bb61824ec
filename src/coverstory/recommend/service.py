"""``RecommendService``: the recommendation facade used by the dialogue, HTTP and CLI layers.

    svc = RecommendService(home)
    hits = svc.recommend(user_id, k=10)            # list[Hit], reader with 0..n ratings
    svc.feedback(user_id, book_id, "like")         # stored + profile updated at once
    svc.similar_items(book_id, k=10)               # collaborative neighbours

Lazy: the fitted model under ``<home>/models/recommender/`` is loaded on first use (built by
``coverstory build recommender``). A service never fits a model by itself unless asked to
(``fit_missing=True``: a light hybrid fitted in memory, for scripts): without a saved model
it answers from what exists, popular books the reader has not rated, with no profile
(``score`` knows nothing, feedback is saved without a fold-in), and ``missing`` is True;
building one is a job's work (``coverstory build recommender``; the server's jobs: after an
import into a home without one, serve/jobs.py). Readers
are always scored from their *current* ratings in the catalog (fold-in), with their ALS
profile vector cached in the ``profiles`` table, so feedback changes the next answer
without refitting.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from coverstory.artifacts import RECOMMENDER_DIR as MODEL_DIR
from coverstory.errors import BadInput
from coverstory.results import Hit

PROFILE_MODEL = "hybrid.als"
FEEDBACK_RATINGS = {"like": 5.0, "dislike": 1.0, "read": 3.0}
UNSCORABLE = -1e6      # score of books the model knows nothing about


class RecommendService:
    """Recommendations for catalog readers (ids from ``Catalog.ensure_user``)."""

    def __init__(self, home, *, model=None, book_ids: np.ndarray | None = None, log=None,
                 fit_missing: bool = False):
        from coverstory.config import home_dir

        self.home = home_dir(home)
        self._model = model
        self._book_ids = None if book_ids is None else np.asarray(book_ids, np.int64)
        self._lock = threading.RLock()
        self._catalog = None
        self._titles: dict[int, str] = {}
        self._col: dict[int, int] | None = None
        self._popular: np.ndarray | None = None
        self.fit_missing = fit_missing
        self.missing = False          # no saved model: popular books, no profiles
        self.log = log or (lambda msg: None)

    # ---- lazy state --------------------------------------------------------------------------
    @property
    def catalog(self):
        if self._catalog is None:
            from coverstory.catalog import Catalog

            self._catalog = Catalog.open(self.home)
        return self._catalog

    @property
    def model(self):
        """The recommender (loaded once); None when no model is saved and ``fit_missing``
        is off (then the service answers with popular books and keeps no profiles)."""
        if self._col is not None:
            return self._model
        with self._lock:
            if self._col is not None:
                return self._model
            if self._model is None:
                path = self.home / MODEL_DIR
                if (path / "config.json").exists():
                    self._model, self._book_ids, self.stamp = load_model(path)
                elif self.fit_missing:
                    self.log("no saved recommender: fitting a light one "
                             "(run `coverstory build recommender` for the full model)")
                    self._model, self._book_ids = fit_catalog_model(self.home, light=True)
                    self.stamp = "light"
                else:
                    self._use_popular()
                    return None
            if self._book_ids is None:
                raise ValueError("RecommendService(model=...) also needs book_ids")
            if not hasattr(self, "stamp"):
                self.stamp = "given"
            self._col = {int(b): i for i, b in enumerate(self._book_ids)}
            return self._model

    def _use_popular(self) -> None:
        """No saved model: score books by how many readers liked them (one catalog query;
        nothing is fitted)."""
        self.missing, self.stamp = True, "none"
        self._book_ids = np.asarray(self.catalog.book_ids(), np.int64)
        counts = self.catalog.rating_counts(min_rating=4.0)
        self._popular = np.array([counts.get(int(b), 0) for b in self._book_ids], np.float32)
        self._col = {int(b): i for i, b in enumerate(self._book_ids)}
        self.log("no saved recommender: popular books until one is built "
                 "(`coverstory build recommender`)")

    @property
    def book_ids(self) -> np.ndarray:
        self.model
        return self._book_ids

    def _columns(self, book_ids) -> np.ndarray:
        self.model
        return np.array([self._col.get(int(b), -1) for b in book_ids], dtype=np.int64)

    def _row(self, user_id: int) -> tuple[sp.csr_matrix, list[tuple[int, float]]]:
        ratings = self.catalog.user_ratings(int(user_id))
        cols, vals = [], []
        for b, r in ratings:
            c = self._col.get(int(b))
            if c is not None:
                cols.append(c)
                vals.append(r)
        row = sp.csr_matrix((np.asarray(vals, np.float32),
                             (np.zeros(len(cols), np.int64), np.asarray(cols, np.int64))),
                            shape=(1, len(self._book_ids)))
        return row, ratings

    def _scores(self, user_id: int) -> tuple[np.ndarray, sp.csr_matrix, list]:
        """Scores over all model columns for the reader's current ratings."""
        from coverstory.recommend.profiles import fingerprint, load_profile, save_profile

        model = self.model
        row, ratings = self._row(user_id)
        if model is None:
            return self._popular, row, ratings
        if hasattr(model, "score_with_profile") and row.nnz:
            fp = fingerprint([b for b, _ in ratings], [r for _, r in ratings])
            got = load_profile(self.catalog, user_id, PROFILE_MODEL)
            if got is not None and got[1].get("ratings") == fp and got[1].get("model") == self.stamp:
                return model.score_with_profile(row, got[0][None, :])[0], row, ratings
            vec = model.fold_in(row)
            save_profile(self.catalog, user_id, PROFILE_MODEL, vec[0],
                         {"ratings": fp, "model": self.stamp, "n": len(ratings)})
            return model.score_with_profile(row, vec)[0], row, ratings
        return model.score(row)[0], row, ratings

    # ---- the API -----------------------------------------------------------------------------
    def recommend(self, user_id: int, k: int = 10, exclude=(), candidates: list[int] | None = None
                  ) -> list[Hit]:
        """Top-k books for the reader (already rated books and ``exclude`` left out)."""
        from coverstory.recommend.base import rank

        with self._lock:
            S, row, ratings = self._scores(user_id)
            ex = self._columns(list(exclude)) if exclude else np.zeros(0, np.int64)
            cand = None
            if candidates is not None:
                cand = self._columns(candidates)
                cand = cand[cand >= 0]
            ids, sc = rank(S[None, :].copy(), k, seen=row, exclude=ex[ex >= 0], candidates=cand)
            ids, sc = ids[0], sc[0]
            keep = ids >= 0
            ids, sc = ids[keep], sc[keep]
            return self._hits(row, ids, sc)

    def score(self, user_id: int, book_ids: list[int]) -> np.ndarray:
        """Scores (float32) of the given books for the reader; unknown books get -1e6, and
        every book does while no model is saved (no profile)."""
        with self._lock:
            if self.model is None:
                return np.full(len(book_ids), UNSCORABLE, np.float32)
            S, _, _ = self._scores(user_id)
            cols = self._columns(book_ids)
            out = np.full(len(cols), UNSCORABLE, np.float32)
            ok = cols >= 0
            out[ok] = S[cols[ok]]
            out[~np.isfinite(out)] = UNSCORABLE
            return out

    def feedback(self, user_id: int, book_id: int, kind: str, rating: float | None = None) -> None:
        """Record like / dislike / read (optionally with a 1-5 rating) and update the profile."""
        if kind not in FEEDBACK_RATINGS:
            raise BadInput(f"feedback kind must be one of {sorted(FEEDBACK_RATINGS)}, got {kind!r}")
        if rating is not None and not 1 <= float(rating) <= 5:
            raise BadInput(f"rating must be between 1 and 5, got {rating}")
        if self.catalog.book(int(book_id)) is None:
            raise ValueError(f"no book with id {book_id} in the catalog")
        value = float(rating) if rating is not None else FEEDBACK_RATINGS[kind]
        self.catalog.set_rating(int(user_id), int(book_id), value, source="feedback", shelf=kind)
        self.catalog.log_event(kind, user_id=int(user_id), book_id=int(book_id),
                               payload={"rating": value})
        with self._lock:
            if self.model is not None:
                self._scores(user_id)       # fold-in now: the profile is current

    def similar_items(self, book_id: int, k: int = 10) -> list[Hit]:
        """Books whose readers overlap with this one's (content-regressed for unrated books)."""
        with self._lock:
            col = self._col.get(int(book_id)) if self.model is not None else None
            if col is None:             # an unknown book, or no saved model
                return []
            ids, sc = self.model.similar_items(col, k)
            keep = ids >= 0
            out = []
            for i, s in zip(ids[keep], sc[keep]):
                b = int(self._book_ids[i])
                out.append(Hit(b, float(s), "readers who liked it also liked this",
                               {"driver": "collaborative", "because_of": int(book_id)}))
            return out

    # ---- explanations ------------------------------------------------------------------------
    def _title(self, book_id: int) -> str:
        if book_id not in self._titles:
            b = self.catalog.book(book_id)
            self._titles[book_id] = b.title if b else f"book {book_id}"
        return self._titles[book_id]

    def _hits(self, row, ids, scores) -> list[Hit]:
        model = self.model
        name = model.name if model is not None else "popularity"
        expl = (model.explain(row, ids) if hasattr(model, "explain") and len(ids)
                else [{"driver": name, "because_of": -1, "parts": {}} for _ in ids])
        hits = []
        for i, s, e in zip(ids, scores, expl):
            b = int(self._book_ids[i])
            because = int(self._book_ids[e["because_of"]]) if e.get("because_of", -1) >= 0 else None
            title = self._title(because) if because is not None else None
            hits.append(Hit(b, float(s), reason_text(e, title), {
                "driver": e["driver"], "parts": e.get("parts", {}),
                "because_of": because, "because_of_title": title,
                "cold_item": e.get("cold_item", False)}))
        return hits


def reason_text(e: dict, because_title: str | None) -> str:
    d = e["driver"]
    if d == "collaborative":
        if e.get("cold_item"):
            return ("new to our readers: its cover and description match what readers "
                    "like you enjoy")
        if because_title:
            return f"readers who liked {because_title} also liked this"
        return "readers with tastes like yours liked this"
    if d == "content":
        if because_title:
            return f"close in subject, description and cover to {because_title}"
        return "close in subject and style to books you liked"
    if d == "popularity":
        return "popular with readers (tell me what you like to personalise)"
    return f"suggested by {d}"


# ---- fitting on the catalog and persistence -------------------------------------------------------
def catalog_matrix(home, book_ids: np.ndarray | None = None):
    """(ratings CSR [users, books], user ids, book ids) from the catalog."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    u, b, r = cat.ratings_arrays()
    if book_ids is None:
        book_ids = np.asarray(cat.book_ids(), np.int64)
    user_ids = np.unique(u)
    col = {int(x): i for i, x in enumerate(book_ids)}
    keep = np.array([int(x) in col for x in b], dtype=bool) if len(b) else np.zeros(0, bool)
    ui = np.searchsorted(user_ids, u[keep])
    bi = np.array([col[int(x)] for x in b[keep]], np.int64)
    X = sp.csr_matrix((r[keep], (ui, bi)), shape=(len(user_ids), len(book_ids)), dtype=np.float32)
    return X, user_ids, book_ids


def fit_catalog_model(home, *, light: bool = False, log=None, **hybrid_params):
    """Fit the default hybrid on the catalog's ratings and content features."""
    from coverstory.recommend.features import catalog_item_features
    from coverstory.recommend.hybrid import Hybrid

    X, user_ids, book_ids = catalog_matrix(home)
    if X.shape[1] == 0:
        raise ValueError(f"the catalog in {home} has no books: run `coverstory import` first")
    blocks = ("tags",) if light else ("text", "title", "cover", "tags")
    # cover vectors alone rank far below tags (docs/benchmarks/recommend.md): weigh them less
    feats = catalog_item_features(home, book_ids, blocks=blocks, max_dim=64 if light else 256,
                                  weights={"cover": 0.25}, log=log)
    n_active = int((np.diff(X.tocsc().indptr) > 0).sum())
    params = {"factors": 32 if light else 128, "use_ease": n_active <= (3000 if light else 20000)}
    params.update(hybrid_params)
    model = Hybrid(**params).fit(X, feats)
    model.user_ids_ = user_ids
    return model, book_ids


def save_model(model, book_ids: np.ndarray, home) -> Path:
    import time

    path = Path(home) / MODEL_DIR
    model.save(path)
    np.save(path / "book_ids.npy", np.asarray(book_ids, np.int64), allow_pickle=False)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (path / "service.json").write_text(json.dumps({"stamp": stamp, "books": int(len(book_ids))}))
    return path


def load_model(path: Path):
    from coverstory.recommend.base import Recommender

    model = Recommender.load(path)
    book_ids = np.load(path / "book_ids.npy", allow_pickle=False)
    stamp = "saved"
    if (path / "service.json").exists():
        stamp = json.loads((path / "service.json").read_text()).get("stamp", stamp)
    return model, book_ids, stamp
