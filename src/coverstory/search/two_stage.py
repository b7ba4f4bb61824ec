"""Photo identification that scales past RAM: compressed voting, then exact verification
from memory-mapped per-cover descriptors (issue 19).

:class:`~coverstory.search.local_features.CoverFeatures` keeps every catalog descriptor in
memory (8-bit scalar-quantised, 128 bytes each, plus ids, owners and points: ~150 bytes a
descriptor, ~35 GB at a million covers). Here the two jobs of that index are split:

* **stage 1, shortlist** — the same nearest-descriptor voting
  (:func:`~coverstory.search.local_features.vote`), over a faiss inverted file of
  product-quantised descriptors (``IVFn,PQ32``: 32 bytes of code + faiss's 8-byte id per
  descriptor, the only thing in RAM besides four numbers per cover); a descriptor's cover
  is found from the contiguous id ranges (no per-descriptor owner array). The votes of
  compressed distances are noisier, but the 10 best covers still hold the right one
  (``SHORTLIST``; 20 gave the same validation top-1 at 53k covers);
* **stage 2, verification** — for each short-listed cover its exact float16 RootSIFT
  descriptors and keypoints are read from files on disk (``descriptors.f16``,
  ``points.f16``: ``pread`` per cover, or numpy memory maps; the page cache holds what is
  hot, nothing is loaded up front), matched
  to the photo's descriptors (two nearest, Lowe's ratio test) and verified by the same
  RANSAC homography as today (:func:`~coverstory.search.local_features.homography_inliers`).

Files of one gallery (a folder): ``index.faiss`` (``faiss.write_index``), the two
append-only raw arrays, ``covers.npz`` (ids, first descriptor id, count, size per cover).
:meth:`TwoStageFeatures.add` appends covers without a rebuild: the trained quantisers are
kept, new descriptors are encoded and appended, the cover table is rewritten atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from coverstory.search.local_features import (EXACT_MAX, KNN, NPROBE, TRAIN_SAMPLE, Matches,
                                              homography_inliers, vote)

PQ_BYTES = 32            # product-quantiser code per descriptor (bytes)
SHORTLIST = 10           # covers verified from the compressed votes (as today)
RATIO = 0.85             # Lowe's ratio test of stage 2 (on L2 distances)
PHOTO_FEATURES = 1000    # photo keypoints (voting: 1,500): the busy photos make the p95
FORMAT = "coverstory-two-stage/1"


class PhotoMatches(Matches):
    """Stage 1's correspondences plus the photo's descriptors (stage 2 matches them)."""

    def __init__(self, base: Matches, des: np.ndarray):
        super().__init__(base.q_index, base.d_index, base.rows, base.weights)
        self.des = des


class TwoStageFeatures:
    """Compressed voting shortlist + verification from descriptors on disk. Drop-in
    for ``CoverFeatures`` in :class:`~coverstory.search.photo.PhotoSearch` (``ids``,
    ``row``, ``match``, ``verify``, ``shortlist``)."""

    shortlist = SHORTLIST
    photo_features = PHOTO_FEATURES    # read by PhotoSearch
    stage2 = "exact"     # "exact": descriptors re-matched from disk; "votes": stage 1's matches

    def __init__(self, folder, index, ids, start, counts, sizes, mmap: bool = False):
        self.folder = Path(folder)
        self.index = index
        self.ids = np.asarray(ids, np.int64)              # [n] book id of each row
        self.start = np.asarray(start, np.int64)          # [n] first descriptor id of each row
        self.counts = np.asarray(counts, np.float32)      # [n] descriptors of each row
        self.sizes = np.asarray(sizes, np.float32).reshape(-1, 2)   # [n] (h, w) scaled cover
        self.row = {int(b): i for i, b in enumerate(self.ids.tolist())}
        self.mmap = mmap
        m = int(self.start[-1] + self.counts[-1]) if len(self.ids) else 0
        self.des = _open(self.folder / "descriptors.f16", m, 128, mmap)
        self.points = _open(self.folder / "points.f16", m, 2, mmap)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        return f"two-stage ({_describe(self.index)} + float16 on disk)"

    @property
    def descriptors(self) -> int:
        return int(self.index.ntotal)

    def owner(self, d: np.ndarray) -> np.ndarray:
        """Cover row of descriptor ids (contiguous ranges per cover)."""
        return np.searchsorted(self.start, d, side="right") - 1

    # ---- query ------------------------------------------------------------------------------
    def match(self, des: np.ndarray, k: int = KNN):
        """Stage 1: (vote score of every row [n], the correspondences + the photo's
        descriptors) from the compressed index."""
        des = np.ascontiguousarray(des, np.float32)
        n = len(self.ids)
        if len(des) == 0 or n == 0 or self.index.ntotal == 0:
            e = np.zeros(0, np.int64)
            return np.zeros(n, np.float32), PhotoMatches(
                Matches(e, e, e, np.zeros(0, np.float32)), des)
        kk = int(min(k + 1, self.index.ntotal))
        D, I = self.index.search(des, kk)
        score, m = vote(D, I, self.owner, self.counts)
        return score, PhotoMatches(m, des)

    def verify(self, row: int, q_points: np.ndarray, matches: PhotoMatches,
               photo_shape) -> tuple[int, np.ndarray | None]:
        """Stage 2: the photo's descriptors against cover ``row``'s exact descriptors (two
        nearest, ratio test), then the homography."""
        a, c = int(self.start[row]), int(self.counts[row])
        if self.stage2 == "votes":          # stage 1's correspondences, points from disk
            qi, di = matches.of_row(row)
            return homography_inliers(self.cover_rows(self.points, a, c)[di - a], q_points[qi],
                                      self.sizes[row], photo_shape)
        q = matches.des
        if c < 2 or len(q) < 6:
            return 0, None
        cd = self.cover_rows(self.des, a, c)
        # RootSIFT rows have unit L2 norm: |q - c|^2 = 2 - 2 q.c; each cover keypoint's two
        # nearest photo keypoints, Lowe's ratio, and mutual nearest neighbours only
        d2 = np.maximum(2.0 - 2.0 * (cd @ q.T), 0.0)
        nn = np.argpartition(d2, 1, axis=1)[:, :2]
        d_nn = np.take_along_axis(d2, nn, 1)
        best = nn[np.arange(c), np.argmin(d_nn, 1)]
        ok = np.sqrt(d_nn.min(1)) < RATIO * np.sqrt(d_nn.max(1))
        ok &= np.argmin(d2[:, best], 0) == np.arange(c)          # mutual
        ci = np.flatnonzero(ok)
        return homography_inliers(self.cover_rows(self.points, a, c)[ci],
                                  q_points[best[ci]], self.sizes[row], photo_shape)

    def cover_rows(self, store, a: int, c: int) -> np.ndarray:
        """Rows ``a .. a + c`` of a descriptor or point file, as float32: sliced from the
        memory map, or read with ``pread`` when ``mmap=False`` (nothing file-backed stays
        mapped in the process: its RSS is its own memory; the page cache still serves
        hot covers)."""
        if isinstance(store, np.ndarray):
            return np.asarray(store[a:a + c], np.float32)
        cols = store["cols"]
        raw = os.pread(store["fd"], 2 * cols * c, 2 * cols * a)
        return np.frombuffer(raw, np.float16).reshape(c, cols).astype(np.float32)

    # ---- building & updating -------------------------------------------------------------------
    @classmethod
    def build(cls, folder, ids, pts: list, des: list, sizes, log=None, seed: int = 0,
              pq_bytes: int = PQ_BYTES) -> "TwoStageFeatures":
        """A new gallery in ``folder`` from extracted features (``_extract``'s points,
        float16 RootSIFT and sizes, one entry per id); the quantisers are trained on a
        seeded sample of at most ``TRAIN_SAMPLE`` descriptors."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("descriptors.f16", "points.f16"):
            (folder / name).unlink(missing_ok=True)
        total = sum(len(d) for d in des)
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(total, min(total, TRAIN_SAMPLE), replace=False))
        flat_sample = _gather(des, take)
        index = compressed_index(total, flat_sample, pq_bytes)
        _save_index(folder, index, {"ids": np.zeros(0, np.int64), "start": np.zeros(0, np.int64),
                                    "counts": np.zeros(0, np.float32),
                                    "sizes": np.zeros((0, 2), np.float32)})
        g = cls.load(folder)
        return g.add(ids, pts, des, sizes, log=log)

    def add(self, ids, pts: list, des: list, sizes, log=None,
            chunk: int = 2000) -> "TwoStageFeatures":
        """Append covers (no rebuild, no retraining): their descriptors are encoded into the
        index and appended to the memory-mapped files; the cover table is rewritten."""
        log = log or (lambda m: None)
        ids = np.asarray(ids, np.int64)
        dup = [int(b) for b in ids.tolist() if int(b) in self.row]
        if dup:
            raise ValueError(f"covers already in the gallery: {dup[:5]}")
        m = int(self.start[-1] + self.counts[-1]) if len(self.ids) else 0
        starts, counts = [], []
        with open(self.folder / "descriptors.f16", "ab") as fd, \
                open(self.folder / "points.f16", "ab") as fp:
            for s in range(0, len(ids), chunk):
                d = [np.asarray(x, np.float16).reshape(-1, 128) for x in des[s:s + chunk]]
                p = [np.asarray(x, np.float16).reshape(-1, 2) for x in pts[s:s + chunk]]
                c = np.asarray([len(x) for x in d], np.int64)
                flat = np.concatenate(d) if d else np.zeros((0, 128), np.float16)
                if len(flat):
                    self.index.add_with_ids(np.ascontiguousarray(flat, np.float32),
                                            np.arange(m, m + len(flat), dtype=np.int64))
                fd.write(np.ascontiguousarray(flat).tobytes())
                fp.write(np.ascontiguousarray(np.concatenate(p) if p else
                                              np.zeros((0, 2), np.float16)).tobytes())
                starts.append(m + np.concatenate([[0], np.cumsum(c)[:-1]]).astype(np.int64))
                counts.append(c)
                m += len(flat)
                log(f"two-stage: {min(s + chunk, len(ids))}/{len(ids)} covers added")
        table = {"ids": np.concatenate([self.ids, ids]),
                 "start": np.concatenate([self.start] + starts),
                 "counts": np.concatenate([self.counts] + [c.astype(np.float32) for c in counts]),
                 "sizes": np.concatenate([self.sizes,
                                          np.asarray(sizes, np.float32).reshape(-1, 2)])}
        _save_index(self.folder, self.index, table)
        self.close()
        self.__init__(self.folder, self.index, table["ids"], table["start"], table["counts"],
                      table["sizes"], mmap=self.mmap)
        return self

    # ---- persistence ---------------------------------------------------------------------------
    @classmethod
    def load(cls, folder, mmap: bool = False, mmap_index: bool = False) -> "TwoStageFeatures":
        """The gallery in ``folder``; per-cover rows are read with ``pread`` (``mmap``: from
        numpy memory maps, whose touched pages count in the process's RSS — with large
        page-cache folios, far more than the covers read); ``mmap_index``: the faiss
        inverted lists stay on disk too (``IO_FLAG_MMAP``; read-only)."""
        import faiss

        folder = Path(folder)
        with np.load(folder / "covers.npz", allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"{folder}: not a two-stage gallery ({header.get('format')})")
            table = {k: z[k] for k in ("ids", "start", "counts", "sizes")}
        index = faiss.read_index(str(folder / "index.faiss"),
                                 faiss.IO_FLAG_MMAP if mmap_index else 0)
        if hasattr(index, "nprobe"):
            faiss.extract_index_ivf(index).nprobe = NPROBE
        return cls(folder, index, mmap=mmap, **table)

    def close(self) -> None:
        """Close the descriptor and point files (``pread`` mode)."""
        for store in (self.des, self.points):
            if isinstance(store, dict) and store.get("fd") is not None:
                os.close(store["fd"])
                store["fd"] = None

    def disk_bytes(self) -> dict:
        return {p.name: p.stat().st_size for p in sorted(self.folder.iterdir()) if p.is_file()}


def compressed_index(n: int, sample: np.ndarray, pq_bytes: int = PQ_BYTES):
    """An empty, trained faiss index of product-quantised descriptors (an inverted file
    above ``EXACT_MAX`` descriptors, a flat PQ below; ids = descriptor ids)."""
    import faiss

    sample = np.ascontiguousarray(sample, np.float32)
    if n <= EXACT_MAX:       # small galleries: a flat PQ (fewer centroids if few samples)
        bits = int(min(8, max(1, np.log2(max(2, len(sample))))))
        index = faiss.IndexIDMap2(faiss.IndexPQ(128, pq_bytes, bits))
    else:
        nlist = int(min(16384, max(256, 2 ** round(np.log2(1.5 * np.sqrt(n))))))
        nlist = min(nlist, max(1, len(sample) // 39))
        index = faiss.index_factory(128, f"IVF{nlist},PQ{pq_bytes}", faiss.METRIC_L2)
    index.train(sample)
    return index


def _describe(index) -> str:
    import faiss

    try:
        ivf = faiss.extract_index_ivf(index)
        return f"IVF{ivf.nlist},PQ{faiss.downcast_index(ivf).pq.M}"
    except RuntimeError:
        return f"PQ{PQ_BYTES}"


def _gather(des: list, take: np.ndarray) -> np.ndarray:
    """Rows ``take`` (sorted) of the concatenation of ``des`` without concatenating it."""
    ends = np.cumsum([len(d) for d in des])
    which = np.searchsorted(ends, take, side="right")
    offs = take - np.concatenate([[0], ends[:-1]])[which]
    return np.stack([des[w][o] for w, o in zip(which.tolist(), offs.tolist())]) \
        if len(take) else np.zeros((0, 128), np.float32)


def _open(path: Path, rows: int, cols: int, mmap: bool):
    if rows == 0:
        return np.zeros((0, cols), np.float16)
    if mmap:
        return np.memmap(path, np.float16, "r", shape=(rows, cols))
    return {"fd": os.open(path, os.O_RDONLY), "cols": cols}


def _save_index(folder: Path, index, table: dict) -> None:
    """index.faiss and covers.npz, each written atomically (the table last: a reader that
    sees it finds the descriptors it names)."""
    import faiss

    fd, tmp = tempfile.mkstemp(prefix="index.", suffix=".tmp", dir=folder)
    os.close(fd)
    faiss.write_index(index, tmp)
    os.replace(tmp, folder / "index.faiss")
    fd, tmp = tempfile.mkstemp(prefix="covers.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "wb") as f:
        np.savez(f, header=np.frombuffer(json.dumps({"format": FORMAT}).encode(), np.uint8),
                 **table)
    os.replace(tmp, folder / "covers.npz")
