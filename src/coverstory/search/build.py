"""Building the search indexes under ``<home>/indexes/`` (``coverstory build index``).

bm25 and bm25_names (text), passages (MiniLM vectors of description sentences), text
(MiniLM vectors), cover (Lite0 gallery vectors, checked against the photo embedder), photo
(head-projected gallery, when a photo head exists or ``method="photo-head"`` trains one),
fused (when the fusion helper exported one) and cover_features (local features of every
cover for photo search). :data:`INDEX_PARTS` says which parts each ``method`` builds.

>>> report = build_index("/work/homes/demo", method="bm25")      # doctest: +SKIP
>>> report["bm25"]["books"]                                     # doctest: +SKIP
10000
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from coverstory.artifacts import (COVER_FEATURES_FILE, PASSAGES_FILE, TEXT_FEATURE,
                                  fused_feature, index_dir)

# method -> the parts of `build index` it builds (unknown or none: every part)
INDEX_PARTS: dict[str | None, set[str]] = {
    None: {"bm25", "passages", "vectors", "local", "gallery"},
    "photo-head": {"bm25", "passages", "vectors", "local", "gallery"},
    "text-only": {"bm25", "passages", "vectors"},
    "local-only": {"bm25", "passages", "vectors", "local"},
    "bm25": {"bm25"},
    "passages": {"passages"},
    "local": {"local"},
    "vectors": {"vectors", "gallery"},
}


def _stderr(m: str) -> None:
    print(f"[build index] {m}", file=sys.stderr, flush=True)


def build_index(home, method: str | None = None, *, force: bool = False, quick: bool = False,
                log=_stderr) -> dict:
    """Build and save the index parts that ``method`` names; returns a report per part.

    One part alone, for build steps run side by side (``coverstory build lexical``, ``build
    all --jobs N``, the server's background build): ``bm25`` (the lexical indexes),
    ``passages``, ``local`` (cover_features) or ``vectors`` (text, fused, cover and photo:
    the indexes made from the feature cache). ``text-only`` stops after the text vectors,
    ``local-only`` after the cover features.
    """
    from coverstory.catalog import Catalog
    from coverstory.config import home_dir
    from coverstory.search.service import SearchService

    home = home_dir(home)
    parts = INDEX_PARTS.get(method, INDEX_PARTS[None])
    out = index_dir(home)
    out.mkdir(parents=True, exist_ok=True)
    svc = SearchService(home, log=log)
    report: dict = {}
    books = list(svc.books.values())
    if "bm25" in parts:
        cat = Catalog.open(home)
        try:
            ocr = {b: txt for b, (_, txt) in cat.ocr_texts("rapidocr").items()}
        finally:
            cat.close()
        _build_bm25(out, books, ocr, report, log)
    if "passages" in parts:
        _build_passages(out, books, svc, force, report, log)
    if "vectors" in parts:
        got = svc.features(TEXT_FEATURE, allow_compute=False)
        if got is not None:
            _save_vectors(out, "text", *got, report=report, log=log)
        else:
            report["text"] = f"skipped: run `coverstory build features` for {TEXT_FEATURE}"
        fused = fused_feature(home)
        if fused and svc.features(fused, allow_compute=False) is not None:
            _save_vectors(out, "fused", *svc.features(fused, allow_compute=False),
                          report=report, log=log)
    if "local" in parts:
        _build_local(out, books, force, report, log)
    if "gallery" in parts:
        _build_gallery(out, svc, method, quick, report, log)
    return report


def _save_vectors(out: Path, name: str, ids, vecs, *, report: dict, log) -> None:
    from coverstory.index import make_index

    t = time.time()
    idx = make_index(vecs.shape[1], len(ids))
    idx.add(ids, vecs)
    idx.save(out / f"{name}.npz")
    report[name] = {"vectors": int(len(ids)), "dim": int(vecs.shape[1]), "kind": idx.kind,
                    "seconds": round(time.time() - t, 1)}
    log(f"{name}: {len(ids)} x {vecs.shape[1]} ({idx.kind})")


def _build_gallery(out: Path, svc, method, quick: bool, report: dict, log) -> None:
    from coverstory.search.embedders import HEAD_DIR
    from coverstory.search.gallery import gallery_vectors
    from coverstory.search.photo_head import PhotoHead

    ids, vecs, source = gallery_vectors(svc, log=log, quick=quick)
    report["cover_source"] = source
    if not len(ids):
        return
    _save_vectors(out, "cover", ids, vecs, report=report, log=log)
    if method == "photo-head":
        report["photo_head"] = train_photo_head(svc, ids, vecs, log=log, quick=quick)
    head_dir = svc.home.joinpath(*HEAD_DIR)
    if PhotoHead.exists(head_dir):
        _save_vectors(out, "photo", ids, PhotoHead.load(head_dir).project(vecs),
                      report=report, log=log)


def _build_bm25(out, books, ocr, report, log) -> None:
    from coverstory.search.bm25 import BM25
    from coverstory.search.text import DOC_VERSION, book_document, name_document

    t = time.time()
    docs = [book_document(b, ocr.get(b.id, "")) for b in books]
    bm = BM25().fit([d for d, _ in docs], [w for _, w in docs])
    bm.save(out / "bm25.npz")
    docs = [name_document(b) for b in books]
    BM25(k1=1.2, b=0.5).fit([d for d, _ in docs], [w for _, w in docs]).save(out / "bm25_names.npz")
    (out / "bm25.json").write_text(json.dumps({"book_ids": [b.id for b in books],
                                               "ocr_texts": len(ocr),
                                               "doc_version": DOC_VERSION}))
    report["bm25"] = {"books": len(books), "terms": len(bm.vocab), "seconds": round(time.time() - t, 1)}
    log(f"bm25: {len(books)} books, {len(bm.vocab)} terms")


def _build_passages(out, books, svc, force: bool, report, log) -> None:
    from coverstory.search.passages import PassageIndex

    t = time.time()
    ppath = out / PASSAGES_FILE
    old = PassageIndex.load(ppath) if ppath.exists() and not force else None
    if old is None or old.stale(books):
        PassageIndex.build(books, svc._encode_texts, log=log).save(ppath)
    pidx = PassageIndex.load(ppath)
    report["passages"] = {"passages": len(pidx), "books": len(pidx.hashes),
                          "seconds": round(time.time() - t, 1)}
    log(f"passages: {len(pidx)} description passages of {len(pidx.hashes)} books")


def _build_local(out, books, force: bool, report, log) -> None:
    from coverstory.encoders.base import default_threads
    from coverstory.search.local_features import CoverFeatures

    t = time.time()
    covers = {b.id: b.cover_path for b in books if b.cover_path}
    local_path = out / COVER_FEATURES_FILE
    if local_path.exists() and not force:
        local = CoverFeatures.load(local_path)
        if set(local.row) != set(covers):            # unchanged: no 0.9 GB rewrite
            local.updated(covers, log=log).save(local_path)
    else:
        local = CoverFeatures.build(covers, log=log, workers=default_threads())
        local.save(local_path)
    (out / "cover_words.npz").unlink(missing_ok=True)       # the visual-words index it replaces
    report["cover_features"] = {"covers": len(local), "descriptors": local.descriptors,
                                "kind": local.kind, "seconds": round(time.time() - t, 1)}
    log(f"cover features: {len(local)} covers, {local.descriptors} descriptors ({local.kind})")


def train_photo_head(svc, ids, vecs, log=print, quick: bool = False, n_books: int = 3000) -> dict:
    """Train the photo projection head on phone photos of ``n_books`` random covers."""
    import numpy as np

    from coverstory.search.embedders import HEAD_DIR, Lite0Embedder
    from coverstory.search.photo_head import TRAIN_SEED_BASE, photo_crop_vectors, train_head

    t = time.time()
    covers = {b.id: b.cover_path for b in svc.books.values() if b.cover_path}
    rng = np.random.default_rng(123)
    n = min(300 if quick else n_books, len(ids))
    pick = rng.choice(len(ids), n, replace=False)
    emb = Lite0Embedder(svc.home)
    pv, owner = photo_crop_vectors([covers[int(ids[i])] for i in pick], emb,
                                   [TRAIN_SEED_BASE + int(i) for i in pick], log=log)
    head = train_head(pv, owner, vecs[pick], vecs, log=log)
    head.config["train_seconds"] = round(time.time() - t, 1)
    head.save(Path(svc.home).joinpath(*HEAD_DIR))
    return head.config
