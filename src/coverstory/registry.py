"""Things registered by name as ``"module:Attribute"`` strings, loaded on first use (so a
registry imports nothing heavy), and what a factory accepts.

>>> load("coverstory.results:Hit").__name__
'Hit'
>>> sorted(accepts(load("coverstory.results:Hit")))
['book_id', 'details', 'reason', 'score']
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from coverstory.errors import UnknownName


def load(spec: str) -> Any:
    """The attribute ``spec`` (``"package.module:Name"``) names, its module imported."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def lookup(table: Mapping[str, str], name: str, what: str, error=UnknownName) -> Any:
    """``load(table[name])``; a name not in ``table`` raises ``error`` (by default
    :class:`~coverstory.errors.UnknownName`) with a message that lists the known names."""
    try:
        spec = table[name]
    except (KeyError, TypeError):
        raise error(f"unknown {what} {name!r}; known: {', '.join(table)}") from None
    return load(spec)


def accepts(factory) -> set[str]:
    """The parameter names ``factory`` takes (empty when it cannot be inspected)."""
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()
