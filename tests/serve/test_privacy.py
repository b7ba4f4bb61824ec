"""A reader sees and erases what coverstory keeps about them over HTTP; admins do the same
for any catalog user; erasure starts the recommender's rebuild; old chat turns are purged
by the server; the page links to all of it (issue 15, item 10)."""

from __future__ import annotations

import time

from coverstory.catalog import Catalog
from tests.catalog.test_privacy import add_chat, counts
from tests.serve.conftest import ADMIN
from tests.serve.test_jobs import wait_job

AUTH = {"Authorization": f"Bearer {ADMIN}"}


def test_a_reader_sees_then_erases_their_data(client, stack):
    cat = stack["catalog"]
    assert client.get("/api/users/me/data").json()["user"] is None    # nothing kept yet
    r = client.post("/api/feedback", json={"book_id": 2, "kind": "like"})
    uid, sid = r.json()["user_id"], client.cookies.get("cs_session")
    add_chat(cat, uid, sid)
    other = cat.user_id("tiny:1")
    others_before = counts(cat, other)

    data = client.get("/api/users/me/data").json()
    assert data["user"]["id"] == uid and data["user"]["external_id"] == f"session:{sid}"
    assert [(x["book_id"], x["rating"]) for x in data["ratings"]] == [(2, 5.0)]
    assert {e["kind"] for e in data["events"]} == {"like", "turn", "accept"}
    assert data["sessions"][0]["id"] == sid and data["chat_retention_days"] == 30

    r = client.delete("/api/users/me")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["erased"] and out["user_id"] == uid
    assert out["deleted"]["ratings"] == 1 and out["deleted"]["users"] == 1
    assert out["rebuild"] is None                  # doubles: no saved recommender to rebuild
    assert "cs_session=" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    assert counts(cat, uid) == dict.fromkeys(others_before, 0)
    assert cat.conn.execute("SELECT COUNT(*) FROM events WHERE session_id=?",
                            (sid,)).fetchone()[0] == 0
    assert counts(cat, other) == others_before
    client.cookies.clear()
    assert client.delete("/api/users/me").json() == {"erased": False, "user_id": None,
                                                     "deleted": {}, "rebuild": None}
    bad = client.get("/api/users/me/data", params={"session_id": "x/../y"})
    assert bad.status_code == 422


def test_admin_reads_and_erases_any_reader(client, stack):
    cat = stack["catalog"]
    uid = cat.user_id("tiny:2")
    assert client.get(f"/api/admin/users/{uid}/data").status_code == 401
    assert client.delete(f"/api/admin/users/{uid}").status_code == 401
    data = client.get(f"/api/admin/users/{uid}/data", headers=AUTH).json()
    assert data["user"]["external_id"] == "tiny:2" and data["ratings"]
    r = client.delete(f"/api/admin/users/{uid}", headers=AUTH)
    assert r.status_code == 200 and r.json()["deleted"]["ratings"] == len(data["ratings"])
    assert counts(cat, uid)["ratings"] == 0
    assert client.delete(f"/api/admin/users/{uid}", headers=AUTH).status_code == 404
    assert client.get("/api/admin/users/999999/data", headers=AUTH).status_code == 404


def test_erasure_rebuilds_the_saved_recommender_without_the_reader(tiny_home):
    from fastapi.testclient import TestClient

    from coverstory.cli import main
    from coverstory.recommend.base import Recommender
    from coverstory.serve.app import create_app

    path = tiny_home / "models" / "recommender"
    assert main(["--home", str(tiny_home), "build", "recommender"]) == 0
    before = Recommender.load(path).train_
    cat = Catalog.open(tiny_home)
    uid = cat.user_id("tiny:0")
    n = len(cat.user_ratings(uid))
    with TestClient(create_app(tiny_home, admin_token=ADMIN)) as c:
        r = c.delete(f"/api/admin/users/{uid}", headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["rebuild"].startswith("job ")
        jobs = c.get("/api/admin/stats", headers=AUTH).json()["jobs"]
        [job] = [j for j in jobs if j["command"] == ["build", "recommender"]]
        assert "erasure" in job["reason"]
        assert wait_job(c, job["id"])["state"] == "done"
    after = Recommender.load(path).train_
    assert after.shape[0] == before.shape[0] - 1 and after.nnz == before.nnz - n


def test_the_server_purges_old_chat_turns(client, stack):
    cat = stack["catalog"]
    uid = cat.user_id("tiny:3")
    add_chat(cat, uid, "old-session-0042", days_ago=31)
    add_chat(cat, uid, "new-session-0042", days_ago=1)
    assert client.post("/api/chat", json={"text": "dragons"}).status_code == 200
    for _ in range(100):
        left = {r[0] for r in cat.conn.execute("SELECT id FROM sessions WHERE user_id=?",
                                               (uid,))}
        if left == {"new-session-0042"}:
            break
        time.sleep(0.05)
    assert left == {"new-session-0042"}
    assert cat.conn.execute("SELECT COUNT(*) FROM events WHERE session_id=?",
                            ("old-session-0042",)).fetchone()[0] == 0
    ret = client.app.state.chat_retention
    assert ret.days == 30 and ret.result["sessions"] == 1
    assert ret.maybe_purge(cat) is None               # at most once an hour


def test_the_page_links_to_your_data(client):
    page = client.get("/").text
    assert 'href="/api/users/me/data"' in page and 'id="forget"' in page
    js = client.get("/static/app.js").text
    assert '"/api/users/me", { method: "DELETE" }' in js
