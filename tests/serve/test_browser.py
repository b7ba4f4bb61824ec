"""A real browser (Debian chromium, headless, driven by Playwright) against a real server on
127.0.0.1: type a request, see book cards, thumbs-down one, upload a cover photo and see
that book first, and the page fits a phone screen. Screenshots: test-artifacts/serve/."""

from __future__ import annotations

import shutil

import pytest

from tests.serve.conftest import cover_photo

pytestmark = pytest.mark.browser

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian chromium is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.mark.slow
def test_chat_cards_feedback_and_photo(browser, real_server, artifacts, tmp_path):
    """Through the real library (search, recommendation, dialogue) on the tiny catalog."""
    from coverstory.catalog import Catalog

    live_server = real_server
    cat = Catalog.open(real_server.home)
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_server.url + "/")
    page.screenshot(path=str(artifacts / "01-start.png"))

    # type a request, see book cards with cover, title, author and reason
    page.fill("#text", "a boy at a wizard school of magic")
    page.press("#text", "Enter")
    page.wait_for_selector(".msg.bot .card", timeout=120_000)
    first = page.locator(".card").first
    assert "The Wizard School" in first.locator(".title").inner_text()
    assert "Ann Gray" in first.locator(".author").inner_text()
    assert first.locator(".reason").inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.cover')]"
        ".every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#typing").is_hidden()
    page.screenshot(path=str(artifacts / "02-cards.png"))

    # thumbs-down on the first card: saved for this browser's reader
    book_id = int(first.get_attribute("data-book-id"))
    first.locator(".fb-dislike").click()
    page.wait_for_selector(f".card.disliked[data-book-id='{book_id}']")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "cs_session")
    uid = cat.user_id(f"session:{cookie}")
    assert uid is not None
    assert ("dislike", book_id) in [(e["kind"], e["book_id"]) for e in cat.events(user_id=uid)]
    page.screenshot(path=str(artifacts / "03-thumbs-down.png"))

    # upload a photo of a cover: that book comes first
    photo = tmp_path / "phone-photo.jpg"
    photo.write_bytes(cover_photo(cat, 3))
    n_rows = page.locator(".cards").count()
    page.set_input_files("#photo", str(photo))
    page.wait_for_function(f"() => document.querySelectorAll('.cards').length > {n_rows}",
                           timeout=120_000)
    newest = page.locator(".cards").last.locator(".card").first
    assert int(newest.get_attribute("data-book-id")) == 3
    assert "Murder in Venice" in newest.locator(".title").inner_text()
    assert page.locator(".msg.me img.sent").count() == 1
    page.wait_for_function(
        "() => [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts / "04-photo.png"), full_page=True)
    assert errors == []


def test_phone_screen(browser, live_server, artifacts):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(live_server.url + "/")
    page.fill("#text", "dragons and fantasy adventure")
    page.click("#send")
    page.wait_for_selector(".card")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    box = page.locator("#composer").bounding_box()
    assert box["y"] + box["height"] <= 844 + 1 and box["width"] <= 390
    assert page.locator("#photo").get_attribute("capture") == "environment"
    page.screenshot(path=str(artifacts / "05-phone.png"))
    ctx.close()


def test_error_is_shown_in_the_chat(browser, live_server, artifacts, tmp_path):
    page = browser.new_page()
    page.goto(live_server.url + "/")
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_bytes(b"this is text, not an image")
    page.set_input_files("#photo", str(bad))
    page.wait_for_selector(".msg.error")
    assert "JPEG" in page.locator(".msg.error").inner_text()
    page.screenshot(path=str(artifacts / "06-error.png"))


def test_api_docs_render_with_no_network(browser, live_server, artifacts):
    """/docs loads Swagger UI from this server: with every other host unreachable (an
    offline reader), the operations still render (issue 15: a blank page before)."""
    page = browser.new_page()
    outside, errors = [], []
    local = live_server.url

    def only_local(route):
        if route.request.url.startswith(local):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(local + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 15
    assert "coverstory" in page.locator(".title").first.inner_text()
    page.screenshot(path=str(artifacts / "07-docs-offline.png"))
    assert outside == [] and errors == []


def test_your_data_and_forget_me(browser, live_server, stack, artifacts):
    cat = stack["catalog"]
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.fill("#text", "dragons and fantasy adventure")
    page.press("#text", "Enter")
    page.wait_for_selector(".card")
    page.locator(".card").first.locator(".fb-like").click()
    page.wait_for_selector(".card.liked")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "cs_session")
    uid = cat.user_id(f"session:{cookie}")
    assert cat.user_ratings(uid)
    data = page.evaluate("() => fetch(document.getElementById('mydata').href)"
                         ".then(r => r.json())")
    assert data["user"]["id"] == uid and len(data["ratings"]) == 1
    page.on("dialog", lambda d: d.accept())
    page.click("#forget")
    page.wait_for_function("() => document.querySelector('#log').innerText"
                           ".includes('forgotten you')")
    assert cat.user_id(f"session:{cookie}") is None and cat.user_ratings(uid) == []
    page.screenshot(path=str(artifacts / "08-forget-me.png"))
