"""The conversation suite: the file is well formed, its checks name real catalog books,
authors and tags, every constrained turn can be satisfied by the catalog, and the checker
and runner judge a scripted engine correctly on a tiny catalog."""

from __future__ import annotations

import csv
from collections import Counter
from types import SimpleNamespace

import pytest

from coverstory.benchmarks import conversations as cs
from coverstory.benchmarks._conversation_suite import (DEV_EXTRA3, DEV_EXTRA4, DEV_EXTRA5,
                                                       DEV_EXTRA6)


@pytest.fixture(scope="module")
def suite():
    return cs.load_suite()


@pytest.fixture(scope="module")
def groups():
    return cs.load_tag_groups()


# ------------------------------------------------------------------------ the file itself
def test_suite_is_valid(suite, groups):
    problems = [e for c in suite for e in cs.validate(c, groups)]
    assert not problems, problems[:10]
    assert len(suite) >= 120
    ids = [c["id"] for c in suite]
    assert len(ids) == len(set(ids))
    assert all(2 <= len(c["turns"]) <= 6 for c in suite)


def test_every_turn_type_and_check_is_covered(suite):
    tags = Counter(t for c in suite for t in c["tags"])
    assert set(tags) == set(cs.TURN_TAGS), set(cs.TURN_TAGS) - set(tags)
    used = {name for c in suite for t in c["turns"] for ch in t.get("checks", []) for name in ch}
    assert used == set(cs.CHECKS), set(cs.CHECKS) - used
    assert sum("feedback" in t for c in suite for t in c["turns"]) >= 10   # button presses


def test_split_is_stable_and_both_parts_are_used(suite):
    parts = Counter(cs.split_of(c["id"]) for c in suite)
    assert parts["dev"] >= 40 and parts["test"] >= 40
    assert cs.split_of("funny-then-agatha-christie") == cs.split_of("funny-then-agatha-christie")
    assert {cs.split_of(f"x{i}") for i in range(20)} == {"dev", "test"}


def test_development_extension_never_reaches_the_test_part(suite):
    extra = cs.load_suite(cs.DEV_EXTRA)
    assert len(extra) >= 100 and all(c["id"].startswith(cs.DEV_PREFIX) for c in extra)
    assert {cs.split_of(c["id"]) for c in extra} == {"dev"}
    extra2 = cs.load_suite(cs.DEV_EXTRA2)
    assert len(extra2) >= 100 and all(c["id"].startswith(cs.DEV_PREFIX) for c in extra2)
    assert {cs.split_of(c["id"]) for c in extra2} == {"dev"}
    extra3 = cs.load_suite(DEV_EXTRA3)
    assert len(extra3) >= 110 and all(c["id"].startswith("x-c-") for c in extra3)
    assert {cs.split_of(c["id"]) for c in extra3} == {"dev"}
    extra4 = cs.load_suite(DEV_EXTRA4)
    assert len(extra4) >= 150 and all(c["id"].startswith("x-d-") for c in extra4)
    assert {cs.split_of(c["id"]) for c in extra4} == {"dev"}
    extra5 = cs.load_suite(DEV_EXTRA5)
    assert len(extra5) >= 140 and all(c["id"].startswith("x-e-") for c in extra5)
    assert {cs.split_of(c["id"]) for c in extra5} == {"dev"}
    extra6 = cs.load_suite(DEV_EXTRA6)
    assert len(extra6) >= 140 and all(c["id"].startswith("x-f-") for c in extra6)
    assert {cs.split_of(c["id"]) for c in extra6} == {"dev"}
    assert {c["id"] for c in cs.load_suite()} >= {c["id"] for c in
                                                   extra + extra2 + extra3 + extra4 + extra5
                                                   + extra6}
    main = cs.load_suite(cs.SUITE)
    assert not any(c["id"].startswith(cs.DEV_PREFIX) for c in main)
    # the test part is the conversations written before any tuning, frozen
    assert sum(cs.split_of(c["id"]) == "test" for c in suite) == 125


def test_validation_catches_bad_conversations(groups):
    good = {"id": "ok", "tags": ["author"], "turns": [
        {"say": "books by Agatha Christie", "checks": [{"books_min": 1}, {"all_by": "Agatha Christie"}]},
        {"feedback": {"ordinal": 1, "kind": "like"}, "checks": [{"feedback": "like"}]}]}
    assert cs.validate(good, groups) == []
    bad = [
        {"id": "Bad Id", "tags": ["author"], "turns": good["turns"]},
        {"id": "one-turn", "tags": ["author"], "turns": good["turns"][:1]},
        {"id": "no-min", "tags": ["author"], "turns": [
            {"say": "x", "checks": [{"all_by": "A"}]}, {"say": "y"}]},
        {"id": "unknown-check", "tags": ["author"], "turns": [
            {"say": "x", "checks": [{"colour": "red"}]}, {"say": "y"}]},
        {"id": "bad-arg", "tags": ["author"], "turns": [
            {"say": "x", "checks": [{"books_min": "two"}]}, {"say": "y"}]},
        {"id": "unknown-set", "tags": ["genre"], "turns": [
            {"say": "x", "checks": [{"books_min": 1}, {"all_tags_any": ["@nope"]}]}, {"say": "y"}]},
        {"id": "button-first", "tags": ["feedback_button"], "turns": [
            {"feedback": {"ordinal": 1, "kind": "like"}}, {"say": "y"}]},
        {"id": "bad-kind", "tags": ["feedback_button"], "turns": [
            {"say": "x"}, {"feedback": {"ordinal": 1, "kind": "love"}}]},
        {"id": "unknown-tag", "tags": ["weather"], "turns": good["turns"]},
    ]
    for conv in bad:
        assert cs.validate(conv, groups), conv["id"]


# ----------------------------------------------------------- against the real catalog data
@pytest.fixture(scope="module")
def goodbooks(shared_data):
    folder = shared_data / "goodbooks10k"
    with open(folder / "book_genres.csv", encoding="utf-8") as f:
        genres = {r["book_id"]: r["genres"].split(",") for r in csv.DictReader(f)}
    with open(folder / "pages.csv", encoding="utf-8") as f:
        pages = {r["book_id"]: int(float(r["pages"])) for r in csv.DictReader(f) if r["pages"]}
    books = []
    with open(folder / "books.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            y = r["original_publication_year"]
            books.append(cs.BookFacts(
                id=int(r["book_id"]), title=r["title"],
                authors=[a.strip() for a in r["authors"].split(",")],
                year=int(float(y)) if y else None, pages=pages.get(r["book_id"]),
                tags={cs.norm_tag(t) for t in genres.get(r["book_id"], [])}))
    return books


def test_checks_name_real_titles_authors_and_tags(suite, groups, goodbooks):
    titles = {cs.title_key(b.title) for b in goodbooks}
    tags = {t for b in goodbooks for t in b.tags}
    authors = " | ".join(b.folded_authors for b in goodbooks)
    missing = []
    for c in suite:
        for t in c["turns"]:
            for ch in t.get("checks", []):
                (name, arg), = ch.items()
                if name in ("first_title", "any_title", "none_title"):
                    missing += [(c["id"], x) for x in cs._alts(arg) if cs.title_key(x) not in titles]
                if name == "text_mentions_book" and isinstance(arg, str):
                    missing += [(c["id"], arg)] if cs.title_key(arg) not in titles else []
                if name in ("all_by", "none_by") and f" {cs.fold(arg)} " not in authors:
                    missing.append((c["id"], arg))
                if name in ("all_tags_any", "none_tags_any"):
                    missing += [(c["id"], x) for x in arg if not x.startswith("@")
                                and cs.norm_tag(x) not in tags]
    for name, members in groups.items():
        missing += [(f"@{name}", x) for x in members if cs.norm_tag(x) not in tags]
    assert not missing, missing[:10]


def test_every_constrained_turn_is_satisfiable(suite, groups, goodbooks):
    """Some catalog book meets every constraint of the turn with known metadata (the books
    a reader would accept exist, so a failure is the dialogue's, not the suite's)."""
    unsatisfiable = []
    for c in suite:
        for i, t in enumerate(c["turns"], 1):
            cons = [next(iter(ch.items())) for ch in t.get("checks", [])
                    if next(iter(ch)) in cs.CONSTRAINTS and next(iter(ch)) != "not_shown_before"]
            if cons and not any(all(cs.book_check(n, a, b, groups, set()) is True for n, a in cons)
                                for b in goodbooks):
                unsatisfiable.append((c["id"], i))
    assert not unsatisfiable, unsatisfiable


# --------------------------------------------------- the checker and runner on a tiny catalog
@pytest.fixture()
def tiny(tmp_path):
    from coverstory.catalog import Catalog

    cat = Catalog.open(tmp_path / "home")
    rows = [  # title, authors, year, pages, tags
        ("Murder at the Vicarage (Miss Marple, #1)", ["Agatha Christie"], 1930, 288,
         ["mystery", "cozy-mystery"]),
        ("The Shining (The Shining #1)", ["Stephen King"], 1977, 659, ["horror", "fiction"]),
        ("Rich Dad, Poor Dad", ["Robert T. Kiyosaki"], 1997, 195, ["non-fiction", "economics"]),
        ("Goodnight Moon", ["Margaret Wise Brown", "Clement Hurd"], 1947, 32,
         ["children", "children-s-picture-books"]),
        ("Ghost Year", ["Ann Gray"], None, None, ["ghosts"]),
    ]
    ids = []
    with cat.transaction():
        for i, (title, authors, year, pages, tags) in enumerate(rows):
            bid, _ = cat.upsert_book("tiny", str(i), {"title": title, "authors": authors,
                                                      "year": year, "pages": pages}, tags=tags)
            ids.append(bid)
    yield cat, ids
    cat.close()


class ScriptedEngine:
    """Replies fixed by the test; a like/dislike/read records an event as an engine would."""

    def __init__(self, catalog, replies):
        self.catalog, self.replies, self.n = catalog, replies, 0

    def _reply(self, sid):
        text, ids = self.replies[self.n]
        self.n += 1
        books = [{"id": b.id, "title": b.title, "authors": b.authors, "year": b.year}
                 for b in self.catalog.books(ids)]
        return SimpleNamespace(text=text, books=books, intent="x", ms=1.0, question=None)

    def turn(self, sid, text=None):
        if text.startswith("record "):   # the scripted engine "hears" feedback in words
            uid = self.catalog.ensure_user(f"session:{sid}")
            self.catalog.log_event(text.split()[1], user_id=uid, session_id=sid,
                                   book_id=int(text.split()[2]))
        return self._reply(sid)

    def feedback(self, sid, book_id, kind):
        uid = self.catalog.ensure_user(f"session:{sid}")
        self.catalog.set_rating(uid, book_id, 5 if kind == "like" else 1, source="test")
        self.catalog.log_event(kind, user_id=uid, session_id=sid, book_id=book_id)
        return self._reply(sid)


def _run(cat, replies, turns, groups):
    conv = {"id": "t", "tags": ["author"], "turns": turns}
    return cs.run_conversation(ScriptedEngine(cat, replies), cat, conv, groups)


def _verdicts(run):
    return [[(next(iter(c.name for _ in [0])), c.ok) for c in t["checks"]] for t in run["turns"]]


def test_constraint_checks_pass_and_fail_on_real_metadata(tiny, groups):
    cat, (marple, shining, dad, moon, ghost) = tiny
    run = _run(cat, [("Here are two.", [marple, shining])], [
        {"say": "mysteries", "checks": [
            {"books_min": 2}, {"books_max": 1}, {"all_by": "Agatha Christie"},
            {"none_by": "Stephen King"}, {"all_tags_any": ["@mystery", "@horror"]},
            {"none_tags_any": ["@horror_core"]}, {"year_min": 1920}, {"year_max": 1950},
            {"pages_max": 700}, {"pages_min": 300}, {"first_title": "Murder at the Vicarage"},
            {"any_title": ["The Shining", "It"]}, {"none_title": "the shining"},
            {"text_mentions": ["here are"]}, {"text_mentions": ["nowhere"]}]}], groups)
    got = [(c.name, c.ok) for c in run["turns"][0]["checks"]]
    assert got == [("books_min", True), ("books_max", False), ("all_by", False),
                   ("none_by", False), ("all_tags_any", True), ("none_tags_any", False),
                   ("year_min", True), ("year_max", False), ("pages_max", True),
                   ("pages_min", False), ("first_title", True), ("any_title", True),
                   ("none_title", False), ("text_mentions", True), ("text_mentions", False)]
    assert not run["passed"]


def test_unknown_year_and_pages_are_skipped_and_counted(tiny, groups):
    cat, (marple, shining, dad, moon, ghost) = tiny
    run = _run(cat, [("Ghosts.", [ghost, moon])], [
        {"say": "old short ghost books", "checks": [
            {"books_min": 1}, {"year_max": 1950}, {"pages_max": 40}]}], groups)
    year, pages = run["turns"][0]["checks"][1:]
    assert year.ok and year.unknown == 1 and pages.ok and pages.unknown == 1
    summary = cs.summarise([run])
    assert summary["constraints"]["unknown_year_skips"] == 1
    assert summary["constraints"]["shown_books"] == 2 and summary["constraints"]["share"] == 1.0


def test_title_word_repeats_ordinals_and_feedback(tiny, groups):
    cat, (marple, shining, dad, moon, ghost) = tiny
    replies = [("For your dad: two books.", [dad, marple]),
               ("Murder at the Vicarage is a Miss Marple mystery.", [moon]),
               ("Christie wrote it.", []),
               ("Noted. More:", [shining, marple]),
               ("Glad you like Goodnight Moon!", [moon])]
    run = _run(cat, replies, [
        {"say": "a gift for my dad who likes cooking", "checks": [
            {"books_min": 1}, {"none_title_word": "dad"}, {"none_title_word": "poor"}]},
        {"say": "why the second?", "checks": [
            {"no_feedback": True}, {"text_mentions_book": 2}, {"text_mentions_book": 1}]},
        {"say": "who wrote the second?", "checks": [   # "the second" still the first list's
            {"text_mentions_author": 2}, {"text_mentions_author": 1}]},
        {"feedback": {"ordinal": 2, "kind": "like"}, "checks": [
            {"feedback": "like"}, {"feedback": {"kind": "like", "ordinal": 2}},
            {"feedback": "dislike"}, {"no_feedback": True}, {"not_shown_before": True}]},
        {"say": f"record like {moon}", "checks": [
            {"feedback": "like"}, {"feedback": {"kind": "like", "ordinal": 1}},
            {"not_shown_before": True}]},
    ], groups)
    verdicts = [[c.ok for c in t["checks"]] for t in run["turns"]]
    assert verdicts == [[True, False, False],
                        [True, True, False],
                        [True, False],
                        [True, True, False, False, False],
                        [True, False, False]]
    # the button pressed the second book of the first list (Murder at the Vicarage)
    assert [e["book_id"] for e in cat.events(kind="like")][:1] == [marple]


def test_engine_errors_fail_the_turn_not_the_run(tiny, groups):
    cat, _ = tiny

    class Broken(ScriptedEngine):
        def turn(self, sid, text=None):
            raise RuntimeError("boom")

    conv = {"id": "t", "tags": ["author"], "turns": [
        {"say": "hi", "checks": [{"books_max": 0}]},
        {"feedback": {"ordinal": 1, "kind": "like"}, "checks": [{"feedback": "like"}]}]}
    run = cs.run_conversation(Broken(cat, []), cat, conv, groups)
    assert not run["passed"]
    assert "boom" in run["turns"][0]["error"] and "no book 1" in run["turns"][1]["error"]
    fails = cs.failures([run])
    assert len(fails) == 2 and fails[1]["said"] == "[button like #1]"


def test_report_lists_dev_failures_only(tiny, groups):
    cat, (marple, *_rest) = tiny
    runs = []
    for cid in ("a-dev", "b-test"):
        conv = {"id": cid, "tags": ["author"], "turns": [
            {"say": "x", "checks": [{"books_min": 1}, {"all_by": "Stephen King"}]},
            {"say": "y"}]}
        r = cs.run_conversation(ScriptedEngine(cat, [("", [marple]), ("", [])]), cat, conv, groups)
        r["split"] = "dev" if cid == "a-dev" else "test"
        runs.append(r)
    summary = {p: cs.summarise([r for r in runs if r["split"] == p]) for p in ("dev", "test")}
    res = {"split": "all", "quick": False, "catalog_books": 5,
           "suite": {"conversations": 2, "dev": 1, "test": 1}, "protocol": "p",
           "test_failing_conversations": 1}
    md = cs._markdown(res, summary, cs.failures([runs[0]]), cat.home)
    assert "`a-dev` turn 1" in md and "b-test" not in md
    assert "## The check vocabulary" in md and summary["dev"]["by_check"]["all_by"]["rate"] == 0.0


def test_empty_home_says_what_to_import(tmp_path, capsys):
    from coverstory.cli import main

    rc = main(["--home", str(tmp_path / "empty"), "bench", "conversations", "--split", "dev",
               "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "import goodbooks" in err and "goodbooks10k" in err
    assert not (tmp_path / "out" / "conversations-dev.json").exists()


def test_coherence_needs_a_shared_main_genre():
    from coverstory.benchmarks.conversations import BookFacts, coherent, main_genres

    groups = {"fantasy": ["fantasy", "epic-fantasy", "magic"], "romance": ["romance", "love"],
              "children": ["kids"], "young_adult": ["ya"]}
    anchor = BookFacts(1, "X", tags={"fantasy", "epic-fantasy", "romance"})
    assert main_genres(anchor, groups) == {"fantasy"}            # one romance shelf: not main
    assert coherent(anchor, BookFacts(2, "Y", tags={"magic", "fantasy"}), groups)
    assert not coherent(anchor, BookFacts(3, "Z", tags={"romance", "love", "fantasy"}), groups)
    plain = BookFacts(4, "P", tags={"kids"})                     # no main genre: audience
    assert coherent(plain, BookFacts(5, "Q", tags={"kids", "love"}), groups)
    assert not coherent(plain, BookFacts(6, "R", tags={"ya"}), groups)
