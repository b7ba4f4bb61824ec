"""CLI: ``coverstory import``, ``coverstory info``, and a reader's data: ``coverstory
user-data USER``, ``coverstory forget USER``, ``coverstory purge-chats``."""

from __future__ import annotations

from pathlib import Path

from coverstory.artifacts import recommender_saved
from coverstory.errors import CommandError


def add_import_arguments(p) -> None:
    from coverstory.catalog.importers import IMPORTERS

    p.add_argument("source", choices=list(IMPORTERS), help="format of PATH")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file(s) or folder(s) to import")
    p.add_argument("--user", help="goodreads-export: the reader's name (default: file name)")
    p.add_argument("--source-name", help="csv/jsonl: name this catalog's source (default csv/jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def import_(args) -> dict:
    import sys

    from coverstory.jobs import import_books

    return import_books(args.home, args.source, args.paths, user=args.user,
                        source_name=args.source_name, progress=not args.no_progress,
                        on_wait=lambda msg: print(msg, file=sys.stderr, flush=True))


def add_info_arguments(p) -> None:
    pass


def info(args) -> dict:
    from coverstory.catalog import Catalog

    cat = Catalog.open(args.home)
    stats = cat.stats()
    built = built_artifacts(cat.home)
    out = {"home": str(cat.home), **stats, "built": built}
    lines = [f"home: {cat.home}",
             f"books: {stats['books']} ({stats['books_with_description']} with description, "
             f"{stats['books_with_cover']} with cover, "
             f"{stats['books_with_pages']} with page count)",
             "by source: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["books_by_source"].items())),
             f"ratings: {stats['ratings']} from {stats['users_with_ratings']} users "
             f"({stats['users']} users in all); events: {stats['events']}",
             f"OCR texts: {stats['ocr_texts']}; sessions: {stats['sessions']}",
             "built: " + (", ".join(f"{k}/{v}" for k, vs in built.items() for v in vs) or "nothing yet")]
    out["text"] = "\n".join(lines)
    return out


def built_artifacts(home: Path) -> dict[str, list[str]]:
    """What lies in the home's features/, models/ and indexes/ folders."""
    out = {}
    for sub in ("features", "models", "indexes"):
        d = Path(home) / sub
        if d.is_dir():
            out[sub] = sorted(str(p.relative_to(d)) for p in d.rglob("*")
                              if p.is_file() and p.suffix in (".json",))
    return out


# ---- a reader's data (catalog/privacy.py) -------------------------------------------------
def _reader(cat, spec: str) -> int:
    from coverstory.catalog.privacy import resolve_user

    try:
        return resolve_user(cat, spec)
    except (KeyError, ValueError) as e:
        raise CommandError(str(e).strip("'\"")) from None


def add_user_data_arguments(p) -> None:
    p.add_argument("user", help="catalog user id or external id (goodbooks:58, session:<cookie>)")


def user_data(args) -> dict:
    """Everything kept about one reader (ratings, events, profiles, chat sessions)."""
    import json

    from coverstory.catalog import Catalog
    from coverstory.catalog.privacy import reader_data

    cat = Catalog.open(args.home)
    data = reader_data(cat, _reader(cat, args.user))
    return {**data, "text": json.dumps(data, indent=2, ensure_ascii=False, default=str)}


def add_forget_arguments(p) -> None:
    p.add_argument("user", help="catalog user id or external id (goodbooks:58, session:<cookie>)")


def forget(args) -> dict:
    """Erase one reader: their user row, ratings, events, profiles and chat sessions."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.privacy import forget_reader

    cat = Catalog.open(args.home)
    uid = _reader(cat, args.user)
    counts = forget_reader(cat, uid)
    saved = recommender_saved(cat.home)
    text = (f"user {uid} forgotten: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if saved and counts["ratings"]:
        text += ("\nthe saved recommender was fitted on the catalog's ratings and may still "
                 "hold theirs: run `coverstory build recommender` (a running server rebuilds "
                 "it by itself after DELETE /api/admin/users/ID)")
    return {"user_id": uid, "deleted": counts, "rebuild_needed": bool(saved and counts["ratings"]),
            "text": text}


def add_purge_chats_arguments(p) -> None:
    p.add_argument("--days", type=float, default=None,
                   help="keep this many days (default: the chat_retention_days setting, 30)")


def purge_chats(args) -> dict:
    """Delete chat turns and chat sessions older than the retention period."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.privacy import purge_chats as purge

    if args.days is not None and not args.days >= 0:
        raise CommandError(f"--days must be >= 0, got {args.days}")
    try:
        counts = purge(Catalog.open(args.home), args.days)
    except ValueError as e:
        raise CommandError(str(e)) from None
    if counts["days"] <= 0:
        return {**counts, "text": "chat turns are kept forever (retention 0 days): nothing purged"}
    return {**counts, "text": f"purged {counts['events']} chat events and {counts['sessions']} "
                              f"chat sessions older than {counts['days']:g} days"}
