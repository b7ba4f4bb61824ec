"""The contracts of the three services, as the interfaces (HTTP API, CLI, tests) use them.

``SearchService``, ``RecommendService`` and ``DialogueService`` are ``typing.Protocol``\\ s:
:class:`coverstory.search.service.SearchService`,
:class:`coverstory.recommend.service.RecommendService` and
:class:`coverstory.dialogue.engine.DialogueEngine` implement them, and so do the test
doubles of the HTTP layer (tests/serve/doubles.py). The result types have one definition
each, re-exported here: :class:`Hit` (``results.py``), :class:`PhotoResult`
(``search/photo.py``), :class:`Reply` (``dialogue/replies.py``) and the error
:class:`BadImage` (``search/errors.py``, a :class:`~coverstory.errors.BadInput`).

What a caller may rely on (checked against the doubles and the real services alike by
tests/contracts/):

* ``SearchService.text / similar`` and ``RecommendService.recommend / similar_items``
  return at most ``k`` :class:`Hit`\\ s, best first, each with a reason a reader
  understands; ``exclude`` ids never come back;
* ``similar`` of an unknown book raises :class:`~coverstory.errors.NotFound`;
* ``SearchService.photo`` takes bytes or a PIL image and returns a :class:`PhotoResult`;
  bytes that are not an image raise :class:`BadImage`;
* ``RecommendService.feedback`` and ``DialogueService.feedback`` take ``like``,
  ``dislike`` or ``read``; another kind raises :class:`~coverstory.errors.BadInput`;
* ``DialogueService.turn`` returns a :class:`Reply` for the session it was given, whose
  ``books`` are cards (``id``, ``title``, ``authors``, ``year``, ``score``, ``reason``).

:func:`conforms` says how an object departs from a contract's method signatures.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from coverstory.dialogue.replies import Reply
from coverstory.results import Hit
from coverstory.search.errors import BadImage
from coverstory.search.photo import PhotoResult

__all__ = ["BadImage", "DialogueService", "FEEDBACK_KINDS", "Hit", "PhotoResult",
           "RecommendService", "Reply", "SearchService", "TextSearch", "conforms"]

FEEDBACK_KINDS = ("like", "dislike", "read")


@runtime_checkable
class TextSearch(Protocol):
    """What answers ``GET /api/search``: text search alone (also the words-only search a
    warming server answers with)."""

    def text(self, query: str, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]: ...


@runtime_checkable
class SearchService(TextSearch, Protocol):
    """Books by words, by a photo of a cover, and books like a book."""

    def photo(self, image: Any, k: int = 10, use_ocr: bool | None = None) -> PhotoResult: ...

    def similar(self, book_id: int, k: int = 10) -> list[Hit]: ...


@runtime_checkable
class RecommendService(Protocol):
    """Books for a reader, the reader's feedback, books read by the same readers."""

    def recommend(self, user_id: int, k: int = 10, exclude: Iterable[int] = (),
                  candidates: list[int] | None = None) -> list[Hit]: ...

    def feedback(self, user_id: int, book_id: int, kind: str,
                 rating: float | None = None) -> None: ...

    def similar_items(self, book_id: int, k: int = 10) -> list[Hit]: ...


@runtime_checkable
class DialogueService(Protocol):
    """One turn of a conversation (words, a photo or speech) and feedback on a book."""

    def turn(self, session_id: str, text: str | None = None, photo: bytes | None = None,
             audio: bytes | None = None) -> Reply: ...

    def feedback(self, session_id: str, book_id: int, kind: str) -> Reply: ...


def _methods(proto: type) -> dict[str, inspect.Signature]:
    out = {}
    for klass in reversed(proto.__mro__):
        if klass is object or klass is Protocol or not getattr(klass, "_is_protocol", False):
            continue
        for name, fn in vars(klass).items():
            if not name.startswith("_") and callable(fn):
                out[name] = inspect.signature(fn)
    return out


def conforms(obj: Any, proto: type) -> list[str]:
    """How ``obj`` departs from the method signatures of ``proto`` (empty: it conforms):
    a missing method, or a parameter of the contract the method does not take (by name,
    with a default where the contract has one)."""
    problems = []
    for name, want in _methods(proto).items():
        fn = getattr(obj, name, None)
        if fn is None or not callable(fn):
            problems.append(f"{name}: missing")
            continue
        try:
            have = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in have.values())
        for pname, p in list(want.parameters.items())[1:]:          # after self
            got = have.get(pname)
            if got is None:
                if not takes_kwargs:
                    problems.append(f"{name}: no parameter {pname!r}")
            elif p.default is not p.empty and got.default is got.empty:
                problems.append(f"{name}: {pname!r} needs a default")
    return problems
