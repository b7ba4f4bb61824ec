"""CLI: ``coverstory search text|photo``, ``coverstory similar``, ``coverstory build index``."""

from __future__ import annotations

import sys
import time

from coverstory.errors import CommandError


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
    res = svc.photo(args.query, k=args.k, use_ocr=bool(getattr(args, "ocr", False)))
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
    hits = svc.similar(args.book_id, k=args.k)          # NotFound: mapped by the CLI
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
    """``coverstory build index [--method PART]``: see :func:`coverstory.search.build.build_index`."""
    from coverstory.artifacts import index_dir
    from coverstory.config import home_dir
    from coverstory.search.build import build_index as build

    home = home_dir(getattr(args, "home", None))
    report = build(home, getattr(args, "method", None), force=bool(getattr(args, "force", False)),
                   quick=bool(getattr(args, "quick", False)))
    return {**report, "folder": str(index_dir(home)),
            "text": "\n".join(f"{k}: {v}" for k, v in report.items())}
