"""CLI: ``coverstory search text|photo``, ``coverstory similar``, ``coverstory build index``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from coverstory.cli import CommandError


def add_search_arguments(p) -> None:
    p.add_argument("mode", choices=["text", "photo", "fit-text"],
                   help="search by a text query or a photo; fit-text: fit the text ranker "
                        "on the dev queries (docs/search.md)")
    p.add_argument("query", nargs="?", help="the text query, or the path of a photo of a cover")
    p.add_argument("--package", action="store_true",
                   help="fit-text: write the packaged default model "
                        "(src/coverstory/search/data/textsearch_ranker.json) instead of "
                        "<home>/models/textsearch_ranker.json")
    p.add_argument("--also-home", action="append", default=[], metavar="HOME",
                   help="fit-text: also featurise the dev queries on this home's catalog "
                        "(one model for catalogs of different make-up; repeatable)")
    p.add_argument("-k", type=int, default=10, help="how many books (default 10)")
    p.add_argument("--ocr", action="store_true",
                   help="photo: also read the cover's text when the image match is ambiguous "
                        "(slower; off by default, see docs/benchmarks/photo.md)")


def add_similar_arguments(p) -> None:
    p.add_argument("book_id", type=int, help="catalog book id")
    p.add_argument("-k", type=int, default=10, help="how many books (default 10)")


def _service(args):
    from coverstory.search.service import SearchService

    return SearchService(getattr(args, "home", None))


def _rows(svc, hits) -> list[dict]:
    out = []
    for h in hits:
        b = svc.books.get(h.book_id)
        out.append({"id": h.book_id, "title": b.title if b else None,
                    "authors": b.authors if b else [], "year": b.year if b else None,
                    "score": h.score, "reason": h.reason, "details": h.details})
    return out


def _lines(rows: list[dict]) -> list[str]:
    return [f"{i:>2}. [{r['id']}] {r['title']} — {', '.join(r['authors']) or '?'}"
            f"  ({r['score']:.3f}; {r['reason']})" for i, r in enumerate(rows, 1)]


def search(args) -> dict:
    from coverstory.search.errors import BadImage

    if args.mode == "fit-text":
        return fit_text(args)
    if not args.query:
        raise CommandError(f"coverstory search {args.mode}: give a query")
    svc = _service(args)
    t = time.perf_counter()
    if args.mode == "text":
        hits = svc.text(args.query, k=args.k)
        rows = _rows(svc, hits)
        ms = (time.perf_counter() - t) * 1000
        return {"mode": "text", "query": args.query, "results": rows, "ms": round(ms, 1),
                "text": "\n".join(_lines(rows)) or "no books found"}
    try:
        res = svc.photo(args.query, k=args.k, use_ocr=bool(getattr(args, "ocr", False)))
    except BadImage as e:
        raise CommandError(str(e)) from e
    ms = (time.perf_counter() - t) * 1000
    rows = _rows(svc, res.hits)
    sugg = _rows(svc, res.suggestions)
    if res.in_catalog:
        text = "In the catalog:\n" + "\n".join(_lines(rows))
    else:
        text = ("Not in the catalog (no cover matched well enough). Similar books:\n"
                + "\n".join(_lines(sugg)))
    return {"mode": "photo", "query": args.query, "in_catalog": res.in_catalog,
            "best": rows[0] if res.in_catalog and rows else None, "results": rows,
            "suggestions": sugg, "details": res.details, "ms": round(ms, 1), "text": text}


def similar(args) -> dict:
    svc = _service(args)
    try:
        hits = svc.similar(args.book_id, k=args.k)
    except KeyError as e:
        raise CommandError(str(e.args[0])) from e
    b = svc.books[args.book_id]
    rows = _rows(svc, hits)
    return {"book": {"id": b.id, "title": b.title, "authors": b.authors}, "results": rows,
            "text": f"Books like [{b.id}] {b.title}:\n" + "\n".join(_lines(rows))}


def fit_text(args) -> dict:
    """Fit the text ranker (query types + per-type weights) on the dev split only."""
    from coverstory.catalog import Catalog
    from coverstory.search import querysets, ranker
    from coverstory.search.service import SearchService

    log = lambda m: print(f"[fit-text] {m}", file=sys.stderr, flush=True)  # noqa: E731
    homes = [getattr(args, "home", None), *getattr(args, "also_home", [])]
    samples = []
    for i, home in enumerate(homes):
        s = SearchService(home, log=log)
        if i == 0:
            svc = s
        cat = Catalog.open(s.home)
        try:
            def by_gid(gid, s=s, cat=cat):
                bid = cat.find_book(source=("goodbooks", str(gid)))
                return s.books.get(bid) if bid is not None else None

            queries = querysets.load(books_by_source=by_gid)
        finally:
            cat.close()
        dev = [q for q in querysets.resolve(queries, s.books) if q["split"] == "dev" and q["ids"]]
        ts = s.text_search
        t = time.time()
        samples += ranker.samples_from(ts, dev, log=log) + ranker.like_samples(ts, dev)
        log(f"{len(dev)} dev queries featurised on {s.home} ({len(s.books)} books) in "
            f"{time.time() - t:.0f} s")
    ts = svc.text_search
    model, meta = ranker.fit(samples, log=log)
    meta.update({"home": ", ".join(str(SearchService(h, log=log).home) for h in homes),
                 "books": len(svc.books),
                 "passages": bool(ts.passages is not None), "minilm": ts.sem_vecs is not None,
                 "command": "coverstory search fit-text" + (" --package" if args.package else "")
                 + "".join(f" --also-home {h}" for h in getattr(args, "also_home", []))})
    from coverstory.search.ranker import HOME_MODEL, NO_PRIOR_SUFFIX, PACKAGED

    path = PACKAGED if args.package else svc.home.joinpath(*HOME_MODEL)
    model.save(path)
    model.ablation.save(path.with_name(path.name.replace(".json", NO_PRIOR_SUFFIX)))
    cv = meta["cv"]
    lines = [f"model: {path}", f"chosen: {meta['chosen']}",
             "dev 5-fold CV: " + ", ".join(f"{t} Hit@1 {cv[t]['hit@1']:.3f} Hit@5 {cv[t]['hit@5']:.3f} (n={cv[t]['n']})"
                                             for t in ranker.RANKED_TYPES if t in cv),
             f"type accuracy {cv['type_accuracy']:.3f}",
             "without the popularity prior (ablation, same folds): " + ", ".join(
                 f"{t} Hit@1 {meta['no_prior_cv'][t]['hit@1']:.3f} Hit@5 "
                 f"{meta['no_prior_cv'][t]['hit@5']:.3f}" for t in ranker.RANKED_TYPES
                 if t in meta["no_prior_cv"])]
    return {"model": str(path), **meta, "text": "\n".join(lines)}


# ---- coverstory build index --------------------------------------------------------------
def build_index(args) -> dict:
    """Build and save the search indexes under <home>/indexes/.

    bm25 and bm25_names (text), passages (MiniLM vectors of description sentences), text
    (MiniLM vectors; ``--method text-only`` stops after these), cover (Lite0 gallery vectors, checked against the
    photo embedder), photo (head-projected gallery, when a photo head exists or
    ``--method photo-head`` trains one), fused (when the fusion helper exported one) and
    cover_features (local features of every cover for photo search; ``--method local-only``
    stops after it, before the cover vectors).

    One part alone, for build steps run side by side (``coverstory build lexical``, ``build
    all --jobs N``, the server's background build): ``--method bm25`` (the lexical indexes),
    ``passages``, ``local`` (cover_features) or ``vectors`` (text, fused, cover and photo:
    the indexes made from the feature cache).
    """
    from coverstory.config import home_dir
    from coverstory.index import make_index
    from coverstory.search.service import TEXT_FEATURE, SearchService, _fused_feature

    home = home_dir(getattr(args, "home", None))
    parts = INDEX_PARTS.get(getattr(args, "method", None), INDEX_PARTS[None])
    out = home / "indexes"
    out.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(f"[build index] {m}", file=sys.stderr, flush=True)  # noqa: E731
    svc = SearchService(home, log=log)
    report: dict = {}

    def done() -> dict:
        return {**report, "folder": str(out),
                "text": "\n".join(f"{k}: {v}" for k, v in report.items())}

    from coverstory.catalog import Catalog

    books = list(svc.books.values())
    if "bm25" in parts:
        cat = Catalog.open(home)
        try:
            ocr = {b: txt for b, (_, txt) in cat.ocr_texts("rapidocr").items()}
        finally:
            cat.close()
        _build_bm25(out, books, ocr, report, log)
    if "passages" in parts:
        _build_passages(out, books, svc, args, report, log)

    def save_vectors(name, ids, vecs):
        t = time.time()
        idx = make_index(vecs.shape[1], len(ids))
        idx.add(ids, vecs)
        idx.save(out / f"{name}.npz")
        report[name] = {"vectors": int(len(ids)), "dim": int(vecs.shape[1]), "kind": idx.kind,
                        "seconds": round(time.time() - t, 1)}
        log(f"{name}: {len(ids)} x {vecs.shape[1]} ({idx.kind})")

    if "vectors" in parts:
        got = svc.features(TEXT_FEATURE, allow_compute=False)
        if got is not None:
            save_vectors("text", *got)
        else:
            report["text"] = f"skipped: run `coverstory build features` for {TEXT_FEATURE}"
        fused = _fused_feature(home)
        if fused and svc.features(fused, allow_compute=False) is not None:
            save_vectors("fused", *svc.features(fused, allow_compute=False))
    if "local" not in parts and "gallery" not in parts:
        return done()
    if "local" in parts:
        _build_local(out, books, args, report, log)
    if "gallery" not in parts:
        return done()
    ids, vecs, source = gallery_vectors(svc, log=log, quick=bool(getattr(args, "quick", False)))
    report["cover_source"] = source
    if len(ids):
        save_vectors("cover", ids, vecs)
        if getattr(args, "method", None) == "photo-head":
            report["photo_head"] = train_photo_head(svc, ids, vecs, log=log,
                                                    quick=bool(getattr(args, "quick", False)))
        from coverstory.search.embedders import HEAD_DIR
        from coverstory.search.photo_head import PhotoHead

        head_dir = home.joinpath(*HEAD_DIR)
        if PhotoHead.exists(head_dir):
            save_vectors("photo", ids, PhotoHead.load(head_dir).project(vecs))
    return done()


# --method -> the parts of `build index` it builds (unknown or none: every part)
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


def _build_passages(out, books, svc, args, report, log) -> None:
    from coverstory.search.passages import PassageIndex
    from coverstory.search.service import PASSAGES_FILE

    t = time.time()
    ppath = out / PASSAGES_FILE
    old = PassageIndex.load(ppath) if ppath.exists() and not getattr(args, "force", False) else None
    if old is None or old.stale(books):
        PassageIndex.build(books, svc._encode_texts, log=log).save(ppath)
    pidx = PassageIndex.load(ppath)
    report["passages"] = {"passages": len(pidx), "books": len(pidx.hashes),
                          "seconds": round(time.time() - t, 1)}
    log(f"passages: {len(pidx)} description passages of {len(pidx.hashes)} books")


def _build_local(out, books, args, report, log) -> None:
    from coverstory.encoders.base import default_threads
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.service import COVER_FEATURES_FILE

    t = time.time()
    covers = {b.id: b.cover_path for b in books if b.cover_path}
    local_path = out / COVER_FEATURES_FILE
    if local_path.exists() and not getattr(args, "force", False):
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


def gallery_vectors(svc, log=print, quick: bool = False, sample: int = 8,
                    max_embed: int | None = None):
    """(ids, unit Lite0 vectors, source) of every book with a cover.

    Uses the cached feature when it agrees with the photo embedder on ``sample`` covers
    (cosine >= 0.98); otherwise re-embeds the covers with it (unless there are more than
    ``max_embed`` covers: then it raises, naming the command that does it once).
    """
    import numpy as np
    from PIL import Image

    from coverstory.search.embedders import Lite0Embedder
    from coverstory.search.service import COVER_FEATURE

    covers = {b.id: b.cover_path for b in svc.books.values() if b.cover_path}
    emb = Lite0Embedder(svc.home)
    have_ids, have = np.zeros(0, np.int64), np.zeros((0, 1280), np.float32)
    source = "embedded with the photo embedder"
    got = svc.features(COVER_FEATURE, allow_compute=False)
    if got is not None:
        ids, vecs = got
        keep = np.asarray([int(i) in covers for i in ids.tolist()], bool)
        ids, vecs = ids[keep], vecs[keep]
        rng = np.random.default_rng(0)
        pick = rng.choice(len(ids), min(sample, len(ids)), replace=False) if len(ids) else []
        mine = emb([Image.open(covers[int(ids[i])]).convert("RGB") for i in pick])
        agree = float(np.min(np.sum(mine * vecs[pick], axis=1))) if len(mine) else 0.0
        if agree >= 0.98:
            have_ids, have = ids, vecs
            source = f"feature cache {COVER_FEATURE} (agreement {agree:.3f})"
        else:
            log(f"the cached {COVER_FEATURE} disagrees with the photo embedder (min cosine "
                f"{agree:.3f}); re-embedding the gallery")
    present = set(have_ids.tolist())
    todo = np.asarray(sorted(b for b in covers if b not in present), np.int64)
    if max_embed is not None and len(todo) > max_embed:
        if len(have_ids):
            log(f"{len(todo)} covers have no cached vector yet; searching the other "
                f"{len(have_ids)} (`coverstory build index` embeds the rest)")
            return have_ids, have, source + f", {len(todo)} covers missing"
        raise CommandError(f"no usable cover vectors for {len(todo)} covers in {svc.home}; run "
                           f"`coverstory --home {svc.home} build index` once")
    t = time.time()
    vecs = [have]
    for s in range(0, len(todo), 64):
        chunk = todo[s:s + 64]
        vecs.append(emb([Image.open(covers[int(i)]).convert("RGB") for i in chunk]))
        if (s // 64) % 40 == 0:
            log(f"gallery: {s + len(chunk)}/{len(todo)} covers embedded ({time.time() - t:.0f} s)")
    if len(todo):
        source += f" + {len(todo)} embedded now"
    ids = np.concatenate([have_ids, todo])
    order = np.argsort(ids, kind="stable")
    return ids[order], np.concatenate(vecs)[order], source


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
