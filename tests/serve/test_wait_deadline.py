"""While a warm start loads, a request waits for what it needs at most ``wait_seconds`` in
all, not that long for each part it needs (a search waited 4 s for the words-only search and
4 s more for the full one: 8.1 s while the first-run build kept the machine busy)."""

from __future__ import annotations

import time

import pytest

from coverstory.serve.errors import ApiError
from coverstory.serve.services import Services, Warmup


@pytest.mark.parametrize("call", ["text_search", "photo_search", "photo_dialogue"])
def test_a_request_waits_at_most_wait_seconds_in_all_then_503(tmp_path, call):
    svc = Services(tmp_path, wait_seconds=0.4)
    svc._warm = Warmup(svc)                  # not started: every part stays "waiting"
    t = time.perf_counter()
    with pytest.raises(ApiError) as e:
        getattr(svc, call)()
    took = time.perf_counter() - t
    assert e.value.status == 503 and e.value.headers["Retry-After"] == "5"
    assert 0.35 <= took < 0.6, took


def test_the_words_only_search_answers_while_the_full_one_loads(tmp_path):
    svc = Services(tmp_path, wait_seconds=0.4)
    svc._warm = Warmup(svc)
    words = object()
    svc._warm._publish("lexical", words)
    t = time.perf_counter()
    assert svc.text_search() is words
    assert time.perf_counter() - t < 0.1
    full = object()
    svc._warm._publish("search", full)
    assert svc.text_search() is full
