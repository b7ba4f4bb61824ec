"""Cover recognition by local features: SIFT visual words, tf-idf and spatial verification.

The classic instance-retrieval recipe (Sivic & Zisserman's "Video Google", Nister &
Stewenius' vocabulary tree, Philbin et al.'s spatial re-ranking), which suits photos of
covers: local features ignore the table around the book, survive perspective, blur
and lighting, and the geometry of the matches proves the identification.

* every catalog cover: RootSIFT keypoints (cover scaled to ``COVER_SIDE``), each
  quantised to one of ``branch**2`` visual words by a two-level k-means tree;
* a sparse tf-idf matrix (covers x words): a photo's words score every cover at once;
* the best ``verify`` covers are re-ranked by spatial verification: keypoints sharing a
  word form tentative matches, a RANSAC homography counts the consistent ones (inliers),
  without recomputing any feature of the gallery.

Everything is saved in one ``.npz`` (no pickle) and rebuilt incrementally per cover.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from coverstory.search.verify import plausible_quad

COVER_SIDE = 160         # catalog covers are ~128 px; SIFT sees them at this size
COVER_FEATURES = 250
PHOTO_SIDE = 560
PHOTO_FEATURES = 1500


def _sift(nfeatures: int):
    import cv2

    return cv2.SIFT_create(nfeatures=nfeatures, contrastThreshold=0.02)


def root_sift(des: np.ndarray) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman): L1-normalise, square-root (Hellinger kernel)."""
    des = np.asarray(des, np.float32)
    des /= des.sum(1, keepdims=True) + 1e-7
    return np.sqrt(des)


def cover_features(path_or_gray, side: int = COVER_SIDE, nfeatures: int = COVER_FEATURES,
                   sift=None):
    """(points [n, 2] in the scaled cover, RootSIFT [n, 128], (h, w) scaled size)."""
    import cv2

    g = path_or_gray
    if not isinstance(g, np.ndarray):
        g = cv2.imread(str(g), cv2.IMREAD_GRAYSCALE)
        if g is None:
            return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), (1, 1)
    elif g.ndim == 3:
        g = cv2.cvtColor(g, cv2.COLOR_RGB2GRAY)
    s = side / max(g.shape)
    g = cv2.resize(g, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    kp, des = (sift or _sift(nfeatures)).detectAndCompute(g, None)
    if des is None or not kp:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), g.shape[:2]
    return np.float32([k.pt for k in kp]), root_sift(des), g.shape[:2]


def photo_features(rgb: np.ndarray, side: int = PHOTO_SIDE, nfeatures: int = PHOTO_FEATURES,
                   sift=None):
    """(points [n, 2] in the photo's coordinates, RootSIFT [n, 128])."""
    import cv2

    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    s = min(1.0, side / max(g.shape))
    if s < 1:
        g = cv2.resize(g, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    kp, des = (sift or _sift(nfeatures)).detectAndCompute(g, None)
    if des is None or not kp:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    return np.float32([k.pt for k in kp]) / s, root_sift(des)


class Vocabulary:
    """A two-level k-means tree (``branch`` x ``branch`` words) trained with faiss."""

    def __init__(self, top: np.ndarray, leaves: np.ndarray):
        self.top = np.ascontiguousarray(top, np.float32)          # [B, 128]
        self.leaves = np.ascontiguousarray(leaves, np.float32)    # [B, B, 128]
        self.branch = len(top)
        self._tops = None

    @property
    def size(self) -> int:
        return self.branch * self.leaves.shape[1]

    @classmethod
    def train(cls, des: np.ndarray, branch: int = 128, seed: int = 0, niter: int = 10):
        import faiss

        des = np.ascontiguousarray(des, np.float32)
        km = faiss.Kmeans(128, branch, niter=niter, seed=seed, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=2048)
        km.train(des)
        _, a = km.index.search(des, 1)
        a = a.ravel()
        leaves = np.zeros((branch, branch, 128), np.float32)
        rng = np.random.default_rng(seed)
        for c in range(branch):
            sub = des[a == c]
            if len(sub) >= branch * 4:
                k2 = faiss.Kmeans(128, branch, niter=niter, seed=seed + c + 1, verbose=False,
                                  min_points_per_centroid=1)
                k2.train(np.ascontiguousarray(sub))
                leaves[c] = k2.centroids
            elif len(sub):
                leaves[c] = sub[rng.integers(0, len(sub), branch)]
            else:
                leaves[c] = km.centroids[c]
        return cls(km.centroids, leaves)

    def assign(self, des: np.ndarray, k: int = 1) -> np.ndarray:
        """Word id (int32) of every descriptor; with ``k > 1``, its ``k`` nearest leaves
        (within its top-level cell) as [n, k] (soft assignment for queries)."""
        import faiss

        if len(des) == 0:
            return np.zeros((0,) if k == 1 else (0, k), np.int32)
        des = np.ascontiguousarray(des, np.float32)
        if self._tops is None:
            self._tops = faiss.IndexFlatL2(128)
            self._tops.add(self.top)
        _, a = self._tops.search(des, 1)
        a = a.ravel()
        out = np.empty((len(des), k), np.int32)
        for c in np.unique(a):
            m = a == c
            d = des[m]
            L = self.leaves[c]
            dist = (d * d).sum(1, keepdims=True) - 2 * d @ L.T + (L * L).sum(1)
            if k == 1:
                out[m, 0] = c * self.branch + dist.argmin(1)
            else:
                nn = np.argpartition(dist, k, axis=1)[:, :k]
                nn = np.take_along_axis(nn, np.argsort(np.take_along_axis(dist, nn, 1), 1), 1)
                out[m] = c * self.branch + nn
        return out[:, 0] if k == 1 else out


class CoverWords:
    """Visual words of every catalog cover: tf-idf retrieval + spatial verification."""

    def __init__(self, vocab: Vocabulary, ids: np.ndarray, offsets: np.ndarray,
                 words: np.ndarray, points: np.ndarray, sizes: np.ndarray):
        self.vocab = vocab
        self.ids = np.asarray(ids, np.int64)
        self.offsets = np.asarray(offsets, np.int64)      # [n + 1] into words/points
        self.words = np.asarray(words, np.int32)
        self.points = np.asarray(points, np.float32)
        self.sizes = np.asarray(sizes, np.float32)        # [n, 2] (h, w) of the scaled cover
        self.row = {int(b): i for i, b in enumerate(self.ids.tolist())}
        self._tfidf()

    def _tfidf(self) -> None:
        from scipy import sparse

        n, V = len(self.ids), self.vocab.size
        rows = np.repeat(np.arange(n), np.diff(self.offsets))
        tf = sparse.csr_matrix((np.ones(len(self.words), np.float32), (rows, self.words)),
                               shape=(n, V))
        tf.sum_duplicates()
        df = np.bincount(tf.indices, minlength=V).astype(np.float32)
        self.idf = np.log((n + 1) / (df + 1)).astype(np.float32)
        tf.data = tf.data * self.idf[tf.indices]
        norms = np.sqrt(np.asarray(tf.multiply(tf).sum(1)).ravel()) + 1e-9
        self.M = sparse.diags(1 / norms).dot(tf).tocsr().astype(np.float32)   # [n, V]

    def __len__(self) -> int:
        return len(self.ids)

    # ---- query ------------------------------------------------------------------------------
    def query_vector(self, words: np.ndarray):
        from scipy import sparse

        V = self.vocab.size
        q = np.bincount(words, minlength=V).astype(np.float32) * self.idf
        nz = np.flatnonzero(q)
        v = sparse.csr_matrix((q[nz] / (np.linalg.norm(q[nz]) + 1e-9),
                               (np.zeros(len(nz), np.int64), nz)), shape=(1, V))
        return v

    def scores(self, words: np.ndarray) -> np.ndarray:
        """tf-idf cosine of the photo's words with every cover (float32 [n])."""
        if len(words) == 0 or len(self.ids) == 0:
            return np.zeros(len(self.ids), np.float32)
        v = self.query_vector(words)
        return np.asarray((self.M @ v.T).todense(), np.float32).ravel()

    def verify(self, row: int, q_points: np.ndarray, q_words: np.ndarray,
               photo_shape, max_per_word: int = 3) -> tuple[int, np.ndarray | None]:
        """(inliers, cover corners in the photo) of cover ``row`` against the photo."""
        import cv2

        a, b = self.offsets[row], self.offsets[row + 1]
        cw, cp = self.words[a:b], self.points[a:b]
        if len(cw) < 4 or len(q_words) < 4:
            return 0, None
        order = np.argsort(q_words, kind="stable")
        qw = q_words[order]
        lo = np.searchsorted(qw, cw)
        hi = np.searchsorted(qw, cw, side="right")
        ci, qi = [], []
        for k in range(max_per_word):       # up to max_per_word photo points per cover point
            idx = lo + k
            ok = idx < hi
            ci.append(np.flatnonzero(ok))
            qi.append(order[idx[ok]])
        ci, qi = np.concatenate(ci), np.concatenate(qi)
        if len(ci) < 6:
            return 0, None
        src, dst = cp[ci].astype(np.float32), q_points[qi].astype(np.float32)
        H, mask = cv2.findHomography(src, dst, cv2.RHO, 8.0, maxIters=400, confidence=0.995)
        if H is None or mask is None:
            return 0, None
        h, w = self.sizes[row]
        quad = cv2.perspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]])
                                        .reshape(-1, 1, 2), H).reshape(4, 2)
        if not plausible_quad(quad, photo_shape, min_area=0.01, min_side_ratio=0.12):
            return 0, None
        inl = mask.ravel().astype(bool)
        # distinct points on both sides (several word matches may share a point)
        n = min(len(np.unique(np.round(src[inl]), axis=0)), len(np.unique(np.round(dst[inl] / 2), axis=0)))
        return int(n), quad

    # ---- building & persistence ------------------------------------------------------------
    @classmethod
    def build(cls, covers: dict[int, str], vocab: Vocabulary | None = None,
              log=None, branch: int = 128, seed: int = 0, workers: int = 1,
              vocab_sample: int = 150_000) -> "CoverWords":
        """Extract features of every cover, train the vocabulary (unless given), quantise."""
        log = log or (lambda m: None)
        ids = np.asarray(sorted(covers), np.int64)
        paths = [covers[i] for i in ids.tolist()]
        pts, des, sizes = [], [], []
        t = time.time()
        chunks = [paths[i:i + 500] for i in range(0, len(paths), 500)]
        if workers > 1 and len(chunks) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as ex:
                results = ex.map(_extract_chunk, chunks)
                for n, (p, d, hw) in enumerate(results):
                    pts += p
                    des += d
                    sizes += hw
                    log(f"SIFT: {len(pts)}/{len(ids)} covers ({time.time() - t:.0f} s)")
        else:
            for c in chunks:
                p, d, hw = _extract_chunk(c)
                pts += p
                des += d
                sizes += hw
        if vocab is None:
            alld = np.concatenate(des) if des else np.zeros((0, 128), np.float16)
            rng = np.random.default_rng(seed)
            sample = alld[rng.choice(len(alld), min(len(alld), vocab_sample), replace=False)]
            t = time.time()
            vocab = Vocabulary.train(sample.astype(np.float32), branch=min(branch, max(2, int(np.sqrt(len(sample) / 8)))), seed=seed)
            log(f"vocabulary: {vocab.size} words from {len(sample)} descriptors ({time.time() - t:.0f} s)")
        offsets = np.concatenate([[0], np.cumsum([len(d) for d in des])]).astype(np.int64)
        flat = np.concatenate(des) if des else np.zeros((0, 128), np.float16)
        words = [vocab.assign(flat[s:s + 200_000].astype(np.float32))      # in big batches
                 for s in range(0, len(flat), 200_000)]
        return cls(vocab, ids, offsets,
                   np.concatenate(words) if words else np.zeros(0, np.int32),
                   np.concatenate(pts) if pts else np.zeros((0, 2), np.float32),
                   np.asarray(sizes, np.float32).reshape(-1, 2))

    def updated(self, covers: dict[int, str], log=None) -> "CoverWords":
        """A copy holding exactly ``covers``: rows of books already present are kept, new
        covers are extracted and quantised with the same vocabulary (no retraining)."""
        keep = [r for r, b in enumerate(self.ids.tolist()) if b in covers]
        new = {b: p for b, p in covers.items() if b not in self.row}
        parts = [(self.ids[r], self.words[self.offsets[r]:self.offsets[r + 1]],
                  self.points[self.offsets[r]:self.offsets[r + 1]], self.sizes[r]) for r in keep]
        if new:
            fresh = CoverWords.build(new, vocab=self.vocab, log=log)
            parts += [(fresh.ids[r], fresh.words[fresh.offsets[r]:fresh.offsets[r + 1]],
                       fresh.points[fresh.offsets[r]:fresh.offsets[r + 1]], fresh.sizes[r])
                      for r in range(len(fresh))]
        parts.sort(key=lambda t: t[0])
        offsets = np.concatenate([[0], np.cumsum([len(p[1]) for p in parts])]).astype(np.int64)
        return CoverWords(self.vocab, np.asarray([p[0] for p in parts], np.int64), offsets,
                          np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32),
                          np.concatenate([p[2] for p in parts]) if parts else np.zeros((0, 2), np.float32),
                          np.asarray([p[3] for p in parts], np.float32).reshape(-1, 2))

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, top=self.vocab.top, leaves=self.vocab.leaves, ids=self.ids,
                 offsets=self.offsets, words=self.words, points=self.points.astype(np.float16),
                 sizes=self.sizes, header=np.frombuffer(json.dumps(
                     {"format": "coverstory-cover-words/1", "cover_side": COVER_SIDE}).encode(), np.uint8))
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getbuffer())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CoverWords":
        with np.load(path, allow_pickle=False) as z:
            vocab = Vocabulary(z["top"], z["leaves"])
            return cls(vocab, z["ids"], z["offsets"], z["words"], z["points"].astype(np.float32),
                       z["sizes"])


def _extract_chunk(paths: list[str]):
    """SIFT of a list of cover files (a worker's share): points, float16 RootSIFT, sizes."""
    sift = _sift(COVER_FEATURES)
    pts, des, sizes = [], [], []
    for p in paths:
        a, d, hw = cover_features(p, sift=sift)
        pts.append(a)
        des.append(d.astype(np.float16))
        sizes.append(hw)
    return pts, des, sizes
