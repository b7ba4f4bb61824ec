"""The errors coverstory's library raises on purpose; each message names the fix.

The interfaces map them once: the CLI (``coverstory.cli.main``) prints the message and exits
with status 2; the HTTP API (``coverstory.serve.routes.deps.call``) answers with the status
below. Anything else that escapes the library is a bug: the CLI shows its traceback, the
HTTP API answers 500 with a request id.

===============  =====================================================  ======
error            meaning                                                HTTP
===============  =====================================================  ======
``BadInput``     the caller's input cannot be used (bad photo, kind...) 400
``UnknownName``  a name not in a registry (encoder, fusion, policy...)   400
``NotFound``     no such book, reader or session                        404
``NotBuilt``     a model or index must be built or imported first       503
``CommandError`` a command-line usage error (CLI only)                  503
===============  =====================================================  ======

They keep the built-in base a caller may already catch (``BadInput`` is a ``ValueError``,
``NotFound`` a ``KeyError``, ``NotBuilt`` a ``FileNotFoundError``).

>>> try:
...     raise NotFound("no book with id 7; find ids with `coverstory search text`")
... except KeyError as e:
...     print(e)
no book with id 7; find ids with `coverstory search text`
"""

from __future__ import annotations


class CoverstoryError(Exception):
    """Base of every error the library raises on purpose."""


class BadInput(CoverstoryError, ValueError):
    """The input cannot be used; the message says what to send instead."""


class UnknownName(BadInput, KeyError):
    """A name that is not registered; the message lists the known names."""

    def __str__(self) -> str:          # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFound(CoverstoryError, KeyError):
    """No such book, reader or session; the message says how to find valid ids."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotBuilt(CoverstoryError, FileNotFoundError):
    """Something must be imported or built first; the message names the command."""


class CommandError(CoverstoryError):
    """A user error in a CLI command: printed as one line (or a JSON error), exit status 2."""
