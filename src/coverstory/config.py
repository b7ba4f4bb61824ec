"""Where things live: the data home and the shared data folder.

One settings table (:data:`SETTINGS`) names every ``COVERSTORY_*`` environment variable;
docs/settings.md carries the table :func:`settings_table` makes (``python -m
coverstory.config``), and tests/test_docs.py checks both that and that no variable read in
src/ is missing from it. Read a setting with :func:`setting` (or :func:`threads`,
:func:`cache_dir`), not with ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from coverstory.errors import BadInput, NotBuilt

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "COVERSTORY_HOME", "./.coverstory",
            "Data home: catalog database, cover files, feature caches, models and indexes."),
    Setting("data", "COVERSTORY_DATA", "../shared/data",
            "Folder of the bundled real data (goodbooks10k, covers, synopses, bookcover30)."),
    Setting("admin_token", "COVERSTORY_ADMIN_TOKEN", "",
            "Token required by the HTTP admin endpoints; empty disables them."),
    Setting("llm_url", "COVERSTORY_LLM_URL", "",
            "Optional OpenAI-compatible chat endpoint used to rephrase replies; empty = off."),
    Setting("llm_model", "COVERSTORY_LLM_MODEL", "",
            "Model name sent to the optional chat endpoint."),
    Setting("chat_retention_days", "COVERSTORY_CHAT_RETENTION_DAYS", "30",
            "Days chat turns (turn events, accepted suggestions, chat session state) are "
            "kept; the server purges older ones hourly, `coverstory purge-chats` on demand; "
            "0 keeps them forever. Ratings and likes stay until the reader erases them "
            "(`coverstory forget`, `DELETE /api/users/me`)."),
    Setting("threads", "COVERSTORY_THREADS", "",
            "CPU threads for inference (encoders, OCR, local cover features); empty = the "
            "CPUs this process may run on. `build all --jobs N` sets each step's share."),
    Setting("cache", "COVERSTORY_CACHE", "~/.cache/coverstory",
            "Folder of machine-wide caches: the ONNX exports of the encoders (`onnx/`)."),
    Setting("bench_latency", "COVERSTORY_BENCH_LATENCY", "",
            "Development: non-empty makes `coverstory bench recommend` time single-reader "
            "recommendations only."),
    Setting("bench_only", "COVERSTORY_BENCH_ONLY", "",
            "Development: comma-separated method labels `coverstory bench recommend` runs "
            "(empty = all)."),
    Setting("bench_photo_queries", "COVERSTORY_BENCH_PHOTO_QUERIES", "",
            "Development: number of test photos of a smaller full `coverstory bench photo` "
            "run (empty = the protocol's 1,000)."),
    Setting("bench_photo_work", "COVERSTORY_BENCH_PHOTO_WORK", "",
            "Development: cache folder of `coverstory bench photo --gallery` (distractor "
            "covers, their features, the built indexes, the photos; empty = "
            "/tmp/coverstory-photo-gallery)."),
    Setting("bench_photo_no_ocr", "COVERSTORY_BENCH_PHOTO_NO_OCR", "",
            "Development: `1` skips `coverstory bench photo`'s second pass with OCR on."),
    Setting("bench_write_calibration", "COVERSTORY_BENCH_WRITE_CALIBRATION", "",
            "`1`: `coverstory bench photo` also writes the fitted photo verifier into the "
            "home's indexes (else only into the report folder's photo/, e.g. "
            "docs/benchmarks/photo/ with `--out docs/benchmarks`)."),
    Setting("bench_cache", "COVERSTORY_BENCH_CACHE", "",
            "Folder where `bench encoders` and `bench recommend` keep encoded query and "
            "description texts between runs (empty = `<tmp>/coverstory-bench-cache`)."),
    Setting("bench_text_only", "COVERSTORY_BENCH_TEXT_ONLY", "",
            "`1`: `coverstory bench encoders` measures the text encoders only (a home "
            "without covers)."),
    Setting("load_workers", "COVERSTORY_LOAD_WORKERS", "2",
            "Server worker processes of the multi-process rows of `coverstory bench load`."),
)


def setting(name: str) -> str:
    for s in SETTINGS:
        if s.name == name:
            return os.environ.get(s.env, s.default)
    raise KeyError(f"unknown setting {name!r}; known: {[s.name for s in SETTINGS]}")


def threads(default: int | None = None) -> int:
    """Threads for inference: $COVERSTORY_THREADS when set (at least 1), else ``default``
    when given, else the CPUs this process may run on (``os.sched_getaffinity``)."""
    env = setting("threads").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise BadInput(f"COVERSTORY_THREADS must be a whole number, not {env!r}") from None
    if default is not None:
        return default
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def cache_dir(name: str) -> Path:
    """``$COVERSTORY_CACHE/<name>`` (created), for caches shared by every data home."""
    root = setting("cache") or next(s.default for s in SETTINGS if s.name == "cache")
    path = Path(root).expanduser() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_table() -> str:
    """The markdown table of :data:`SETTINGS` that docs/settings.md carries
    (``python -m coverstory.config`` prints it; tests/test_docs.py compares)."""
    rows = ["| setting | environment variable | default | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| {s.name} | `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows) + "\n"


def home_dir(home: str | os.PathLike | None = None) -> Path:
    """The data home: ``home`` if given, else $COVERSTORY_HOME, else ./.coverstory."""
    path = Path(home if home is not None else setting("home")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class DataMissing(NotBuilt):
    """The bundled real data folder is absent."""


def data_dir(data: str | os.PathLike | None = None, *, required: bool = True) -> Path:
    """The shared real data folder (../shared/data relative to the project root by default)."""
    if data is None:
        env = os.environ.get("COVERSTORY_DATA")
        path = Path(env) if env else PROJECT_ROOT.parent / "shared" / "data"
    else:
        path = Path(data)
    path = path.expanduser().resolve()
    if required and not path.is_dir():
        raise DataMissing(
            f"shared data folder not found at {path}; set COVERSTORY_DATA or pass --data"
        )
    return path


if __name__ == "__main__":
    print(settings_table(), end="")
