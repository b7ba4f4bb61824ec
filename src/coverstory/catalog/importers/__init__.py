"""Importers, one module per source format. Each is idempotent and transactional.

``run_import(catalog, source, paths)`` runs the importer named ``source`` against a staged
copy of the catalog and merges the result in one short transaction: a failure (or Ctrl-C)
anywhere leaves the catalog exactly as it was, and the write lock is held only for the merge.
"""

from __future__ import annotations

from pathlib import Path

from coverstory.catalog.importers.base import ImportError_, ImportReport
from coverstory.registry import lookup

# source name -> its ``import_path(ctx, path)``, loaded on first use (coverstory.registry)
IMPORTERS: dict[str, str] = {
    "goodbooks": "coverstory.catalog.importers.goodbooks:import_path",
    "bookdepository": "coverstory.catalog.importers.bookdepository:import_path",
    "googlebooks": "coverstory.catalog.importers.googlebooks:import_path",
    "csv": "coverstory.catalog.importers.generic:import_path",
    "jsonl": "coverstory.catalog.importers.generic:import_path",
    "goodreads-export": "coverstory.catalog.importers.goodreads_export:import_path",
}


def run_import(catalog, source: str, paths: list[str | Path], *, progress: bool = True,
               on_wait=None, lock_timeout: float | None = None, **options) -> ImportReport:
    """Import ``paths`` with the importer named ``source``; all or nothing.

    The rows are staged in a private copy of the catalog and merged in one short
    transaction (see catalog/staging.py), so readers' writes go on during the import.
    One import per data home at a time: a second waits (``on_wait`` gets a message saying
    so; ``lock_timeout`` seconds at most, then TimeoutError). Called inside an open
    transaction of ``catalog``, the import joins that transaction instead.
    """
    import time

    from coverstory.catalog.importers.base import ImportContext
    from coverstory.catalog.staging import import_lock, merge, staged_copy

    import_path = lookup(IMPORTERS, source, "source", error=ImportError_)
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise ImportError_(f"{path}: no such file or folder")
    report = ImportReport(source=source)

    def run(target) -> None:
        for path in paths:
            ctx = ImportContext(catalog=target, report=report, source=source,
                                progress=progress, options=options)
            import_path(ctx, path)

    if catalog.conn.in_transaction:
        with catalog.transaction():
            run(catalog)
        return report
    with import_lock(catalog.home, on_wait=on_wait, timeout=lock_timeout):
        with staged_copy(catalog) as staged:
            with staged.transaction():
                run(staged)
            t0 = time.perf_counter()
            merge(staged, catalog)
            report.write_lock_seconds = round(time.perf_counter() - t0, 3)
    return report


__all__ = ["IMPORTERS", "ImportError_", "ImportReport", "run_import"]
