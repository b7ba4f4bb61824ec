"""Splits by book (dedup groups never straddle splits) and the reader-need mapping."""


from coverstory.catalog.models import Book
from coverstory.fusion.datasets import group_keys, split_books
from coverstory.fusion.reader_needs import NEEDS, mapping_table, reader_need


def _books(n=300):
    books = [Book(id=i, title=f"Title {i}", authors=[f"Author {i}"], isbn13=f"97800000{i:05d}")
             for i in range(n)]
    # duplicates: same ISBN, or same normalised title + surname under another ISBN
    books.append(Book(id=1000, title="Title 5", authors=["A. Author 5"], isbn13="9781111111111"))
    books.append(Book(id=1001, title="Other", authors=["X"], isbn13=books[7].isbn13))
    books.append(Book(id=1002, title="The Title 9 (Series #1)", authors=["Z Author 9"]))
    return books


def test_duplicates_share_a_group_and_a_split():
    books = _books()
    keys = group_keys(books)
    assert keys[1000] == keys[5] and keys[1001] == keys[7] and keys[1002] == keys[9]
    assert keys[5] != keys[6]
    for seed in (0, 1, 2):
        part = split_books(books, seed)
        assert part[1000] == part[5] and part[1001] == part[7] and part[1002] == part[9]


def test_split_fractions_and_seed():
    books = _books(1000)
    part = split_books(books, 0)
    counts = {p: sum(v == p for v in part.values()) for p in ("train", "val", "test")}
    assert 780 <= counts["train"] <= 820 and 90 <= counts["val"] <= 110
    assert split_books(books, 0) == part and split_books(books, 1) != part


def test_reader_needs_from_tags():
    assert reader_need(["fiction", "fantasy", "magic", "young-adult"])[0] == \
        "Entertainment and Leisure"
    assert reader_need(["non-fiction", "psychology", "self-help", "philosophy",
                        "economics"])[0] == "Personal Growth and Psychology"
    assert reader_need(["history", "biography", "memoir", "fiction"])[0] == "History and Culture"
    assert reader_need(["classics", "literature", "fiction", "poetry", "romance"])[0] == \
        "Literature and Art"
    assert reader_need(["to-read", "owned"]) == (None, [])
    # shelf-keeping tags never count
    assert reader_need(["to-read-psychology", "fantasy"])[0] == "Entertainment and Leisure"
    table = mapping_table(["psychology", "cookbooks", "to-read-history"])
    assert table["Personal Growth and Psychology"] == ["psychology"]
    assert table["Health and Lifestyle"] == ["cookbooks"]
    assert set(table) == set(NEEDS) and all("to-read-history" not in v for v in table.values())


def test_reader_needs_doc_matches_the_mapping():
    from pathlib import Path

    from coverstory.fusion.reader_needs import mapping

    doc = (Path(__file__).resolve().parents[2] / "docs" / "reader_needs.md").read_text()
    for need, patterns in mapping()["categories"].items():
        assert f"| {need} |" in doc, f"{need} missing from docs/reader_needs.md; regenerate it"
        for p in patterns:
            assert "`" + p.replace("|", "\\|") + "`" in doc, (
                f"pattern {p!r} missing from docs/reader_needs.md; regenerate it with "
                "coverstory.fusion.reader_needs.render_doc")
