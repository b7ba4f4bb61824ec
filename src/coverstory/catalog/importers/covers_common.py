"""Shared by the cover-folder importers (Book Depository, Google Books): CSV + image folder."""

from __future__ import annotations

from pathlib import Path

from coverstory.catalog.importers.base import ImportContext, ImportError_, check_cover, read_csv


def resolve_csv(path: Path, name: str) -> tuple[Path, Path]:
    """(csv file, folder the `file` column is relative to) for a CSV or its parent folder."""
    if path.is_dir():
        csv_path = path / f"{name}.csv"
        if not csv_path.is_file():
            raise ImportError_(f"{path}: no {name}.csv in this folder")
        return csv_path, path
    return path, path.parent


def import_cover_csv(ctx: ImportContext, path: Path, name: str, required: list[str], to_fields):
    """Each row -> (source_id, fields, categories) via ``to_fields(row)``; cover from `file`."""
    csv_path, root = resolve_csv(path, name)
    rep = ctx.report
    for row in read_csv(csv_path, rep, required=required, progress=ctx.progress, desc=name):
        rep.read += 1
        try:
            source_id, fields, categories = to_fields(row.data)
        except ValueError as e:
            rep.problem(csv_path, row.line, str(e))
            continue
        if row.data.get("file"):
            cover, sha = check_cover(ctx, root / row.data["file"], csv_path, row.line)
            if cover:
                fields.update(cover_path=cover, cover_sha256=sha)
        _, outcome = ctx.catalog.upsert_book(ctx.source, source_id, fields, categories=categories)
        rep.count(outcome)
