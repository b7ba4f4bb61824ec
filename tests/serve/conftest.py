"""Fixtures for the HTTP layer: the app over ``tiny_home`` with the contract doubles."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import build_tiny_home
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


class LiveServer:
    """A real uvicorn server on 127.0.0.1 (free port) in a thread; ``.url``; stops on exit."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self):
        import time

        import httpx

        self.thread.start()
        for _ in range(200):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the test server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live_server(stack):
    with LiveServer(make_app(stack)) as srv:
        yield srv


@pytest.fixture(scope="session")
def artifacts():
    from coverstory.config import PROJECT_ROOT

    out = PROJECT_ROOT / "test-artifacts" / "serve"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def real_server(tmp_path_factory):
    """A real server over the REAL library (search, recommend, dialogue) on a tiny catalog,
    shared by the tests that need it (the models load once)."""
    for mod in ("coverstory.search.service", "coverstory.recommend.service",
                "coverstory.dialogue.engine"):
        pytest.importorskip(mod, reason=f"{mod} is not in this build")
    from coverstory.serve.app import create_app

    home = build_tiny_home(tmp_path_factory.mktemp("real"))
    with LiveServer(create_app(home, admin_token="t")) as srv:
        srv.home = home
        yield srv
