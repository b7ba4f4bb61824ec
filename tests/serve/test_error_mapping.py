"""The HTTP API maps the library's errors (coverstory/errors.py) once, in routes/deps.call:
a deliberate error gets its 4xx/503, an internal bug - a bare KeyError or ValueError
included - is a 500 that tells nothing of the server's insides."""

from __future__ import annotations

import pytest

from coverstory.errors import (BadInput, CommandError, NotBuilt, NotFound, UnknownName)
from coverstory.search.errors import BadImage
from tests.serve.test_api import assert_error


@pytest.mark.parametrize("error, status", [
    (BadInput("say it in fewer words"), 400),
    (BadImage("the file is empty (0 bytes); send a JPEG"), 400),
    (UnknownName("unknown policy 'x'; known: ['default']"), 400),
    (NotFound("no book with id 7; find ids with GET /api/search?q="), 404),
    (NotBuilt("no photo index: run `coverstory build index` once"), 503),
    (CommandError("run `coverstory build index` first"), 503),
])
def test_library_errors_keep_their_status_and_message(client, stack, error, status):
    stack["dialogue"].fail_with = error
    body = assert_error(client.post("/api/chat", json={"text": "hi"}), status)
    assert str(error) in body["error"]
    assert "'" + str(error) not in body["error"]       # a KeyError's quotes are not shown


@pytest.mark.parametrize("bug", [KeyError("session_state"), ValueError("too many values"),
                                 IndexError("list index out of range"), TypeError("None")])
def test_a_bare_builtin_error_is_a_bug_and_a_500(client, stack, bug):
    stack["dialogue"].fail_with = bug
    body = assert_error(client.post("/api/chat", json={"text": "hi"}), 500, "request id")
    assert str(bug).strip("'") not in body["error"]


def test_unknown_book_for_similar_is_a_404_from_the_library(client, stack):
    """The route checks the id first; the search double raises NotFound for the same case."""
    from coverstory.serve.routes.deps import call

    from coverstory.serve.errors import ApiError

    with pytest.raises(ApiError) as e:
        call(stack["search"].similar, 999_999, k=3)
    assert e.value.status == 404 and "999999" in e.value.message
