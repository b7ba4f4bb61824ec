"""A scratch data home for benchmarks that talk to the engine: the catalog is a consistent
copy (sessions, ratings and events written during the run land there), every other entry
is a link to the real home's caches, features and models (read as they are)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from coverstory.catalog.copies import copy_catalog


def scratch_home(home: str | Path, into: str | Path | None = None) -> Path:
    """The scratch home at ``into`` (a new temporary folder when None); the caller removes it."""
    home = Path(home)
    into = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="coverstory-scratch-"))
    into.mkdir(parents=True, exist_ok=True)
    copy_catalog(home, into)                     # consistent even with a live WAL
    for entry in home.iterdir():
        if not entry.name.startswith("catalog.sqlite"):
            (into / entry.name).symlink_to(entry.resolve())
    return into
