"""Importers, one module per source format. Each is idempotent and transactional.

``run_import(catalog, source, paths)`` runs the importer named ``source`` inside one
transaction: a failure (or Ctrl-C) anywhere leaves the catalog exactly as it was.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from coverstory.catalog.importers.base import ImportError_, ImportReport

# source name -> module (each defines ``import_path(ctx, path)``)
IMPORTERS: dict[str, str] = {
    "goodbooks": "coverstory.catalog.importers.goodbooks",
    "bookdepository": "coverstory.catalog.importers.bookdepository",
    "googlebooks": "coverstory.catalog.importers.googlebooks",
    "csv": "coverstory.catalog.importers.generic",
    "jsonl": "coverstory.catalog.importers.generic",
    "goodreads-export": "coverstory.catalog.importers.goodreads_export",
}


def run_import(catalog, source: str, paths: list[str | Path], *, progress: bool = True,
               **options) -> ImportReport:
    from coverstory.catalog.importers.base import ImportContext

    if source not in IMPORTERS:
        raise ImportError_(f"unknown source {source!r}; choose one of: {', '.join(IMPORTERS)}")
    module = importlib.import_module(IMPORTERS[source])
    report = ImportReport(source=source)
    with catalog.transaction():
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise ImportError_(f"{path}: no such file or folder")
            ctx = ImportContext(catalog=catalog, report=report, source=source,
                                progress=progress, options=options)
            module.import_path(ctx, path)
    return report


__all__ = ["IMPORTERS", "ImportError_", "ImportReport", "run_import"]
