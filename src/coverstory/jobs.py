"""Admin jobs as library calls: a job is a small JSON-able spec, ``run(spec)`` does it.

``{"job": "import", "home": H, "source": "csv", "paths": [...], "user": None,
"source_name": None, "progress": False}`` imports with
:func:`coverstory.catalog.importers.run_import`; ``{"job": "build", "home": H, "target":
"recommender", ...build options}`` builds a target with :func:`coverstory.build.build`
(the options of ``coverstory build``: ``encoder``, ``method``, ``quick``, ``limit``,
``force``, ``jobs``). Both return the same dict as the command line's ``--json``.

The HTTP server's admin jobs (serve/jobs.py) run imports in a thread and the recommender's
rebuild in a child process at a lower CPU priority (its memory goes back to the system
when it ends): ``python -m coverstory.jobs SPEC_JSON`` prints the result as one JSON line
(``{"error": ...}`` and exit status 2 for a library error), no command line parsed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import time
from argparse import Namespace
from pathlib import Path

from coverstory.errors import BadInput, CoverstoryError, UnknownName

log = logging.getLogger("coverstory.jobs")

BUILD_OPTIONS = {"encoder": None, "method": None, "quick": False, "limit": None,
                 "force": False, "jobs": 1}
IMPORT_OPTIONS = {"user": None, "source_name": None, "progress": False}


def run(spec: dict) -> dict:
    """Do the job ``spec`` describes (see the module docstring); the result as a dict with a
    ``text`` line for people."""
    spec = dict(spec)
    kind = spec.pop("job", None)
    if kind not in JOBS:
        raise UnknownName(f"unknown job {kind!r}; known: {', '.join(JOBS)}")
    fn, options = JOBS[kind]
    home = spec.pop("home", None)
    if not home:
        raise BadInput(f"a {kind} job needs the data home ('home')")
    required = {"import": ("source", "paths"), "build": ("target",)}[kind]
    missing = [k for k in required if k not in spec]
    extra = sorted(set(spec) - set(options) - set(required))
    if missing or extra:
        raise BadInput(f"a {kind} job takes {', '.join(required)} and optionally "
                       f"{', '.join(options)}; " + "; ".join(
                           ([f"missing: {', '.join(missing)}"] if missing else [])
                           + ([f"unknown: {', '.join(extra)}"] if extra else [])))
    return fn(Path(home), **{**options, **spec})


def import_books(home: Path | None, source: str, paths: list[str], *, user: str | None = None,
                 source_name: str | None = None, progress: bool = False,
                 on_wait=log.info) -> dict:
    """Import ``paths`` in format ``source`` into the catalog at ``home`` (all or nothing;
    ``coverstory import`` too). ``on_wait(message)``: another import holds the home."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.importers import ImportError_, run_import
    from coverstory.catalog.store import is_busy_error

    cat = Catalog.open(home)
    t0 = time.time()
    try:
        report = run_import(cat, source, list(paths), progress=progress, user=user,
                            source_name=source_name, on_wait=on_wait)
    except (ImportError_, TimeoutError) as e:
        raise BadInput(f"{e} (nothing was imported)") from e
    except sqlite3.OperationalError as e:
        if not is_busy_error(e):
            raise
        raise CoverstoryError(f"the catalog in {cat.home} stayed locked by another process "
                              "for more than 30 s; nothing was imported: try again") from e
    finally:
        cat.close()
    seconds = time.time() - t0
    return {**report.to_dict(), "seconds": round(seconds, 1),
            "text": report.summary() + f"\n({seconds:.1f} s)"}


def build_target(home: Path, target: str, **options) -> dict:
    """Build ``target`` (a ``coverstory build`` target, or ``all``) in the data home."""
    from coverstory.build import TARGETS, build

    if target not in (*TARGETS, "all"):
        raise UnknownName(f"unknown build target {target!r}; known: {', '.join(TARGETS)}, all")
    return build(Namespace(home=str(home), target=target, **{**BUILD_OPTIONS, **options}))


JOBS = {"import": (import_books, IMPORT_OPTIONS), "build": (build_target, BUILD_OPTIONS)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m coverstory.jobs SPEC_JSON", file=sys.stderr)
        return 2
    try:
        result = run(json.loads(argv[0]))
    except (CoverstoryError, json.JSONDecodeError) as e:
        print(json.dumps({"error": str(e)}))
        return 2
    print(json.dumps({k: v for k, v in result.items()}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
