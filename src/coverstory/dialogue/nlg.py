"""Replies from templates (data/templates.json), with variety but reproducible per session."""

from __future__ import annotations

import json
import random
import zlib
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def templates() -> dict:
    return json.loads((DATA / "templates.json").read_text(encoding="utf-8"))


class Templates:
    """Pick a template variant: deterministic per (session, turn), varied across turns."""

    def __init__(self, session_id: str, turn: int):
        self.rng = random.Random(zlib.crc32(f"{session_id}:{turn}".encode()))

    def say(self, key: str, **kw) -> str:
        return self.rng.choice(templates()[key]).format(**kw)

    def question(self, facet: str, options: list[str]) -> str:
        return self.rng.choice(templates()["questions"][facet]).format(
            options=join_options([o.replace("-", " ") for o in options]))


def join_options(opts: list[str]) -> str:
    opts = [o for o in opts if o]
    if not opts:
        return ""
    if len(opts) == 1:
        return opts[0]
    return ", ".join(opts[:-1]) + " or " + opts[-1]
