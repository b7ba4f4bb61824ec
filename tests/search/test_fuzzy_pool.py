"""RatioPool answers as rapidfuzz's process.extract with fuzz.ratio (choices, scores, ties)."""

import random

from rapidfuzz import fuzz, process

from coverstory.search.fuzzy_pool import RatioPool


def _typo(rng, s):
    s = list(s)
    i = rng.randrange(len(s))
    op = rng.randrange(3)
    if op == 0 and len(s) > 1:
        del s[i]
    elif op == 1:
        s.insert(i, rng.choice("abcdefghijklmnopqrstuvwxyz é'-"))
    else:
        s[i] = rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
    return "".join(s)


def test_same_answers_as_process_extract():
    rng = random.Random(0)
    letters = "aabcdeeeilmnoorst"
    choices = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 14)))
               for _ in range(3000)]
    choices += ["tolkien", "tolkein", "rowling", "brontë", "o'brien", "jean-paul", "1984",
                "j r r tolkien", "tolkien", "dona tartt"]          # duplicates tie by position
    pool = RatioPool(choices)
    queries = [_typo(rng, rng.choice(choices)) for _ in range(600)] + [
        "tolkin", "rowlng", "bronte", "obrien", "dona tart", "1948", "x", "a much longer query "
        "about a boy and a tiger on a lifeboat"]
    for q in queries:
        for limit, cut in ((2, 75), (5, 70), (3, 50)):
            want = process.extract(q, choices, scorer=fuzz.ratio, limit=limit, score_cutoff=cut)
            assert [tuple(x) for x in pool.extract(q, limit, cut)] == [tuple(x) for x in want]
