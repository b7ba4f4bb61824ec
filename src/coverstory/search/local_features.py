"""Cover recognition by local features: nearest-descriptor voting and spatial verification.

Every catalog cover is read once: RootSIFT keypoints (cover scaled to ``COVER_SIDE``, at
most ``COVER_FEATURES``) go into one faiss index of all the catalog's descriptors (exact
L2 for small catalogs; for large ones an inverted file with 8-bit scalar-quantised
vectors, searched in its nearest cell only). A photo's keypoints are looked up there:

* **voting** — each photo descriptor votes for the covers owning its ``KNN`` nearest
  catalog descriptors, weighted by how much nearer each is than the next one
  (1 - d_i / d_{k+1}: a distinctive match counts, a match in a crowd hardly does); one
  vote per (photo descriptor, cover), summed per cover and divided by the square root of
  the cover's keypoint count. Unlike a bag of visual words, nothing is quantised away
  (the ``coverstory bench photo`` ablation: 0.980 top-1 at 24k covers with this stage
  and verification alone);
* **verification** — the votes are tentative correspondences (photo point <-> catalog
  point): for the best covers a RANSAC homography (OpenCV ``RHO``) counts the consistent
  ones; the projected outline must be a plausible cover (convex, sane size). Dozens of
  inliers prove the cover is in the photo whatever the table, tilt or glare.

Everything is saved in one ``.npz`` (the faiss index serialised to bytes, no pickle),
written atomically, and kept up to date per cover: new covers are added to the trained
index, removed ones are deleted from it (no retraining).
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
KNN = 5                  # catalog descriptors each photo descriptor votes for
EXACT_MAX = 200_000      # up to this many catalog descriptors: exact search
NPROBE = 1               # inverted-file cells searched per photo descriptor
TRAIN_SAMPLE = 300_000   # descriptors the inverted file is trained on
RANSAC_ITERS = 2000      # RHO iterations per verified cover
FORMAT = "coverstory-cover-features/1"


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
    if abs(s - 1.0) > 1e-3:
        g = cv2.resize(g, None, fx=s, fy=s,
                       interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
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


def descriptor_index(n: int, sample: np.ndarray | None = None):
    """An empty faiss index for ``n`` catalog descriptors (trained on ``sample`` if needed)."""
    import faiss

    if n <= EXACT_MAX:
        return faiss.IndexIDMap2(faiss.IndexFlatL2(128))
    nlist = int(min(16384, max(256, 2 ** round(np.log2(1.5 * np.sqrt(n))))))
    index = faiss.index_factory(128, f"IVF{nlist},SQ8", faiss.METRIC_L2)
    index.train(np.ascontiguousarray(sample, np.float32))
    index.nprobe = NPROBE
    return index


def vote(D: np.ndarray, I: np.ndarray, owner, counts: np.ndarray):
    """Votes of a photo's descriptors given their ``k + 1`` nearest catalog descriptors
    (``D``, ``I`` of a faiss search): (score of every cover row [n], the ``Matches``).
    ``owner``: descriptor id -> cover row (-1: removed), an array or a function."""
    n, kk = len(counts), I.shape[1]
    kv = max(1, kk - 1)
    ok = I[:, :kv] >= 0
    w = np.clip(1.0 - D[:, :kv] / (D[:, kk - 1:kk] + 1e-9), 0.0, 1.0)
    if kk == 1:
        w = np.ones_like(w)
    q = np.repeat(np.arange(len(I)), kv).reshape(len(I), kv)[ok]
    d = I[:, :kv][ok]
    w = w[ok]
    rows = owner(d) if callable(owner) else owner[d]
    live = rows >= 0
    q, d, w, rows = q[live], d[live], w[live], rows[live]
    # one vote per (photo descriptor, cover): its best-weighted correspondence
    key = q * n + rows
    order = np.lexsort((-w, key))
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    best = order[first]
    score = np.bincount(rows[best], weights=w[best], minlength=n)
    score = (score / np.sqrt(np.asarray(counts, np.float32) + 1.0)).astype(np.float32)
    return score, Matches(q, d, rows, w.astype(np.float32))


def homography_inliers(src: np.ndarray, dst: np.ndarray, size, photo_shape):
    """(inliers, cover corners in the photo) of correspondences cover point ``src`` ->
    photo point ``dst`` (RANSAC RHO homography; the outline must be a plausible cover;
    ``size`` = (h, w) of the scaled cover)."""
    import cv2

    if len(src) < 6:
        return 0, None
    src = np.asarray(src, np.float32)
    dst = np.asarray(dst, np.float32)
    H, mask = cv2.findHomography(src, dst, cv2.RHO, 8.0, maxIters=RANSAC_ITERS,
                                 confidence=0.995)
    if H is None or mask is None:
        return 0, None
    h, w = size
    quad = cv2.perspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]])
                                    .reshape(-1, 1, 2), H).reshape(4, 2)
    if not plausible_quad(quad, photo_shape, min_area=0.01, min_side_ratio=0.12):
        return 0, None
    inl = mask.ravel().astype(bool)
    # distinct points on both sides (one point may match several descriptors)
    n = min(len(np.unique(np.round(src[inl]), axis=0)),
            len(np.unique(np.round(dst[inl] / 2), axis=0)))
    return int(n), quad


class Matches:
    """The photo's descriptors' nearest catalog descriptors: votes and correspondences."""

    def __init__(self, q_index: np.ndarray, d_index: np.ndarray, rows: np.ndarray,
                 weights: np.ndarray):
        self.q_index = q_index      # photo keypoint of each correspondence
        self.d_index = d_index      # catalog descriptor id of each correspondence
        self.rows = rows            # cover row owning the catalog descriptor
        self.weights = weights      # vote weight of the correspondence

    def of_row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        m = self.rows == row
        return self.q_index[m], self.d_index[m]


class CoverFeatures:
    """Local features of every catalog cover: voting retrieval + spatial verification."""

    def __init__(self, index, ids: np.ndarray, owner: np.ndarray, points: np.ndarray,
                 counts: np.ndarray, sizes: np.ndarray):
        self.index = index                                  # faiss, ids = descriptor ids
        self.ids = np.asarray(ids, np.int64)                # [n] book id of each row
        self.owner = np.asarray(owner, np.int64)            # [m] row of each descriptor id (-1: gone)
        self.points = np.asarray(points, np.float32)        # [m, 2] keypoint in the scaled cover
        self.counts = np.asarray(counts, np.float32)        # [n] keypoints per row
        self.sizes = np.asarray(sizes, np.float32)          # [n, 2] (h, w) of the scaled cover
        self.row = {int(b): i for i, b in enumerate(self.ids.tolist())}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        return "exact" if type(self.index).__name__.startswith("IndexIDMap") else "ivf-sq8"

    @property
    def descriptors(self) -> int:
        return int(self.index.ntotal)

    # ---- query ------------------------------------------------------------------------------
    def match(self, des: np.ndarray, k: int = KNN) -> tuple[np.ndarray, Matches]:
        """(vote score of every row [n], the correspondences) for a photo's descriptors."""
        n = len(self.ids)
        if len(des) == 0 or n == 0 or self.index.ntotal == 0:
            e = np.zeros(0, np.int64)
            return np.zeros(n, np.float32), Matches(e, e, e, np.zeros(0, np.float32))
        kk = int(min(k + 1, self.index.ntotal))
        D, I = self.index.search(np.ascontiguousarray(des, np.float32), kk)
        return vote(D, I, self.owner, self.counts)

    def verify(self, row: int, q_points: np.ndarray, matches: Matches,
               photo_shape) -> tuple[int, np.ndarray | None]:
        """(inliers, cover corners in the photo) of cover ``row`` against the photo."""
        qi, di = matches.of_row(row)
        return homography_inliers(self.points[di], q_points[qi], self.sizes[row], photo_shape)

    # ---- building & updating -----------------------------------------------------------------
    @classmethod
    def build(cls, covers: dict[int, str], log=None, workers: int = 1,
              seed: int = 0) -> "CoverFeatures":
        """Extract the features of every cover and index them (trained on a seeded sample)."""
        log = log or (lambda m: None)
        ids = np.asarray(sorted(covers), np.int64)
        pts, des, sizes = _extract([covers[i] for i in ids.tolist()], workers, log)
        return cls.from_features(ids, pts, des, sizes, log=log, seed=seed)

    @classmethod
    def from_features(cls, ids, pts: list, des: list, sizes, log=None,
                      seed: int = 0) -> CoverFeatures:
        """Index already-extracted features (``_extract``'s points, float16 RootSIFT and
        sizes, one entry per id in ``ids``' order), trained on a seeded sample."""
        log = log or (lambda m: None)
        ids = np.asarray(ids, np.int64)
        counts = np.asarray([len(d) for d in des], np.float32)
        flat = np.concatenate(des) if des else np.zeros((0, 128), np.float16)
        sample = None
        if len(flat) > EXACT_MAX:
            rng = np.random.default_rng(seed)
            sample = flat[rng.choice(len(flat), min(len(flat), TRAIN_SAMPLE), replace=False)]
        t = time.time()
        index = descriptor_index(len(flat), sample)
        _add(index, flat, 0)
        log(f"local features: {len(flat)} descriptors of {len(ids)} covers indexed "
            f"({time.time() - t:.0f} s)")
        owner = np.repeat(np.arange(len(ids)), counts.astype(np.int64))
        return cls(index, ids, owner,
                   np.concatenate(pts) if pts else np.zeros((0, 2), np.float32),
                   counts, np.asarray(sizes, np.float32).reshape(-1, 2))

    def updated(self, covers: dict[int, str], log=None) -> "CoverFeatures":
        """Brought up to date (in place) to hold exactly ``covers``: descriptors of books no
        longer there are removed from the index, new covers are extracted and added (the
        trained index is kept)."""
        import faiss

        gone = [r for r, b in enumerate(self.ids.tolist()) if b not in covers]
        new = {b: p for b, p in covers.items() if b not in self.row}
        if gone:
            dead = np.flatnonzero(np.isin(self.owner, gone)).astype(np.int64)
            self.index.remove_ids(faiss.IDSelectorBatch(len(dead), faiss.swig_ptr(dead)))
        keep = np.setdiff1d(np.arange(len(self.ids)), gone).astype(np.int64)
        remap = np.full(len(self.ids) + 1, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        owner = remap[self.owner]                    # -1 stays -1 (remap[-1] is the spare -1)
        ids, counts, sizes = self.ids[keep], self.counts[keep], self.sizes[keep]
        points = self.points
        if new:
            new_ids = np.asarray(sorted(new), np.int64)
            pts, des, sz = _extract([new[i] for i in new_ids.tolist()], 1, log or (lambda m: None))
            c = np.asarray([len(d) for d in des], np.float32)
            flat = np.concatenate(des) if des else np.zeros((0, 128), np.float16)
            _add(self.index, flat, len(owner))
            owner = np.concatenate([owner, len(ids) + np.repeat(np.arange(len(new_ids)),
                                                                c.astype(np.int64))])
            points = np.concatenate([points] + pts) if pts else points
            ids = np.concatenate([ids, new_ids])
            counts = np.concatenate([counts, c])
            sizes = np.concatenate([sizes, np.asarray(sz, np.float32).reshape(-1, 2)])
        self.__init__(self.index, ids, owner, points, counts, sizes)
        return self

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        import faiss

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, index=faiss.serialize_index(self.index), ids=self.ids, owner=self.owner,
                 points=self.points.astype(np.float16), counts=self.counts, sizes=self.sizes,
                 header=np.frombuffer(json.dumps({"format": FORMAT, "cover_side": COVER_SIDE,
                                                  "kind": self.kind}).encode(), np.uint8))
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
    def load(cls, path: str | os.PathLike) -> "CoverFeatures":
        import faiss

        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"{path}: not a cover-features file ({header.get('format')})")
            index = faiss.deserialize_index(z["index"])
            if hasattr(index, "nprobe"):
                index.nprobe = NPROBE
            return cls(index, z["ids"], z["owner"], z["points"].astype(np.float32),
                       z["counts"], z["sizes"])


def _add(index, flat: np.ndarray, start: int, chunk: int = 500_000) -> None:
    for s in range(0, len(flat), chunk):
        x = np.ascontiguousarray(flat[s:s + chunk], np.float32)
        index.add_with_ids(x, np.arange(start + s, start + s + len(x), dtype=np.int64))


def _extract(paths: list[str], workers: int, log, side: int = COVER_SIDE,
             nfeatures: int = COVER_FEATURES, chunk: int = 250):
    """SIFT of cover files (in ``workers`` processes, one OpenCV thread each): points,
    float16 RootSIFT, sizes."""
    from functools import partial

    chunks = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
    one = partial(_extract_chunk, side=side, nfeatures=nfeatures)
    pts, des, sizes = [], [], []
    t = time.time()
    if workers > 1 and len(chunks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")    # a fork of a process with OpenCV, torch
        #                                               or Spark threads can deadlock (it hung CI)
        with ProcessPoolExecutor(max_workers=workers, initializer=_one_thread,
                                 mp_context=ctx) as ex:
            results = list(_logged(ex.map(one, chunks), log, len(paths), t))
    else:
        results = [one(c) for c in chunks]
    for p, d, hw in results:
        pts += p
        des += d
        sizes += hw
    return pts, des, sizes


def _one_thread() -> None:
    """Pool workers: one OpenCV thread each (the processes share the cores)."""
    import cv2

    cv2.setNumThreads(1)


def _logged(results, log, total: int, t: float):
    done = 0
    for r in results:
        done += len(r[0])
        if done % 5000 < len(r[0]) or done == total:
            log(f"SIFT: {done}/{total} covers ({time.time() - t:.0f} s)")
        yield r


def _extract_chunk(paths: list[str], side: int = COVER_SIDE, nfeatures: int = COVER_FEATURES):
    sift = _sift(nfeatures)
    pts, des, sizes = [], [], []
    for p in paths:
        a, d, hw = cover_features(p, side=side, sift=sift)
        pts.append(a)
        des.append(d.astype(np.float16))
        sizes.append(hw)
    return pts, des, sizes
