"""OCR: reading a drawn cover, title matching rules, the cached `build ocr` step."""

from __future__ import annotations

import pytest


def test_normalize_and_main_title():
    from coverstory.encoders.ocr import main_title, normalize

    assert normalize("  L'Étranger — Roman!  ") == "l etranger roman"
    assert main_title("Dune (Dune Chronicles #1)") == "Dune"
    assert main_title("Sapiens: A Brief History of Humankind") == "Sapiens"
    assert main_title(": odd") == ": odd"


def test_title_found_is_fuzzy_but_not_lax():
    from coverstory.encoders.ocr import title_found

    assert title_found("The Silver Sword", "THE SILVER SWORD IAN SERRAILLIER")
    assert title_found("Two Kinds of Truth", "MICHAEL CONNELLY TWO KINDS OF TRUIH")  # one slip
    assert not title_found("Two Kinds of Truth", "MICHAEL CONNELLY BOSCH")
    assert not title_found("Anything", "")


def test_read_text_reads_a_drawn_cover(tmp_path):
    from coverstory.encoders.ocr import read_text, title_found
    from tests.conftest import draw_cover

    path = draw_cover(tmp_path / "c.jpg", "Murder in Venice", "Clara Bell", (20, 90, 90))
    text = read_text(path)
    assert title_found("Murder in Venice", text), text
    assert read_text(path.read_bytes()) == text  # bytes in, same answer


def test_blank_image_gives_no_text():
    from PIL import Image

    from coverstory.encoders.ocr import read_text

    assert read_text(Image.new("RGB", (64, 96), (200, 200, 200))) == ""


@pytest.mark.slow
def test_build_ocr_is_cached_per_cover_hash(tiny_home):
    from coverstory.catalog import Catalog
    from coverstory.encoders.ocr import update_ocr

    r1 = update_ocr(tiny_home, limit=2, progress=False)
    assert (r1["read"], r1["cached"]) == (2, 2)
    r2 = update_ocr(tiny_home, limit=2, progress=False)
    assert (r2["read"], r2["cached"]) == (2, 4)          # the next two, not the same two
    cat = Catalog.open(tiny_home)
    texts = cat.ocr_texts("rapidocr")
    some_id = next(iter(texts))
    with cat.transaction() as conn:                        # the cover changes: read again
        conn.execute("UPDATE books SET cover_sha256='changed' WHERE id=?", (some_id,))
    cat.close()
    r3 = update_ocr(tiny_home, progress=False)
    assert r3["read"] == 3 and r3["cached"] == 6
    cat = Catalog.open(tiny_home)
    assert cat.ocr_texts("rapidocr")[some_id][0] == "changed"
    titles = {b.id: b.title for b in cat.books()}
    from coverstory.encoders.ocr import title_found

    found = sum(title_found(titles[b], t) for b, (_, t) in cat.ocr_texts("rapidocr").items())
    assert found >= 5, cat.ocr_texts("rapidocr")
