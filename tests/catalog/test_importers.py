"""Importers: bad input reported by line and skipped, covers checked, idempotence,
merging across sources, and all-or-nothing imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coverstory.catalog import Catalog
from coverstory.catalog.importers import ImportError_, run_import
from tests.conftest import draw_cover

HEADER = "id,title,authors,year,isbn13,tags,cover\n"


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_malformed_csv_rows_are_reported_by_line_and_good_rows_imported(tmp_path):
    draw_cover(tmp_path / "c1.jpg", "Good One", "A. Writer")
    body = (
        HEADER
        + "1,Good One,A. Writer,2001,,fiction|drama,c1.jpg\n"        # line 2: good
        + '2,"Bad "quote" here",B. Writer,1999,,,\n'                  # line 3: broken quoting
        + "3,Too Few Fields,C. Writer\n"                               # line 4: missing columns
        + "4,Wrong Year,D. Writer,nineteen,,,\n"                       # line 5: wrong type
    ).encode() + "5,Caf\xe9 Latin1,E. Writer,1980,,,\n".encode("latin-1") + (  # line 6: not UTF-8
        '6,"Multi\nline title",F. Writer,2010,,,\n'                    # lines 7-8: good
        + "7,Bad ISBN,G. Writer,2010,12345,,\n"                        # line 9: invalid ISBN
        + "8,Last Good,H. Writer,,9780306406157,,\n"                   # line 10: good
    ).encode()
    f = write(tmp_path / "books.csv", body)
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [f], progress=False)
    lines = {p.line: p.reason for p in rep.problems}
    assert set(lines) == {3, 4, 5, 6, 9}
    assert "malformed CSV" in lines[3]
    assert "expected 7 fields, got 3" in lines[4]
    assert "year is not a number" in lines[5]
    assert "UTF-8" in lines[6]
    assert "ISBN" in lines[9]
    assert rep.skipped == 5 and rep.added == 3
    titles = sorted(b.title for b in cat.books())
    assert titles == ["Good One", "Last Good", "Multi\nline title"]
    good = next(b for b in cat.books() if b.title == "Good One")
    assert good.tags == ["fiction", "drama"] and good.cover_path and good.year == 2001


def test_missing_required_column_refuses_the_file_and_imports_nothing(tmp_path):
    f = write(tmp_path / "x.csv", "id,name\n1,Nope\n")
    cat = Catalog.open(tmp_path / "home")
    with pytest.raises(ImportError_, match="missing required column.*title"):
        run_import(cat, "csv", [f], progress=False)
    assert cat.stats()["books"] == 0


def test_unusable_covers_are_reported_and_the_book_kept(tmp_path):
    good = draw_cover(tmp_path / "ok.jpg", "Fine", "W")
    truncated = tmp_path / "trunc.jpg"
    truncated.write_bytes(good.read_bytes()[:300])
    write(tmp_path / "text.jpg", "this is not an image")
    f = write(tmp_path / "b.csv", HEADER + "1,Truncated,W,,,,trunc.jpg\n2,Text,W,,,,text.jpg\n"
              "3,Missing,W,,,,nope.jpg\n4,Fine,W,,,,ok.jpg\n")
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [f], progress=False)
    assert rep.added == 4 and rep.skipped == 0
    assert rep.covers == 1 and rep.cover_problems == 3
    assert {p.line for p in rep.problems} == {2, 3, 4}
    by_title = {b.title: b for b in cat.books()}
    assert by_title["Fine"].cover_path and by_title["Fine"].cover_sha256
    assert all(by_title[t].cover_path is None for t in ("Truncated", "Text", "Missing"))


def test_crash_mid_import_leaves_catalog_unchanged(tmp_path, monkeypatch):
    cat = Catalog.open(tmp_path / "home")
    f1 = write(tmp_path / "first.csv", HEADER + "1,Kept,A,,,,\n")
    run_import(cat, "csv", [f1], progress=False)
    before = cat.stats()
    rows = "".join(f"{i},Book {i},Author {i},,,,\n" for i in range(10, 30))
    f2 = write(tmp_path / "second.csv", HEADER + "1,Kept Renamed,A,,,,\n" + rows)

    calls = {"n": 0}
    real = Catalog.upsert_book

    def crashing(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 7:
            raise RuntimeError("simulated crash")
        return real(self, *a, **kw)

    monkeypatch.setattr(Catalog, "upsert_book", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_import(cat, "csv", [f2], progress=False)
    assert calls["n"] == 8
    assert cat.stats() == before
    assert [b.title for b in cat.books()] == ["Kept"]
    # a fresh connection sees the same (nothing half-written on disk)
    assert Catalog.open(tmp_path / "home").stats() == before


def test_reimport_updates_and_never_duplicates(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    f = write(tmp_path / "b.csv", HEADER + "1,One,A,2000,,x,\n2,Two,B,,,,\n")
    run_import(cat, "csv", [f], progress=False)
    write(f, HEADER + "1,One (2nd ed),A,2001,,x|y,\n2,Two,B,,,,\n")
    rep = run_import(cat, "csv", [f], progress=False)
    assert rep.added == 0 and rep.updated == 2
    books = {b.id: b for b in cat.books()}
    assert len(books) == 2
    one = next(b for b in books.values() if b.year == 2001)
    assert one.title == "One (2nd ed)" and one.tags == ["x", "y"]


def test_same_book_from_two_sources_is_merged(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    a = write(tmp_path / "a.jsonl", "\n".join(json.dumps(o) for o in [
        {"id": "a1", "title": "The Martian", "authors": ["Andy Weir"], "isbn13": "9780553418026"},
        {"id": "a2", "title": "Dune (Dune Chronicles, #1)", "authors": "Frank Herbert"},
    ]))
    b = write(tmp_path / "b.jsonl", "\n".join(json.dumps(o) for o in [
        {"id": "b1", "title": "Martian", "authors": ["A. Weir"], "isbn13": "978-0-553-41802-6",
         "description": "Stranded on Mars."},
        {"id": "b2", "title": "Dune", "authors": ["Frank Herbert"], "tags": ["sf"]},
        {"id": "b3", "title": "Dune Messiah", "authors": ["Frank Herbert"]},
        "not an object",
    ]))
    run_import(cat, "jsonl", [a], progress=False, source_name="shop-a")
    rep = run_import(cat, "jsonl", [b], progress=False, source_name="shop-b")
    assert (rep.merged, rep.added, rep.skipped) == (2, 1, 1)
    books = cat.books()
    assert len(books) == 3
    martian = next(b for b in books if b.isbn13 == "9780553418026")
    assert martian.title == "The Martian" and martian.description == "Stranded on Mars."
    assert martian.sources == ["shop-a:a1", "shop-b:b1"]


def test_cover_url_is_reported_when_the_network_refuses(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    f = write(tmp_path / "u.jsonl", json.dumps(
        {"id": "1", "title": "Remote", "cover": "http://127.0.0.1:9/cover.jpg"}))
    rep = run_import(cat, "jsonl", [f], progress=False)
    assert rep.added == 1 and rep.cover_problems == 1
    assert "could not fetch cover" in rep.problems[0].reason
    assert cat.books()[0].cover_path is None


def test_goodreads_export_imports_one_readers_shelves(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    run_import(cat, "jsonl", [write(tmp_path / "c.jsonl", json.dumps(
        {"id": "x", "title": "The Hobbit", "authors": ["J.R.R. Tolkien"]}))], progress=False)
    f = write(tmp_path / "export.csv",
              "Book Id,Title,Author,Additional Authors,ISBN,ISBN13,My Rating,Number of Pages,"
              "Year Published,Original Publication Year,Exclusive Shelf\n"
              '5907,"The Hobbit, or There and Back Again",J.R.R. Tolkien,,="0618260307",'
              '="9780618260300",5,366,2002,1937,read\n'
              '1,New Book,Someone,,="",="",0,200,2020,,to-read\n'
              '2,Broken,Someone,,="",="",seven,,,,read\n')
    rep = run_import(cat, "goodreads-export", [f], progress=False, user="alice")
    assert rep.merged == 1 and rep.added == 1 and rep.skipped == 1 and rep.ratings == 1
    uid = cat.user_id("goodreads:alice")
    hobbit = cat.find_book(title="The Hobbit", authors=["J.R.R. Tolkien"])
    assert cat.user_ratings(uid) == [(hobbit, 5.0)]
    assert [e["payload"]["shelf"] for e in cat.events(user_id=uid)] == ["to-read"]


def test_unknown_source_and_missing_path_are_clear_errors(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    with pytest.raises(ImportError_, match="unknown source"):
        run_import(cat, "marc21", [tmp_path], progress=False)
    with pytest.raises(ImportError_, match="no such file"):
        run_import(cat, "csv", [tmp_path / "nope.csv"], progress=False)


def _goodbooks_folder(root: Path, *, more: bool = True, pages: bool = True) -> Path:
    folder = root / "gb"
    folder.mkdir()
    write(folder / "books.csv", "book_id,title,authors,original_publication_year,isbn13\n"
          "1,First,A. Writer,2001,\n2,Second,B. Writer,1999,\n3,Third,C. Writer,,\n")
    write(folder / "descriptions.csv", "book_id,description,source\n"
          "1,From the first file,x\n")
    if more:
        write(folder / "descriptions_more.csv", "book_id,description,source\n"
              "1,Must not replace the first file's text,y\n2,From the second file,y\n")
    if pages:
        write(folder / "pages.csv", "book_id,pages\n1,374\n2,-5\n3,1e30\n")
    return folder


def test_goodbooks_reads_more_descriptions_and_page_counts(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "goodbooks", [_goodbooks_folder(tmp_path)], progress=False)
    by_title = {b.title: b for b in cat.books()}
    assert by_title["First"].description == "From the first file"       # descriptions.csv first
    assert by_title["Second"].description == "From the second file"     # else descriptions_more
    assert by_title["Third"].description is None
    assert [by_title[t].pages for t in ("First", "Second", "Third")] == [374, None, None]
    assert by_title["First"].to_dict()["pages"] == 374
    bad = {p.line: p.reason for p in rep.problems if p.file.endswith("pages.csv")}
    assert set(bad) == {3, 4} and "out of range" in bad[3] and "out of range" in bad[4]
    assert rep.added == 3
    s = cat.stats()
    assert (s["books_with_description"], s["books_with_pages"]) == (2, 1)


def test_goodbooks_optional_files_absent_are_skipped_quietly(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "goodbooks", [_goodbooks_folder(tmp_path, more=False, pages=False)],
                     progress=False)
    assert rep.added == 3 and rep.problems == []
    assert cat.stats()["books_with_description"] == 1 and cat.stats()["books_with_pages"] == 0


# ---- issue 15: one bad record never costs the others -------------------------------------

def test_unterminated_quote_skips_only_its_line_and_later_rows_land(tmp_path):
    body = (HEADER
            + "1,One,A,2001,,,\n"                    # line 2
            + '2,"Runaway title,B,1999,,,\n'         # line 3: the quote is never closed
            + "3,Three,C,,,,\n"                      # line 4
            + '4,"Four, quoted",D,,,,\n'             # line 5: a later quote closes the runaway
            + "5,Five,E,,,,\n")                      # line 6
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [write(tmp_path / "b.csv", body)], progress=False)
    assert [(p.line, "malformed CSV" in p.reason) for p in rep.problems] == [(3, True)]
    assert sorted(b.title for b in cat.books()) == ["Five", "Four, quoted", "One", "Three"]


def test_quote_running_to_the_end_of_the_file_skips_one_line(tmp_path):
    rows = "".join(f"{i},Book {i},Author,,,,\n" for i in range(3, 40))
    body = HEADER + "1,One,A,,,,\n" + '2,"Never closed,B,,,,\n' + rows
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [write(tmp_path / "b.csv", body)], progress=False)
    assert [p.line for p in rep.problems] == [3] and rep.skipped == 1
    assert rep.added == 1 + 37 and cat.stats()["books"] == 38


def test_goodreads_export_recovers_after_an_unterminated_quote(tmp_path):
    head = ("Book Id,Title,Author,Additional Authors,ISBN,ISBN13,My Rating,Number of Pages,"
            "Year Published,Original Publication Year,Exclusive Shelf\n")
    body = (head + '1,"Broken title,Someone,,,,4,,,,read\n'
            + "".join(f"{i},Book {i},Writer {i},,,,{1 + i % 5},,,,read\n" for i in range(2, 12)))
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "goodreads-export", [write(tmp_path / "e.csv", body)],
                     progress=False, user="bob")
    assert [p.line for p in rep.problems] == [2]
    assert rep.added == 10 and rep.ratings == 10
    assert len(cat.user_ratings(cat.user_id("goodreads:bob"))) == 10


def test_utf16_file_is_named_as_such(tmp_path):
    f = write(tmp_path / "u.csv", (HEADER + "1,One,A,,,,\n").encode("utf-16"))
    with pytest.raises(ImportError_, match="UTF-16.*UTF-8"):
        run_import(Catalog.open(tmp_path / "home"), "csv", [f], progress=False)


@pytest.mark.parametrize("year", ["1e30", "inf", "-inf", "nan", str(2 ** 63), "1e400"])
def test_out_of_range_number_skips_its_row_and_the_import_goes_on(tmp_path, year):
    body = HEADER + "1,Good,A,2001,,,\n" + f"2,Bad Year,B,{year},,,\n" + "3,Also Good,C,,,,\n"
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [write(tmp_path / "b.csv", body)], progress=False)
    assert [p.line for p in rep.problems] == [3] and "year" in rep.problems[0].reason
    assert sorted(b.title for b in cat.books()) == ["Also Good", "Good"]


def test_out_of_range_numbers_in_jsonl_goodbooks_and_goodreads(tmp_path):
    cat = Catalog.open(tmp_path / "home")
    lines = [{"id": "1", "title": "Huge pages", "pages": 2 ** 64},
             {"id": "2", "title": "Infinite", "year": float("inf")},
             {"id": "3", "title": "Yes year", "year": True},
             {"id": "4", "title": "Fine", "pages": 320}]
    f = write(tmp_path / "b.jsonl", "\n".join(json.dumps(o) for o in lines))
    rep = run_import(cat, "jsonl", [f], progress=False)
    assert [p.line for p in rep.problems] == [1, 2, 3] and rep.added == 1

    gb = tmp_path / "gb"
    gb.mkdir()
    write(gb / "books.csv", "book_id,title,authors,original_publication_year,ratings_count\n"
          f"1,Ok,A,1990,5\n2,Big count,B,1990,{2 ** 63}\n3,Also ok,C,1e3,\n")
    write(gb / "ratings.csv", f"user_id,book_id,rating\n1,1,5\n{2 ** 70},1,4\n1,3,inf\n2,3,4\n")
    rep = run_import(cat, "goodbooks", [gb], progress=False)
    assert sorted((p.file.rsplit("/", 1)[-1], p.line) for p in rep.problems) == [
        ("books.csv", 3), ("ratings.csv", 3), ("ratings.csv", 4)]
    assert rep.added == 2 and rep.ratings == 2

    f = write(tmp_path / "export.csv",
              "Book Id,Title,Author,My Rating,Number of Pages,Year Published\n"
              f"7,Kept despite pages,Someone,4,{2 ** 63},1e30\n")
    rep = run_import(cat, "goodreads-export", [f], progress=False, user="carol")
    assert rep.added == 1 and rep.ratings == 1 and rep.skipped == 0
    assert len(rep.problems) == 2     # both details reported, left empty
    kept = cat.book(cat.find_book(source=("goodreads", "7")))
    assert kept.pages is None and kept.year is None


def test_jsonl_refuses_values_of_the_wrong_kind_row_by_row(tmp_path):
    """Issue 15 (9): a list as a title, NUL characters, negative pages, objects where text
    belongs, true/NaN ids: each such row is reported and skipped; the good rows land (an
    object as the language used to abort the whole import with a traceback)."""
    rows = [
        {"id": "1", "title": "Good One", "authors": ["Ann Lee"], "pages": 200},
        {"id": "2", "title": ["a", "list"]},
        {"id": "3", "title": "Nul\u0000Title"},
        {"id": "4", "title": "Negative", "pages": -5},
        {"id": "5", "title": "Nested", "authors": [["x"]]},
        {"id": "6", "title": "Object", "language": {"en": 1}},
        {"id": True, "title": "True id"},
        {"id": "8", "title": "Tag NUL", "tags": ["ok", "b\u0000d"]},
        {"id": 9, "title": "Numeric id is fine", "description": "text"},
    ]
    text = "\n".join(json.dumps(r) for r in rows) + '\n{"id": NaN, "title": "NaN id"}\n'
    f = write(tmp_path / "b.jsonl", text)
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "jsonl", [f], progress=False)
    reasons = {p.line: p.reason for p in rep.problems}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 10}, reasons
    assert "title must be text, not a list" in reasons[2]
    assert "NUL" in reasons[3] and "NUL" in reasons[8]
    assert "pages is out of range" in reasons[4]
    assert "language must be text" in reasons[6]
    assert "true/false" in reasons[7] and "finite" in reasons[10]
    assert rep.added == 2 and rep.skipped == 8
    titles = sorted(b.title for b in cat.books())
    assert titles == ["Good One", "Numeric id is fine"]
    assert "\x00" not in json.dumps([b.to_dict() for b in cat.books()])


def test_csv_row_with_a_nul_byte_is_skipped(tmp_path):
    f = write(tmp_path / "n.csv", (HEADER + "1,Nul\x00Title,A,,,,\n2,Fine,B,,,,\n").encode())
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "csv", [f], progress=False)
    assert [(p.line, "NUL" in p.reason) for p in rep.problems] == [(2, True)]
    assert [b.title for b in cat.books()] == ["Fine"]


def test_utf16_jsonl_is_named_as_such(tmp_path):
    f = write(tmp_path / "u.jsonl", '{"id": "1", "title": "One"}\n'.encode("utf-16"))
    with pytest.raises(ImportError_, match="UTF-16.*UTF-8"):
        run_import(Catalog.open(tmp_path / "home"), "jsonl", [f], progress=False)


def test_a_refused_header_is_described_not_quoted(tmp_path):
    """The importer may read any file the process can (an admin names a server path):
    its refusal says what is wrong with the first line without repeating it."""
    cat = Catalog.open(tmp_path / "home")
    secret = write(tmp_path / "shadow", "root:$6$salt$SECRETHASH:19000:0:99999:7:::\n")
    with pytest.raises(ImportError_) as e:
        run_import(cat, "csv", [secret], progress=False)
    assert "missing required column(s) id, title" in str(e.value)
    assert "SECRETHASH" not in str(e.value) and "root:" not in str(e.value)
    semi = write(tmp_path / "semi.csv", "id;title\n1;x\n")
    with pytest.raises(ImportError_, match="semicolons"):
        run_import(cat, "csv", [semi], progress=False)
    cased = write(tmp_path / "cased.csv", "ID,Title\n1,x\n")
    with pytest.raises(ImportError_, match="'ID' should be 'id', 'Title' should be 'title'"):
        run_import(cat, "csv", [cased], progress=False)
