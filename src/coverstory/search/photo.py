"""Photo search: "what book is this?" from a phone photo of its cover.

Pipeline (each step measured in docs/benchmarks/photo.md):

1. **local features** — RootSIFT keypoints of the photo are looked up among all the
   catalog covers' keypoints (:mod:`coverstory.search.local_features`): every photo
   keypoint votes for the covers owning its nearest catalog keypoints, and the best
   ``SHORTLIST`` covers go on;
2. **geometric verification** — the votes for a short-listed cover are tentative
   correspondences; a RANSAC (RHO) homography counts the consistent ones. Dozens of
   inliers prove the cover is in the photo whatever the table, tilt or glare;
3. **image embedding** (only when 2 is not conclusive and a cover index exists) — the cover
   is looked for in the photo (:mod:`coverstory.search.rectify`: quadrilaterals warped
   flat, a central crop), each crop is embedded with EfficientNet-Lite0 (optionally
   through a trained photo head) and its nearest covers join the candidates;
4. **OCR** (off by default; ``use_ocr=True`` / ``--ocr``; only when still ambiguous) — the
   words read on the photo are matched to titles and authors of the candidates and of the
   whole catalog. With the voting stage it no longer changes the answer on the benchmark
   (top-1 98.2% either way) and costs ~0.35 s on the photos it runs on, so it is opt-in;
   its text also feeds the "not in the catalog" suggestions;
5. **decision** — a logistic model over (inliers, runner-up inliers, votes, cosine, OCR
   match), calibrated on held-out photos by ``coverstory bench photo``, gives
   P(the best book is the one in the photo); below the threshold the answer is "not in
   the catalog", with similar books (by the text read and by cover) as suggestions.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coverstory.results import Hit

SHORTLIST = 10           # covers verified from the voting ranking
CNN_SHORTLIST = 10       # covers verified from the embedding ranking (fallback stage)
WORK_SIDE = 800          # photo long side we work on
SURE_P = 0.9             # stop (no embedding, no OCR) once P(best) reaches this
OCR_BELOW = 0.6          # run OCR when P(best) is below this...
OCR_ABOVE = 0.02         # ...and above this (hopeless photos skip it)
CALIBRATION_FILE = "photo_calibration.json"
FEATURES = ["bias", "log1p_inliers", "log1p_runner_up", "votes", "cos", "ocr"]
# P(best book is right) = sigmoid(w . x); replaced by the calibrated model written by
# `coverstory bench photo` (held-out photos, seeds disjoint from the test photos)
DEFAULT_CALIBRATION = {"weights": [-5.0, 2.2, -1.2, 0.3, 1.0, 2.0], "threshold": 0.5,
                       "features": FEATURES, "source": "default (uncalibrated)"}


@dataclass
class PhotoResult:
    """The outcome of a photo query."""

    hits: list[Hit]
    in_catalog: bool
    best: Hit | None
    suggestions: list[Hit] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"in_catalog": self.in_catalog,
                "best": self.best.to_dict() if self.best else None,
                "hits": [h.to_dict() for h in self.hits],
                "suggestions": [h.to_dict() for h in self.suggestions],
                "details": self.details}


def rank_score(c, top_votes: float) -> float:
    """How strongly a candidate is supported: geometry first, then votes (relative to the
    most-voted candidate: on a blurred photo nothing verifies, and the votes, however few,
    still point at the right cover more often than the embedding), looks, OCR."""
    return math.log1p(c.inliers) + c.votes / max(top_votes, 1e-9) + 0.5 * c.cos + 1.5 * c.ocr


def feature_row(inliers: int, runner_up: int, votes: float, cos: float, ocr: float) -> np.ndarray:
    return np.array([1.0, math.log1p(inliers), math.log1p(runner_up), votes, cos, ocr],
                    np.float64)


def probability(weights, x: np.ndarray) -> float:
    z = float(np.dot(np.asarray(weights, np.float64), x))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass
class _Cand:
    inliers: int = 0
    votes: float = 0.0
    cos: float = 0.0
    ocr: float = 0.0
    verified: bool = False


class PhotoSearch:
    """Identify a cover photo against the catalog's covers."""

    def __init__(self, local, covers: dict[int, str] | None = None, embed=None, index=None,
                 titles: dict[int, str] | None = None, text_search=None,
                 calibration: dict | None = None, use_ocr: bool = False,
                 use_embedding: bool = True, read_text=None):
        self.local = local                  # CoverFeatures
        self.covers = covers or {}
        self.embed = embed                  # list[RGB arrays] -> unit vectors, or None
        self.index = index                  # Index of gallery vectors, or None
        self.titles = titles or {}
        self.text_search = text_search
        self.calibration = calibration or dict(DEFAULT_CALIBRATION)
        self.use_ocr = use_ocr
        self.use_embedding = use_embedding
        self._read_text = read_text

    @classmethod
    def from_service(cls, svc) -> "PhotoSearch":
        """Photo search over the service's cover features; the embedding stage (cover
        vectors, Lite0) loads on first use, when a photo is not settled by local features."""
        local = svc.cover_features()
        covers = {b.id: b.cover_path for b in svc.books.values() if b.cover_path}
        titles = {b.id: f"{b.title} {b.author}" for b in svc.books.values()}
        ps = cls(local, covers, None, None, titles, text_search=lambda: svc.text_search,
                 calibration=load_calibration(svc.home))
        ps._loader = lambda: _embedding_stage(svc)
        return ps

    def _embedding(self):
        """(embed, index) for the fallback stage, loading them once if a loader is set."""
        loader = getattr(self, "_loader", None)
        if loader is not None and self.index is None:
            self._loader = None
            self.embed, self.index = loader()
        return self.embed, self.index

    # ---- pieces ----------------------------------------------------------------------------
    def read_text(self, rgb: np.ndarray) -> str:
        if self._read_text is None:
            from PIL import Image

            from coverstory.encoders.ocr import read_text

            self._read_text = lambda a: read_text(Image.fromarray(a))
        return self._read_text(rgb)

    def _verify(self, cands: dict[int, _Cand], ids, pts, matches, shape) -> None:
        for bid in ids:
            c = cands.setdefault(int(bid), _Cand())
            if c.verified:
                continue
            row = self.local.row.get(int(bid))
            if row is not None:
                c.inliers = self.local.verify(row, pts, matches, shape)[0]
            c.verified = True

    def _probabilities(self, cands: dict[int, _Cand]) -> list[tuple[int, float]]:
        """Candidates ranked by evidence, each with P(it is the book in the photo)."""
        w = self.calibration["weights"]
        by_inl = sorted((c.inliers for c in cands.values()), reverse=True) + [0, 0]
        top_votes = max((c.votes for c in cands.values()), default=0.0)
        out = []
        for bid, c in cands.items():
            runner = by_inl[1] if c.inliers >= by_inl[0] else by_inl[0]
            p = probability(w, feature_row(c.inliers, runner, c.votes, c.cos, c.ocr))
            out.append((bid, p, rank_score(c, top_votes)))
        out.sort(key=lambda t: -t[2])
        return [(b, p) for b, p, _ in out]

    def evidence(self, cands: dict[int, _Cand], bid: int) -> np.ndarray:
        """The calibration features of candidate ``bid``."""
        c = cands[bid]
        others = [o.inliers for b, o in cands.items() if b != bid] + [0]
        return feature_row(c.inliers, max(others), c.votes, c.cos, c.ocr)

    # ---- the query -------------------------------------------------------------------------
    def search(self, img, k: int = 10, use_ocr: bool | None = None,
               use_embedding: bool | None = None) -> PhotoResult:
        """Identify the cover in ``img`` (an RGB PIL image)."""
        import cv2

        from coverstory.search.local_features import PHOTO_FEATURES, photo_features

        t0 = time.perf_counter()
        tm: dict = {}
        rgb = np.asarray(img.convert("RGB"))
        s = WORK_SIDE / max(rgb.shape[:2])
        if s < 1:
            rgb = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        t = time.perf_counter()
        pts, des = photo_features(rgb, nfeatures=getattr(self.local, "photo_features",
                                                         PHOTO_FEATURES))
        tm["features_ms"] = _ms(t)
        t = time.perf_counter()
        votes, matches = self.local.match(des)
        tm["match_ms"] = _ms(t)
        t = time.perf_counter()
        top = _top(votes, getattr(self.local, "shortlist", SHORTLIST))
        cands: dict[int, _Cand] = {int(self.local.ids[r]): _Cand(votes=float(votes[r]))
                                   for r in top if votes[r] > 0}
        self._verify(cands, list(cands), pts, matches, rgb.shape)
        tm["verify_ms"] = _ms(t)
        ranked = self._probabilities(cands)
        stages = ["local"]
        use_embedding = self.use_embedding if use_embedding is None else use_embedding
        if use_embedding and (not ranked or ranked[0][1] < SURE_P):
            self._embedding()
        crops = []
        if (use_embedding and self.embed is not None and self.index is not None
                and (not ranked or ranked[0][1] < SURE_P)):
            from coverstory.search.rectify import cover_candidates

            t = time.perf_counter()
            crops = cover_candidates(rgb)
            E = self.embed([c.image for c in crops])
            S, I = self.index.search(E, CNN_SHORTLIST)
            for srow, irow in zip(S, I):
                for sc, bid in zip(srow.tolist(), irow.tolist()):
                    if bid < 0:
                        continue
                    c = cands.setdefault(int(bid), _Cand())
                    c.cos = max(c.cos, float(sc))
                    row = self.local.row.get(int(bid))
                    if row is not None and c.votes == 0.0:
                        c.votes = float(votes[row])
            self._verify(cands, list(cands), pts, matches, rgb.shape)
            ranked = self._probabilities(cands)
            stages.append("embedding")
            tm["embedding_ms"] = _ms(t)
        ocr_text = None
        use_ocr = self.use_ocr if use_ocr is None else use_ocr
        if use_ocr and ranked and OCR_ABOVE <= ranked[0][1] < OCR_BELOW:
            t = time.perf_counter()
            # the cover found in the photo when there is one: faster, and no text of the table
            ocr_text = self.read_text(crops[0].image if crops and crops[0].kind == "quad" else rgb)
            for bid, sc in self.ocr_scores(ocr_text, list(cands)).items():
                cands[bid].ocr = sc
            extra = self._ocr_catalog_candidates(ocr_text, exclude=set(cands))
            for bid, sc in extra.items():
                row = self.local.row.get(bid)
                cands[bid] = _Cand(votes=float(votes[row]) if row is not None else 0.0, ocr=sc)
            self._verify(cands, list(extra), pts, matches, rgb.shape)
            ranked = self._probabilities(cands)
            stages.append("ocr")
            tm["ocr_ms"] = _ms(t)
        hits = []
        for bid, p in ranked[:k]:
            c = cands[bid]
            parts = {"p": round(p, 4), "inliers": c.inliers, "votes": round(c.votes, 4)}
            if c.cos:
                parts["cos"] = round(c.cos, 4)
            if ocr_text is not None:
                parts["ocr"] = round(c.ocr, 3)
            hits.append(Hit(int(bid), round(p, 4), _reason(parts), parts))
        threshold = float(self.calibration.get("threshold", 0.5))
        in_catalog = bool(hits) and hits[0].score >= threshold
        suggestions = [] if in_catalog else self._suggest(hits, ocr_text, k)
        tm["total_ms"] = _ms(t0)
        details = {"timings": tm, "stages": stages, "threshold": threshold,
                   "keypoints": int(len(pts))}
        if ranked:
            details["evidence"] = [round(float(v), 4) for v in self.evidence(cands, ranked[0][0])]
        if ocr_text is not None:
            details["ocr_text"] = ocr_text
        return PhotoResult(hits, in_catalog, hits[0] if in_catalog else None, suggestions, details)

    def ocr_scores(self, text: str, ids: list[int]) -> dict[int, float]:
        """How well the OCR text matches each book's title + author (0..1)."""
        from rapidfuzz import fuzz

        from coverstory.search.text import norm_text

        t = norm_text(text)
        if len(t) < 3:
            return {}
        return {i: fuzz.token_set_ratio(t, norm_text(self.titles.get(i, ""))) / 100.0
                for i in ids}

    def _ocr_catalog_candidates(self, text: str, exclude: set[int], limit: int = 5) -> dict[int, float]:
        """Books whose title + author match the OCR text well, from the whole catalog."""
        from rapidfuzz import fuzz, process

        from coverstory.search.text import norm_text

        t = norm_text(text)
        if len(t) < 6:
            return {}
        if not hasattr(self, "_ocr_choices"):
            ids = [i for i in self.titles if i in self.local.row]
            self._ocr_choices = (ids, [norm_text(self.titles[i]) for i in ids])
        ids, choices = self._ocr_choices
        got = process.extract(t, choices, scorer=fuzz.token_set_ratio, limit=limit,
                              score_cutoff=80)
        return {ids[j]: s / 100.0 for _, s, j in got if ids[j] not in exclude}

    def _suggest(self, hits: list[Hit], ocr_text: str | None, k: int) -> list[Hit]:
        """Similar books when the photo's book is not in the catalog."""
        out: list[Hit] = []
        seen: set[int] = set()
        if ocr_text and self.text_search is not None:
            for h in self.text_search().search(ocr_text, k=k):
                if h.book_id not in seen:
                    seen.add(h.book_id)
                    out.append(Hit(h.book_id, h.score, "its title or words are like those on "
                                   "your cover", h.details))
        for h in hits:
            if len(out) >= k:
                break
            if h.book_id not in seen:
                seen.add(h.book_id)
                out.append(Hit(h.book_id, h.details.get("votes", 0.0),
                               "its cover looks like the one in your photo", h.details))
        return out[:k]


def _embedding_stage(svc):
    """(embed function, gallery index) of the service's home, or (None, None)."""
    from coverstory.index import make_index
    from coverstory.search.embedders import photo_embedder

    try:
        index = svc.index("cover")
    except Exception as e:  # noqa: BLE001 - the embedding stage is optional
        svc.log(f"photo search without the embedding stage: {e}")
        return None, None
    if index is None:
        return None, None
    embed, head = photo_embedder(svc.home)
    if head is not None:
        proj = svc.index("photo")
        if proj is None or len(proj) != len(index):
            ids = index.ids
            vecs = head.project(np.vstack([index.reconstruct(int(i)) for i in ids]))
            proj = make_index(vecs.shape[1], len(ids))
            proj.add(ids, vecs)
        index = proj
    return embed, index


def _reason(parts: dict) -> str:
    if parts.get("inliers", 0) >= 15:
        return f"cover matched point by point ({parts['inliers']} matching points)"
    if parts.get("ocr", 0) >= 0.8:
        return "the title read from the photo matches"
    return "the cover looks most like your photo"


def _top(votes: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest votes, best first (ties by row; no full sort of a large
    gallery)."""
    if len(votes) <= k:
        return np.argsort(-votes, kind="stable")
    part = np.argpartition(-votes, k)[:k]
    return part[np.lexsort((part, -votes[part]))]


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


def load_calibration(home) -> dict:
    path = Path(home) / "indexes" / CALIBRATION_FILE
    try:
        cal = json.loads(path.read_text())
        if cal.get("features") == FEATURES and len(cal.get("weights", [])) == len(FEATURES):
            return cal
    except (OSError, ValueError):
        pass
    return dict(DEFAULT_CALIBRATION)


def fit_verifier(X: np.ndarray, y: np.ndarray, inside: np.ndarray | None = None,
                 seed: int = 0) -> dict:
    """The "is the best book the one in the photo?" verifier, fitted on validation photos.

    X: evidence rows (``FEATURES``) of the best candidate; y: 1 when that candidate is the
    book in the photo; inside: the photo's book is in the gallery (absent books: False).
    A logistic regression gives P(right); the decision threshold is chosen on 5-fold
    out-of-fold probabilities of the same validation photos, maximising the balanced
    accuracy of the decision (share of in-gallery photos accepted with the right book +
    share of absent-book photos rejected, halved)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, int)
    inside = np.ones(len(y), bool) if inside is None else np.asarray(inside, bool)
    if len(X) < 10 or len(set(y.tolist())) < 2:
        return {**DEFAULT_CALIBRATION, "source": "default (validation set too small)"}
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    def model():
        return LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000)

    oof = np.zeros(len(y))
    folds = min(5, int(min(np.bincount(y, minlength=2))))
    if folds >= 2:
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
            if len(set(y[tr].tolist())) < 2:
                continue
            oof[te] = model().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
    m = model().fit(X, y)
    if folds < 2:
        oof = m.predict_proba(X)[:, 1]
    ths = np.round(np.linspace(0.02, 0.98, 49), 3)

    def balanced(t):
        acc_in = np.mean((oof[inside] >= t) & (y[inside] == 1)) if inside.any() else 1.0
        rej_out = np.mean(oof[~inside] < t) if (~inside).any() else 1.0
        return 0.5 * (acc_in + rej_out)

    scores = [balanced(t) for t in ths]
    t = float(ths[int(np.argmax(scores))])
    return {"weights": [float(v) for v in m.coef_.ravel()], "threshold": t,
            "features": FEATURES,
            "source": f"logistic regression on {len(y)} validation photos ({int(inside.sum())} "
                      f"in the gallery, {int((~inside).sum())} of absent books; {int(y.sum())} "
                      "right top-1); threshold by out-of-fold balanced accuracy",
            "validation_balanced_accuracy": float(max(scores))}
