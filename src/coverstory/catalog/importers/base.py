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
    write_lock_seconds: float = 0.0   # how long the merge held the catalog's write lock
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
            "write_lock_seconds": self.write_lock_seconds,
            "problems": [str(p) for p in self.problems[:max_problems]],
        }

    def summary(self) -> str:
        s = (f"{self.source}: read {self.read}, added {self.added}, updated {self.updated}, "
             f"merged {self.merged}, skipped {self.skipped}; covers {self.covers} "
             f"({self.cover_problems} unusable); ratings {self.ratings} from {self.users} users; "
             f"catalog write lock held {self.write_lock_seconds:.2f} s")
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


MAX_RECORD_LINES = 10_000   # a quoted field running longer than this is a runaway quote


def read_csv(path: Path, report: ImportReport, *, required: list[str],
             header: bool = True, fieldnames: list[str] | None = None,
             progress: bool = False, desc: str = "") -> Iterator[Row]:
    """Yield well-formed rows as dicts; report every malformed one by line and skip it.

    Malformed: broken quoting, a different number of fields than the header, bytes that
    are not UTF-8. A quote that is opened and never closed properly would swallow every
    later row: such a record is reported at the line where it starts, only that line is
    skipped, and reading goes on at the next line. A file missing a required column is
    refused as a whole.
    """
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(b"\x00") > 20:
        raise ImportError_(f"{path}: this file is UTF-16 (or another 2-byte encoding); "
                           "save it as UTF-8 (\"CSV UTF-8\") and import it again")
    text = raw.decode("utf-8", errors="surrogateescape")
    total_lines = text.count("\n") + 1
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    names = fieldnames
    if header:
        try:
            names = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ImportError_(f"{path}: empty file") from None
        except csv.Error as e:
            raise ImportError_(f"{path}: the header line is not valid CSV ({e})") from None
    missing = [c for c in required if c not in (names or [])]
    if missing:
        raise ImportError_(f"{path}: missing required column(s) {', '.join(missing)}; "
                           + header_hint(names or [], missing))
    bar = _bar(total_lines, desc or path.name) if progress else None
    shown = lines.line
    while True:
        lines.begin_record()
        start = lines.record
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            if lines.line > start:   # the record ran on: its boundaries cannot be trusted
                report.problem(path, start, f"malformed CSV: a quoted field opened on this line "
                                            f"is not closed properly ({e}); this line skipped, "
                                            f"reading goes on at line {start + 1}")
            else:
                report.problem(path, start, f"malformed CSV ({e})")
            lines.restart_after_first()
            reader = csv.reader(lines, strict=True)
            continue
        if bar is not None and lines.line > shown:
            bar.update(lines.line - shown)
            shown = lines.line
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            if lines.line > start:   # a multi-line record of the wrong shape: a stray quote?
                report.problem(path, start, f"expected {len(names)} fields, got {len(fields)} "
                                            f"in a record over lines {start}-{lines.line} "
                                            f"(a stray quote?); this line skipped, reading "
                                            f"goes on at line {start + 1}")
                lines.restart_after_first()
                reader = csv.reader(lines, strict=True)
            else:
                report.problem(path, start, f"expected {len(names)} fields, got {len(fields)}")
            continue
        if any(_has_surrogates(f) for f in fields):
            report.problem(path, start, "not valid UTF-8")
            continue
        if any("\x00" in f for f in fields):
            report.problem(path, start, "contains a NUL byte (\\0); text fields cannot")
            continue
        yield Row(start, dict(zip(names, fields)))
    if bar is not None:
        bar.close()


def header_hint(names: list[str], missing: list[str]) -> str:
    """What the header line holds, without quoting it (the file may be anything the
    importing process can read, e.g. a server path named through the admin API): how many
    columns, a likely wrong separator, and names that differ only in case."""
    line = ",".join(names)
    hint = (f"the first line has {len(names)} comma-separated column(s)"
            if line.strip() else "the first line is empty")
    sep = next((name for ch, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))
                if ch in line), None)
    if sep and len(names) == 1:
        hint += f" and contains {sep}: save the file with commas between columns"
    cased = {n.strip().lower(): n for n in names}
    near = [f"{cased[m]!r} should be {m!r}" for m in missing if m in cased]
    if near:
        hint += "; column names are lowercase: " + ", ".join(near)
    return hint + " (docs/import.md lists the columns)"


class _Lines:
    """The physical lines of a text, as ``csv`` splits them, fed to a csv reader one at a
    time, so that reading can restart at the line after a bad record's first line."""

    def __init__(self, text: str, max_record_lines: int | None = None):
        self._f = io.StringIO(text, newline="")
        self.line = 0              # lines handed out so far (= number of the last one)
        self.record = 1            # the line the current record starts on
        self._resume = 0           # text offset just after the record's first line
        self.max_record_lines = max_record_lines or MAX_RECORD_LINES

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.line - self.record + 1 >= self.max_record_lines:
            raise StopIteration    # the csv reader reports "unexpected end of data"
        s = self._f.readline()
        if not s:
            raise StopIteration
        self.line += 1
        if self.line == self.record:
            self._resume = self._f.tell()
        return s

    def begin_record(self) -> None:
        self.record = self.line + 1

    def restart_after_first(self) -> None:
        """Go on reading at the line after the current record's first line."""
        if self.line >= self.record:
            self._f.seek(self._resume)
            self.line = self.record


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
