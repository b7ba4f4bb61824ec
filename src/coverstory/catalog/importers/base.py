"""What every importer shares: tolerant CSV reading, cover checks, the report."""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

csv.field_size_limit(10_000_000)


class ImportError_(ValueError):
    """The input cannot be imported at all (missing file, missing required columns)."""


@dataclass
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class ImportReport:
    """Counts and problems of one import; ``to_dict`` is the ``--json`` output."""

    source: str
    read: int = 0          # data rows read (books or ratings)
    added: int = 0         # new books
    updated: int = 0       # books seen again from the same source record
    merged: int = 0        # books matched to one already imported from another source
    skipped: int = 0       # malformed rows skipped
    ratings: int = 0       # ratings written
    users: int = 0         # distinct users touched
    covers: int = 0        # valid cover images attached
    cover_problems: int = 0
    problems: list[Problem] = field(default_factory=list)

    def problem(self, file, line, reason, *, skipped=True) -> None:
        self.problems.append(Problem(str(file), line, reason))
        if skipped:
            self.skipped += 1

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def to_dict(self, max_problems: int = 200) -> dict:
        return {
            "source": self.source, "read": self.read, "added": self.added,
            "updated": self.updated, "merged": self.merged, "skipped": self.skipped,
            "ratings": self.ratings, "users": self.users, "covers": self.covers,
            "cover_problems": self.cover_problems, "problem_count": len(self.problems),
            "problems": [str(p) for p in self.problems[:max_problems]],
        }

    def summary(self) -> str:
        s = (f"{self.source}: read {self.read}, added {self.added}, updated {self.updated}, "
             f"merged {self.merged}, skipped {self.skipped}; covers {self.covers} "
             f"({self.cover_problems} unusable); ratings {self.ratings} from {self.users} users")
        if self.problems:
            shown = "\n".join(f"  {p}" for p in self.problems[:20])
            more = len(self.problems) - 20
            s += f"\nproblems ({len(self.problems)}):\n{shown}"
            if more > 0:
                s += f"\n  ... and {more} more (see --json)"
        return s


@dataclass
class ImportContext:
    catalog: object
    report: ImportReport
    source: str
    progress: bool = True
    options: dict = field(default_factory=dict)


@dataclass
class Row:
    line: int            # line number (1-based) where the record starts
    data: dict


def read_csv(path: Path, report: ImportReport, *, required: list[str],
             header: bool = True, fieldnames: list[str] | None = None,
             progress: bool = False, desc: str = "") -> Iterator[Row]:
    """Yield well-formed rows as dicts; report every malformed one by line and skip it.

    Malformed: broken quoting, a different number of fields than the header, bytes that
    are not UTF-8. A file missing a required column is refused as a whole.
    """
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="surrogateescape")
    total_lines = text.count("\n") + 1
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    names = fieldnames
    if header:
        try:
            names = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ImportError_(f"{path}: empty file") from None
    missing = [c for c in required if c not in (names or [])]
    if missing:
        raise ImportError_(f"{path}: missing required column(s) {', '.join(missing)}; "
                           f"found {', '.join(names or [])}")
    bar = _bar(total_lines, desc or path.name) if progress else None
    last = reader.line_num
    while True:
        start = last + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            report.problem(path, start, f"malformed CSV ({e})")
            last = reader.line_num
            continue
        if bar is not None:
            bar.update(reader.line_num - last)
        last = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            report.problem(path, start, f"expected {len(names)} fields, got {len(fields)}")
            continue
        if any(_has_surrogates(f) for f in fields):
            report.problem(path, start, "not valid UTF-8")
            continue
        yield Row(start, dict(zip(names, fields)))
    if bar is not None:
        bar.close()


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="line", file=sys.stderr, leave=False,
                mininterval=0.5, disable=None)


def progress(iterable, total: int | None, desc: str, enabled: bool = True):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False,
                mininterval=0.5, disable=None)


def check_cover(ctx: ImportContext, path: Path, file, line) -> tuple[str | None, str | None]:
    """(absolute path, sha256) of a usable cover image, or (None, None) with the problem reported."""
    from PIL import Image, UnidentifiedImageError

    from coverstory.catalog.store import sha256_file

    if not path.is_file():
        ctx.report.problem(file, line, f"cover file not found: {path}; book kept without cover",
                           skipped=False)
        ctx.report.cover_problems += 1
        return None, None
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:  # verify() does not decode; load() catches truncation
            im.load()
            if im.width < 8 or im.height < 8:
                raise ValueError(f"image too small ({im.width}x{im.height})")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        ctx.report.problem(file, line, f"unusable cover {path.name} ({e}); book kept without cover",
                           skipped=False)
        ctx.report.cover_problems += 1
        return None, None
    ctx.report.covers += 1
    return str(path.resolve()), sha256_file(path)


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1   # what an SQLite INTEGER holds
YEARS = (-9999, 9999)        # bounds of a publication year
PAGES = (1, 100_000)         # bounds of a page count


def to_int(value: str, what: str, *, low: int | None = None, high: int | None = None
           ) -> int | None:
    """'' -> None; '2008.0' -> 2008; anything that is not a whole number, or lies outside
    [low, high] (by default what an SQLite INTEGER holds), raises ValueError.

    >>> to_int("2008.0", "year"), to_int("", "year")
    (2008, None)
    """
    value = (value or "").strip()
    if not value:
        return None
    try:
        n = int(value)                       # exact for long digit strings
    except ValueError:
        try:
            f = float(value)
        except ValueError:
            raise ValueError(f"{what} is not a number: {value!r}") from None
        if not math.isfinite(f):
            raise ValueError(f"{what} is not a finite number: {value!r}") from None
        if f != int(f):
            raise ValueError(f"{what} is not a whole number: {value!r}")
        n = int(f)
    lo = INT64_MIN if low is None else max(low, INT64_MIN)
    hi = INT64_MAX if high is None else min(high, INT64_MAX)
    if not lo <= n <= hi:
        raise ValueError(f"{what} is out of range ({lo} to {hi}): {value!r}")
    return n


def to_float(value: str, what: str) -> float | None:
    """'' -> None; a finite float; anything else (text, inf, nan) raises ValueError."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        f = float(value)
    except ValueError:
        raise ValueError(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return f
