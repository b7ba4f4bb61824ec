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
import math
from pathlib import Path

from coverstory.catalog.importers.base import (
    PAGES, YEARS, ImportContext, ImportError_, Row, check_cover, read_csv, to_int,
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
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 20:
        raise ImportError_(f"{path}: this file is UTF-16 (or another 2-byte encoding); "
                           "save it as UTF-8 and import it again")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = data.split(b"\n")
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


def _text(value, what: str, *, number_ok: bool = False) -> str:
    """A JSON/CSV value as text: strings (numbers too when ``number_ok``); lists, objects,
    true/false and text with NUL bytes are refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif number_ok and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, not {value}")
        text = str(value)
    else:
        raise ValueError(f"{what} must be {'text or a number' if number_ok else 'text'}, "
                         f"not {_kind(value)}")
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character (\\u0000)")
    return text


def _kind(value) -> str:
    return {bool: "true/false", list: "a list", dict: "an object", type(None): "null"}.get(
        type(value), type(value).__name__)


def _list(value, sep: str, what: str = "value") -> list[str]:
    """'a|b' or ["a", "b"] -> ["a", "b"]; list items must be text."""
    if value is None:
        return []
    if isinstance(value, list):
        items = [_text(v, f"{what} item") for v in value]
        return [v.strip() for v in items if v.strip()]
    return [v.strip() for v in _text(value, what).split(sep) if v.strip()]


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
        book_id = _text(d.get("id"), "id", number_ok=True).strip()
        title = _text(d.get("title"), "title").strip()
        if not title or not book_id:
            raise ValueError("empty id or title")
        authors = d.get("authors")
        authors = _list(authors, ";", "authors") if isinstance(authors, list) or \
            ";" in _text(authors, "authors") else split_authors(_text(authors, "authors"))
        raw_isbn = _text(d.get("isbn13"), "isbn13", number_ok=True).strip()
        isbn = isbn13(raw_isbn) if raw_isbn else None
        if raw_isbn and not isbn:
            raise ValueError(f"invalid ISBN-13 {raw_isbn!r}")
        fields = {
            "title": title, "authors": authors,
            "year": to_int(_scalar(d.get("year"), "year"), "year", low=YEARS[0], high=YEARS[1]),
            "isbn13": isbn, "language": _text(d.get("language"), "language").strip() or None,
            "description": _text(d.get("description"), "description").strip() or None,
            "pages": to_int(_scalar(d.get("pages"), "pages"), "pages", low=PAGES[0],
                            high=PAGES[1]),
        }
        tags = _list(d.get("tags"), "|", "tags")
        categories = _list(d.get("categories"), "|", "categories")
        cover = _text(d.get("cover"), "cover").strip()
    except ValueError as e:
        rep.problem(file, row.line, str(e))
        return
    if cover:
        local = _fetch(ctx, cover, file, row.line) if cover.startswith(("http://", "https://")) \
            else (Path(cover) if Path(cover).is_absolute() else file.parent / cover)
        if local is not None:
            path, sha = check_cover(ctx, local, file, row.line)
            if path:
                fields.update(cover_path=path, cover_sha256=sha)
    source = ctx.options.get("source_name") or ctx.source
    _, outcome = ctx.catalog.upsert_book(source, book_id, fields, tags=tags,
                                         categories=categories)
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
