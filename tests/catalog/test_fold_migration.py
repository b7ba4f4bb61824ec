"""fold() maps letters with no Unicode decomposition (ø, æ, ł, ß) to ASCII, and migration 3
re-keys books stored under the old fold so that a re-import from another source still merges."""

from __future__ import annotations

import sqlite3

from coverstory.catalog import Catalog, schema
from coverstory.catalog.normalize import fold, norm_key


def test_fold_keeps_letters_without_decomposition():
    assert fold("Jo Nesbø") == "jo nesbo"
    assert fold("Æsop, Łódź, Straße") == "aesop lodz strasse"
    assert fold("Crème Brûlée") == "creme brulee"


def test_books_keyed_by_the_old_fold_are_rekeyed_and_merge(tmp_path):
    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[:2]:                  # a home made before migration 3
        for stmt in schema._split(step):
            conn.execute(stmt)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO books (title, norm_key, authors) VALUES (?, ?, ?)",
                 ("The Snowman", "snowman|nesb", '["Jo Nesbø"]'))
    conn.execute("INSERT INTO books (title, norm_key, authors) VALUES (?, ?, ?)",
                 ("Emma", "emma|austen", '["Jane Austen"]'))
    conn.close()

    cat = Catalog(tmp_path, path=path)
    keys = dict(cat.conn.execute("SELECT title, norm_key FROM books").fetchall())
    assert keys == {"The Snowman": "snowman|nesbo", "Emma": "emma|austen"}
    assert norm_key("The Snowman", ["Jo Nesbø"]) == "snowman|nesbo"
    book_id, outcome = cat.upsert_book("shop", "1", {"title": "The Snowman",
                                                     "authors": ["Jo Nesbø"]})
    assert outcome == "merged" and cat.count_books() == 2
    cat.close()
