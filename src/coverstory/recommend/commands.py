"""CLI: ``coverstory recommend USER [-k 10]``, ``coverstory rate USER BOOK_ID RATING|like|dislike|read``
and ``coverstory build recommender``."""

from __future__ import annotations

import time

from coverstory.errors import CommandError


def _user(cat, spec: str, create: bool = False) -> int:
    """A catalog user id from '42' (catalog id) or an external id like 'goodbooks:58'."""
    spec = str(spec).strip()
    if spec.isdigit():
        uid = int(spec)
        if not cat.has_user(uid):
            raise CommandError(f"no user with id {uid}; use an external id such as goodbooks:58")
        return uid
    if ":" not in spec:
        raise CommandError(f"USER must be a catalog id or an external id 'source:id', got {spec!r}")
    uid = cat.user_id(spec)
    if uid is None:
        if not create:
            raise CommandError(f"no user {spec!r} in the catalog (rate a book first to create one)")
        uid = cat.ensure_user(spec)
    return uid


def add_recommend_arguments(p) -> None:
    p.add_argument("user", help="catalog user id or external id (e.g. goodbooks:58)")
    p.add_argument("-k", type=int, default=10, help="how many books (default 10)")


def recommend(args) -> dict:
    from coverstory.recommend.service import RecommendService

    svc = RecommendService(getattr(args, "home", None))
    uid = _user(svc.catalog, args.user)
    t0 = time.perf_counter()
    hits = svc.recommend(uid, k=args.k)
    ms = (time.perf_counter() - t0) * 1000
    books = {b.id: b for b in svc.catalog.books([h.book_id for h in hits])}
    lines = [f"Recommendations for user {uid} ({len(svc.catalog.user_ratings(uid))} ratings):"]
    if svc.missing:
        lines.insert(0, "note: no saved recommender, so these are popular books; build one "
                        "with `coverstory build recommender`")
    for n, h in enumerate(hits, 1):
        b = books.get(h.book_id)
        title = f"{b.title} — {b.author}" if b else f"book {h.book_id}"
        lines.append(f"{n:>2}. [{h.book_id}] {title}\n      {h.reason}")
    return {"user_id": uid, "hits": [h.to_dict() for h in hits], "ms": round(ms, 1),
            "model": svc.stamp, "text": "\n".join(lines)}


def add_rate_arguments(p) -> None:
    p.add_argument("user", help="catalog user id or external id (created if new)")
    p.add_argument("book_id", type=int, help="catalog book id")
    p.add_argument("rating", help="1-5, or like / dislike / read")


def rate(args) -> dict:
    from coverstory.recommend.service import FEEDBACK_RATINGS, RecommendService

    svc = RecommendService(getattr(args, "home", None))
    uid = _user(svc.catalog, args.user, create=True)
    value = str(args.rating).strip().lower()
    if value in FEEDBACK_RATINGS:
        kind, rating = value, None
    else:
        try:
            rating = float(value)
        except ValueError:
            raise CommandError(f"RATING must be 1-5 or like/dislike/read, got {args.rating!r}")
        if not 1 <= rating <= 5:
            raise CommandError(f"RATING must be between 1 and 5, got {rating}")
        kind = "like" if rating >= 4 else ("dislike" if rating <= 2 else "read")
    try:
        svc.feedback(uid, args.book_id, kind, rating)
    except ValueError as e:
        raise CommandError(str(e)) from e
    book = svc.catalog.book(args.book_id)
    return {"user_id": uid, "book_id": args.book_id, "kind": kind, "rating": rating,
            "text": f"user {uid}: {kind} '{book.title}'" + (f" ({rating:g}/5)" if rating else "")}


def build_recommender(args) -> dict:
    """Fit the default hybrid on the catalog's ratings + built features; save it."""
    from coverstory.config import home_dir
    from coverstory.recommend.service import fit_catalog_model, save_model

    home = home_dir(getattr(args, "home", None))
    method = getattr(args, "method", None)
    if method not in (None, "hybrid"):
        raise CommandError(f"build recommender fits the hybrid (got --method {method!r}); "
                           "other models are compared by `coverstory bench recommend`")
    notes = []
    t0 = time.time()
    try:
        model, book_ids = fit_catalog_model(home, light=bool(getattr(args, "quick", False)),
                                            log=notes.append)
    except (FileNotFoundError, ValueError) as e:
        raise CommandError(str(e)) from e
    path = save_model(model, book_ids, home)
    secs = time.time() - t0
    blocks = model.content_blocks
    text = (f"hybrid fitted on {model.train_.nnz:,} ratings of {model.n_users:,} readers over "
            f"{model.n_items:,} books (content: {', '.join(blocks)}) in {secs:.0f} s; "
            f"saved to {path}" + ("".join(f"\n  note: {n}" for n in notes)))
    return {"path": str(path), "seconds": round(secs, 1), "ratings": int(model.train_.nnz),
            "books": int(model.n_items), "blocks": blocks, "notes": notes, "text": text}
