"""A reader's data: what is kept, erasing it (rows and, at the next rebuild, the saved
recommender), and chat turns kept only ``chat_retention_days`` (issue 15, item 10)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coverstory.catalog import Catalog
from coverstory.catalog.privacy import (chat_retention_days, forget_reader, purge_chats,
                                        reader_data, resolve_user)


def add_chat(cat, uid: int, sid: str, *, days_ago: float = 0, book: int = 1) -> None:
    """A chat session with a turn and an accepted suggestion, ``days_ago`` old."""
    with cat.transaction() as c:
        c.execute("INSERT INTO sessions(id, user_id, state, created_at, updated_at) VALUES "
                  "(?, ?, ?, datetime('now', ?), datetime('now', ?))",
                  (sid, uid, json.dumps({"about": ["a cosy mystery in venice"]}),
                   f"-{days_ago} days", f"-{days_ago} days"))
        for kind in ("turn", "accept"):
            c.execute("INSERT INTO events(ts, user_id, session_id, kind, book_id, payload) "
                      "VALUES (strftime('%Y-%m-%dT%H:%M:%f', 'now', ?), ?, ?, ?, ?, '{}')",
                      (f"-{days_ago} days", uid, sid, kind, book))


def counts(cat, uid: int) -> dict:
    q = lambda sql: cat.conn.execute(sql, (uid,)).fetchone()[0]  # noqa: E731
    return {"users": q("SELECT COUNT(*) FROM users WHERE id=?"),
            "ratings": q("SELECT COUNT(*) FROM ratings WHERE user_id=?"),
            "events": q("SELECT COUNT(*) FROM events WHERE user_id=?"),
            "profiles": q("SELECT COUNT(*) FROM profiles WHERE user_id=?"),
            "sessions": q("SELECT COUNT(*) FROM sessions WHERE user_id=?")}


def test_reader_data_then_forget_removes_every_row_and_nothing_else(tiny_home):
    from coverstory.recommend.profiles import save_profile

    cat = Catalog.open(tiny_home)
    uid, other = cat.user_id("tiny:0"), cat.user_id("tiny:1")
    cat.log_event("like", user_id=uid, book_id=2)
    save_profile(cat, uid, "hybrid.als", np.ones(4, np.float32), {"n": 3})
    add_chat(cat, uid, "session-of-tiny0")
    add_chat(cat, other, "session-of-tiny1")
    before_other = counts(cat, other)

    data = reader_data(cat, uid)
    assert data["user"]["external_id"] == "tiny:0"
    assert {r["book_id"] for r in data["ratings"]} == {b for b, _ in cat.user_ratings(uid)}
    assert {e["kind"] for e in data["events"]} == {"like", "turn", "accept"}
    assert data["profiles"][0]["vector"] == [1.0] * 4
    assert data["sessions"][0]["state"]["about"] == ["a cosy mystery in venice"]
    assert data["chat_retention_days"] == 30
    json.dumps(data)   # JSON-ready

    deleted = forget_reader(cat, uid)
    assert deleted == {"events": 3, "sessions": 1, "profiles": 1,
                       "ratings": len(data["ratings"]), "users": 1}
    assert counts(cat, uid) == dict.fromkeys(before_other, 0)
    assert cat.conn.execute("SELECT COUNT(*) FROM events WHERE session_id=?",
                            ("session-of-tiny0",)).fetchone()[0] == 0
    assert counts(cat, other) == before_other
    assert reader_data(cat, uid)["user"] is None
    with pytest.raises(KeyError):
        resolve_user(cat, "tiny:0")


def test_purge_keeps_recent_chats_and_all_feedback(tiny_home, monkeypatch):
    cat = Catalog.open(tiny_home)
    uid = cat.user_id("tiny:2")
    add_chat(cat, uid, "old-session-0001", days_ago=45)
    add_chat(cat, uid, "new-session-0001", days_ago=2)
    with cat.transaction() as c:   # a like from long ago is feedback, not a chat turn
        c.execute("INSERT INTO events(ts, user_id, kind, book_id) VALUES "
                  "(strftime('%Y-%m-%dT%H:%M:%f', 'now', '-400 days'), ?, 'like', 3)", (uid,))
    ratings = cat.stats()["ratings"]
    got = purge_chats(cat)                        # the setting's default: 30 days
    assert (got["events"], got["sessions"], got["days"]) == (2, 1, 30.0)
    left = cat.conn.execute("SELECT kind, session_id FROM events WHERE user_id=? ORDER BY id",
                            (uid,)).fetchall()
    assert [tuple(r) for r in left] == [("turn", "new-session-0001"),
                                        ("accept", "new-session-0001"), ("like", None)]
    assert [r[0] for r in cat.conn.execute("SELECT id FROM sessions")] == ["new-session-0001"]
    assert cat.stats()["ratings"] == ratings
    assert purge_chats(cat, days=1)["events"] == 2
    assert purge_chats(cat, days=0) == {"events": 0, "sessions": 0, "days": 0.0}
    monkeypatch.setenv("COVERSTORY_CHAT_RETENTION_DAYS", "a month")
    with pytest.raises(ValueError, match="COVERSTORY_CHAT_RETENTION_DAYS"):
        chat_retention_days()


def test_cli_user_data_forget_and_purge(tiny_home, capsys):
    from coverstory.cli import main

    cat = Catalog.open(tiny_home)
    uid = cat.user_id("tiny:3")
    add_chat(cat, uid, "old-session-0003", days_ago=90)
    home = ["--home", str(tiny_home), "--json"]
    assert main([*home, "user-data", "tiny:3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["user"]["id"] == uid and data["sessions"]
    assert main([*home, "purge-chats", "--days", "60"]) == 0
    assert json.loads(capsys.readouterr().out)["sessions"] == 1
    assert main([*home, "build", "recommender"]) == 0
    capsys.readouterr()
    assert main([*home, "forget", str(uid)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deleted"]["users"] == 1 and out["rebuild_needed"] is True
    assert main([*home, "forget", "tiny:3"]) == 2
    assert "no user 'tiny:3'" in capsys.readouterr().out
    assert main([*home, "user-data", "nobody"]) == 2
    assert "external id" in capsys.readouterr().out


def test_the_next_rebuild_holds_nothing_of_a_forgotten_reader(tiny_home):
    """The saved recommender is fitted on the catalog's ratings: after an erasure, a
    rebuild's training matrix has one reader fewer and none of their ratings."""
    from coverstory.cli import main
    from coverstory.recommend.base import Recommender

    cat = Catalog.open(tiny_home)
    path = tiny_home / "models" / "recommender"
    assert main(["--home", str(tiny_home), "build", "recommender"]) == 0
    before = Recommender.load(path).train_
    uid = cat.user_id("tiny:0")
    n = len(cat.user_ratings(uid))
    forget_reader(cat, uid)
    assert main(["--home", str(tiny_home), "build", "recommender"]) == 0
    after = Recommender.load(path).train_
    assert after.shape[0] == before.shape[0] - 1 and after.nnz == before.nnz - n
