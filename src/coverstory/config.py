"""Where things live: the data home and the shared data folder.

One settings table drives validation, ``--help`` and the docs (see docs/settings.md,
checked by tests/test_docs.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from coverstory.errors import NotBuilt

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
            "0 keeps them forever. Ratings and likes stay until the reader erases them."),
)


def setting(name: str) -> str:
    for s in SETTINGS:
        if s.name == name:
            return os.environ.get(s.env, s.default)
    raise KeyError(f"unknown setting {name!r}; known: {[s.name for s in SETTINGS]}")


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
