"""CLI: ``coverstory import`` and ``coverstory info``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from coverstory.cli import CommandError


def add_import_arguments(p) -> None:
    from coverstory.catalog.importers import IMPORTERS

    p.add_argument("source", choices=list(IMPORTERS), help="format of PATH")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file(s) or folder(s) to import")
    p.add_argument("--user", help="goodreads-export: the reader's name (default: file name)")
    p.add_argument("--source-name", help="csv/jsonl: name this catalog's source (default csv/jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def import_(args) -> dict:
    import sys

    from coverstory.catalog import Catalog
    from coverstory.catalog.importers import ImportError_, run_import
    from coverstory.catalog.store import is_busy_error

    cat = Catalog.open(args.home)
    t0 = time.time()
    try:
        report = run_import(cat, args.source, args.paths, progress=not args.no_progress,
                            user=args.user, source_name=args.source_name,
                            on_wait=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ImportError_ as e:
        raise CommandError(f"{e} (nothing was imported)") from e
    except TimeoutError as e:
        raise CommandError(f"{e} (nothing was imported)") from e
    except sqlite3.OperationalError as e:
        if not is_busy_error(e):
            raise
        raise CommandError(f"the catalog in {cat.home} stayed locked by another process for "
                           f"more than 30 s; nothing was imported: try again") from e
    seconds = time.time() - t0
    out = report.to_dict()
    out["seconds"] = round(seconds, 1)
    out["text"] = report.summary() + f"\n({seconds:.1f} s)"
    return out


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
