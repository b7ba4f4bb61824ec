"""Simulated readers: their own words, no leaks (200 real targets), truthful answers, and a
conversation through the real engine reaches its book."""

from __future__ import annotations

import csv
import inspect
import random
from dataclasses import dataclass, field

import pytest

from coverstory.benchmarks import leaks, simulator
from coverstory.benchmarks.simulator import Reader, Shelf, reader_for, simulate, summarise

SLICE = 700          # goodbooks book_id <= SLICE: nearly all have a description


@pytest.fixture(scope="module")
def real_slice(tmp_path_factory, shared_data):
    """The first SLICE goodbooks books imported by the real importer, and the tag and
    description statistics of the whole goodbooks folder (for the audit only)."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.importers import run_import

    src = shared_data / "goodbooks10k"
    root = tmp_path_factory.mktemp("gbslice")
    folder = root / "goodbooks10k"
    folder.mkdir()
    for name in ("books.csv", "book_genres.csv", "descriptions.csv", "descriptions_more.csv",
                 "pages.csv"):
        if not (src / name).is_file():
            continue
        with open(src / name, newline="", encoding="utf-8") as f, \
                open(folder / name, "w", newline="", encoding="utf-8") as g:
            r = csv.DictReader(f)
            w = csv.DictWriter(g, fieldnames=r.fieldnames)
            w.writeheader()
            w.writerows(row for row in r if int(row["book_id"]) <= SLICE)
    cat = Catalog.open(root / "home")
    run_import(cat, "goodbooks", [folder], progress=False)
    df: dict[str, int] = {}
    for row in csv.DictReader(open(src / "book_genres.csv", encoding="utf-8")):
        for t in {t.strip() for t in row["genres"].split(",") if t.strip()}:
            df[t] = df.get(t, 0) + 1
    descs = [row["description"] for name in ("descriptions.csv", "descriptions_more.csv")
             if (src / name).is_file()
             for row in csv.DictReader(open(src / name, encoding="utf-8"))]
    yield cat, df, descs
    cat.close()


@dataclass
class FakeReply:
    """The bot's public reply, scripted: every kind of question the bot asks."""

    books: list[dict] = field(default_factory=list)
    text: str = "Here are a few ideas."
    question: str | None = None
    question_facet: str | None = None
    options: list[str] = field(default_factory=list)
    ms: float = 0.0


GENRE_OPTIONS = ["fantasy", "science fiction", "mystery", "thriller", "crime", "romance",
                 "horror", "historical fiction", "classics", "literary fiction", "dystopian",
                 "paranormal", "non-fiction", "biography", "history", "philosophy",
                 "psychology", "science", "business", "religion", "poetry", "comics",
                 "humour", "war", "mythology", "adventure", "contemporary", "short stories"]
ERA_OPTIONS = ["before 1900", "1900 to 1959", "1960 to 1999", "2000 to 2009", "2010 or later"]
MOOD_OPTIONS = ["dark", "funny", "cosy", "romantic", "uplifting", "thought-provoking",
                "exciting", "scary"]


def scripted_conversation(reader: Reader, book, others: list, rare: list[str],
                          rng: random.Random) -> list[dict]:
    """Every question type, wrong suggestions, then the target second of three."""
    def wrong():
        return [{"id": b.id, "title": b.title} for b in rng.sample(others, 3)]

    own = [t for t in book.tags if t in rare] + rng.sample(book.tags, min(2, len(book.tags)))
    steps = [
        FakeReply(wrong(), question="Which genre appeals most?", question_facet="genre",
                  options=rng.sample(GENRE_OPTIONS, 4)),
        FakeReply(wrong(), question="Who is it for?", question_facet="audience",
                  options=["children", "young adult", "adult"]),
        FakeReply(wrong(), question="Do you prefer something from one of these?",
                  question_facet="era", options=rng.sample(ERA_OPTIONS, 4)),
        FakeReply(wrong(), question="What mood are you after?", question_facet="mood",
                  options=rng.sample(MOOD_OPTIONS, 4)),
        FakeReply(wrong(), question="Any of these themes?", question_facet="theme",
                  options=own[:2] + rng.sample(rare, 2)),
        FakeReply(wrong(), question="What should it be about?", question_facet="about"),
        FakeReply(wrong()),
        FakeReply([], question="Any particular themes, setting or characters?",
                  question_facet="themes"),
        FakeReply(wrong(), question="How long would you like it?", question_facet="length",
                  options=["short", "medium", "long"]),
        FakeReply(wrong(), question="When was it written, roughly?"),
    ]
    lines = []
    text = reader.opening()
    for reply in steps:
        lines.append({"reader": text, "bot": reply.text, "question": reply.question,
                      "options": reply.options, "books": [b["title"] for b in reply.books]})
        text, accepted = reader.respond(reply)
        assert not accepted
    target = wrong()[:1] + [{"id": book.id, "title": book.title}] + wrong()[:1]
    lines.append({"reader": text, "bot": "", "books": [b["title"] for b in target]})
    text, accepted = reader.respond(FakeReply(target))
    assert accepted and ("second" in text or "2" in text or "that's it" in text.lower())
    lines.append({"reader": text})
    return lines


def test_the_reader_does_not_use_the_bots_vocabulary():
    src = inspect.getsource(simulator)
    assert "coverstory.dialogue" not in src and "bookindex" not in src.replace(
        "bookindex's", "")
    assert simulator.FUNCTION <= leaks.STOPWORDS     # what it may say from a title is a stop word


def test_the_audit_catches_leaks_and_spares_echoed_options(real_slice):
    cat, tag_df, descs = real_slice
    audit = leaks.Audit(tag_df, 10_000, descs)
    hp = Shelf(cat)(cat.find_book(source=("goodbooks", "2")))   # Harry Potter 1
    hp.tags = hp.tags + ["fantasy-adventure"]                    # a rare shelf (< 100 books)
    assert audit.rare_tags(hp) == {"fantasy-adventure"}
    lines = [{"reader": "a book about a sorcerer's stone", "bot": "Who is it for?",
              "options": []},
             {"reader": "something by rowling", "bot": "ok",
              "options": ["fantasy", "adventure"]},
             {"reader": "yes, fantasy adventure", "bot": "ok", "options": []},
             {"reader": "a fantasy adventure please"}]   # not echoing the bot any more
    kinds = [(f["kind"], f["word"]) for f in audit.check(hp, lines)]
    assert kinds == [("title word", "sorcerer"), ("title word", "stone"),
                     ("author name", "rowling"), ("rare tag", "fantasy-adventure")]


def test_no_hand_written_phrase_is_a_rare_shelf(real_slice):
    _, tag_df, _ = real_slice
    rare = {t: leaks._alnum(t.replace("-", " ")) for t, c in tag_df.items()
            if c <= leaks.RARE_SHARE * 10_000}
    assert len(rare) > 200
    for p in simulator.phrases():
        low = leaks._alnum(p)
        bad = [t for t, phrase in rare.items() if phrase in low]
        assert not bad, (p, bad)


def test_no_leaks_over_200_real_targets(real_slice):
    cat, tag_df, descs = real_slice
    shelf = Shelf(cat)
    books = [b for b in cat.books() if b.description and len(b.description) >= 100]
    assert len(books) >= 400
    rng = random.Random(0)
    targets = rng.sample(books, 200)
    audit = leaks.Audit(tag_df, 10_000, descs, own_words=simulator.vocabulary())
    rare = sorted(t for t, c in tag_df.items() if c <= audit.rare_limit)
    remembered = 0
    for book in targets:
        reader = reader_for(book, seed=0, lookup=shelf)
        remembered += bool(reader.memory)
        lines = scripted_conversation(reader, book, [b for b in books if b.id != book.id],
                                      rare, rng)
        assert audit.check(book, lines) == [], lines
        for line in lines:      # the test's own check of the title and author words
            said = set(leaks.tokens(line["reader"]))
            assert not said & leaks.title_words(book), (book.title, line["reader"])
            assert not said & leaks.author_words(book), (book.authors, line["reader"])
    s = audit.summary()
    assert s["conversations"] == 200 and s["leaks"] == 0
    # the story is remembered, but not by its rarest words: the description words used
    # rank like a random draw by IDF, far from the top-IDF choice
    assert remembered >= 150 and s["description_words_used"] >= 150
    assert s["idf_rank_pct_used"] >= s["idf_rank_pct_random"] - 0.1, s
    assert s["idf_rank_pct_top_idf"] < 0.1 < s["idf_rank_pct_used"] - 0.2, s


def test_answers_follow_the_book_and_the_readers_own_words(real_slice):
    cat, _, _ = real_slice
    shelf = Shelf(cat)
    hp = shelf(cat.find_book(source=("goodbooks", "2")))          # Harry Potter 1, 1997
    r = Reader(hp, random.Random(1), shelf)
    assert r.genres[0] == "fantasy" and r.audience[0] == "children"
    r.year = 1997
    fits, _ = r.judge("1960 to 1999", "era")
    assert fits is True and r.judge("2010 or later", "era")[0] is False
    assert r.judge("fantasy", "genre")[0] is True and r.judge("romance", "genre")[0] is False
    assert r.judge("science fiction", "genre")[0] is False
    assert r.judge("children", "audience")[0] is True
    assert r.judge("a b c zzz", "genre") == (False, None)          # not a shelf nor a word
    assert r.judge("books-i-own", "theme") == (None, None)         # not something one knows
    # a question it cannot map: doesn't know / doesn't mind
    ans = r._answer("Pick one", None, ["kindle-owned", "2015-reads"])
    assert ans in simulator._DONT_KNOW
    # the same reader under every policy: knowledge fixed by (seed, book)
    a, b = reader_for(hp, 3, shelf), reader_for(hp, 3, shelf)
    assert (a.memory, a.genres, a.year, a.opening()) == (b.memory, b.genres, b.year, b.opening())
    # typos and chit-chat happen, at a small rate
    said = [reader_for(hp, s, shelf).opening() for s in range(300)]
    assert 0 < sum(any(c in x for c in simulator._CHAT) for x in said) < 100


def test_a_simulated_conversation_through_the_real_engine(engine, tiny_home):
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    shelf = Shelf(cat)
    ids = cat.book_ids()
    res = simulate(engine, shelf, ids, "default", max_turns=5, seed=0, tag="sim")
    s = summarise(res)
    assert s["n"] == len(ids) and s["success@5"] >= 0.5 and s["p95_ms"] > 0
    for r in res:
        assert 1 <= r["turns"] == len(r["ms"]) <= 5
        book = shelf(r["book_id"])
        for line in r["lines"]:
            said = set(leaks.tokens(line["reader"]))
            assert not said & (leaks.title_words(book) | leaks.author_words(book)), line
    cat.close()
