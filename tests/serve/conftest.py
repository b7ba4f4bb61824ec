"""Fixtures for the HTTP layer: the app over ``tiny_home`` with the contract doubles."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.serve.doubles import make_services

ADMIN = "test-admin-token"


@pytest.fixture
def stack(tiny_home):
    cat, search, rec, dlg = make_services(tiny_home)
    return {"home": tiny_home, "catalog": cat, "search": search, "recommend": rec,
            "dialogue": dlg}


def make_app(stack, **kw):
    from coverstory.serve.app import create_app

    kw.setdefault("admin_token", ADMIN)
    return create_app(stack["home"], catalog=stack["catalog"], search=stack["search"],
                      recommend=stack["recommend"], dialogue=stack["dialogue"], **kw)


@pytest.fixture
def client(stack):
    from fastapi.testclient import TestClient

    with TestClient(make_app(stack), raise_server_exceptions=False) as c:
        yield c


def jpeg_bytes(img: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **save)
    return buf.getvalue()


def cover_photo(catalog, book_id: int) -> bytes:
    """A 'phone photo' of a book's cover: scaled up, a little darker, re-encoded."""
    img = Image.open(catalog.book(book_id).cover_path).convert("RGB").resize((256, 384))
    img = img.point(lambda v: int(v * 0.93))
    return jpeg_bytes(img)
