"""The generic catalog schema, as CSV (header row) or JSON Lines (one object per line).

Fields (docs/import.md): ``id`` (required, your id for the book), ``title`` (required),
``authors`` (CSV: separated by ';'; JSONL: list or string), ``year``, ``isbn13``,
``language``, ``description``, ``tags`` and ``categories`` (CSV: separated by '|';
JSONL: lists), ``cover`` (a path, relative to the file or absolute, or an http(s) URL),
``pages``. Unknown fields are ignored. The source name is ``csv`` / ``jsonl`` unless
``--source-name`` is given, which keeps two catalogs' ids apart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from coverstory.catalog.importers.base import (
    PAGES, YEARS, ImportContext, Row, check_cover, read_csv, to_int,
)
from coverstory.catalog.normalize import isbn13, split_authors

FIELDS = ["id", "title", "authors", "year", "isbn13", "language", "description", "tags",
          "categories", "cover", "pages"]


def import_path(ctx: ImportContext, path: Path) -> None:
    files = sorted(p for p in path.iterdir() if p.suffix in (".csv", ".jsonl")) \
        if path.is_dir() else [path]
    for f in files:
        rows = _jsonl(ctx, f) if f.suffix == ".jsonl" or ctx.source == "jsonl" else \
            read_csv(f, ctx.report, required=["id", "title"], progress=ctx.progress)
        for row in rows:
            _one(ctx, f, row)


def _jsonl(ctx: ImportContext, path: Path):
    raw = path.read_bytes().split(b"\n")
    for i, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            ctx.report.problem(path, i, "not valid UTF-8")
            continue
        except json.JSONDecodeError as e:
            ctx.report.problem(path, i, f"invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(obj, dict):
            ctx.report.problem(path, i, "expected a JSON object")
            continue
        missing = [k for k in ("id", "title") if not obj.get(k)]
        if missing:
            ctx.report.problem(path, i, f"missing required field(s) {', '.join(missing)}")
            continue
        yield Row(i, obj)


def _list(value, sep: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(sep) if v.strip()]


def _scalar(value, what: str) -> str:
    """A JSON/CSV value as text for to_int; lists, objects and true/false are refused."""
    if value is None:
        return ""
    if isinstance(value, (bool, list, dict)):
        raise ValueError(f"{what} must be a number, not {json.dumps(value)[:40]}")
    return str(value)


def _one(ctx: ImportContext, file: Path, row: Row) -> None:
    rep, d = ctx.report, row.data
    rep.read += 1
    try:
        if not str(d.get("title") or "").strip() or not str(d.get("id") or "").strip():
            raise ValueError("empty id or title")
        authors = d.get("authors")
        authors = _list(authors, ";") if isinstance(authors, list) or ";" in str(authors or "") \
            else split_authors(str(authors or ""))
        raw_isbn = str(d.get("isbn13") or "").strip()
        isbn = isbn13(raw_isbn) if raw_isbn else None
        if raw_isbn and not isbn:
            raise ValueError(f"invalid ISBN-13 {raw_isbn!r}")
        fields = {
            "title": str(d["title"]).strip(), "authors": authors,
            "year": to_int(_scalar(d.get("year"), "year"), "year", low=YEARS[0], high=YEARS[1]),
            "isbn13": isbn, "language": d.get("language") or None,
            "description": (str(d.get("description") or "").strip() or None),
            "pages": to_int(_scalar(d.get("pages"), "pages"), "pages", low=PAGES[0],
                            high=PAGES[1]),
        }
    except ValueError as e:
        rep.problem(file, row.line, str(e))
        return
    cover = str(d.get("cover") or "").strip()
    if cover:
        local = _fetch(ctx, cover, file, row.line) if cover.startswith(("http://", "https://")) \
            else (Path(cover) if Path(cover).is_absolute() else file.parent / cover)
        if local is not None:
            path, sha = check_cover(ctx, local, file, row.line)
            if path:
                fields.update(cover_path=path, cover_sha256=sha)
    source = ctx.options.get("source_name") or ctx.source
    _, outcome = ctx.catalog.upsert_book(source, str(d["id"]).strip(), fields,
                                         tags=_list(d.get("tags"), "|"),
                                         categories=_list(d.get("categories"), "|"))
    rep.count(outcome)


def _fetch(ctx: ImportContext, url: str, file: Path, line: int) -> Path | None:
    """Download a cover URL into <home>/covers/ (only when the network allows)."""
    import urllib.request

    dest_dir = ctx.catalog.home / "covers"
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".img")
    if dest.is_file():
        return dest
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 (operator-given URL)
            data = r.read(10 * 1024 * 1024 + 1)
    except Exception as e:  # network refused, DNS failure, timeout, HTTP error
        ctx.report.problem(file, line, f"could not fetch cover {url} ({e}); book kept without cover",
                           skipped=False)
        ctx.report.cover_problems += 1
        return None
    if len(data) > 10 * 1024 * 1024:
        ctx.report.problem(file, line, f"cover {url} is larger than 10 MB; not kept", skipped=False)
        ctx.report.cover_problems += 1
        return None
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return dest
