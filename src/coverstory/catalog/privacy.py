"""What coverstory keeps about a reader, erasing it, and how long chat turns are kept.

A reader's data, all in the catalog: their ``users`` row, their ratings (explicit stars and
likes / dislikes / reads), the event log of what they did (feedback, chat turns, accepted
suggestions), their profile vectors (one per recommender) and their chat sessions (the
conversation state: what they asked for, the books shown).

    data = reader_data(cat, uid)        # everything above, as JSON-ready dicts
    counts = forget_reader(cat, uid)    # all of it deleted in one transaction
    purge_chats(cat, days=30)           # chat turns and sessions older than 30 days

Erasure removes the rows at once. A saved recommender fitted before the erasure still
holds the reader's ratings inside its training matrix until it is rebuilt (``coverstory
build recommender``; the server starts that rebuild itself); a rebuild reads the catalog,
so after it nothing of the reader remains in any saved model.
"""

from __future__ import annotations

import json
import time

import numpy as np

CHAT_EVENTS = ("turn", "accept")   # event kinds that record a conversation (not feedback)
PURGE_BATCH = 5000                  # rows per transaction: readers' writes are not held up


def resolve_user(catalog, spec: str) -> int:
    """A catalog user id from ``'42'`` or an external id such as ``'goodbooks:58'`` or
    ``'session:<cookie>'``; KeyError when there is no such reader."""
    spec = str(spec).strip()
    if spec.isdigit():
        if catalog.conn.execute("SELECT 1 FROM users WHERE id=?", (int(spec),)).fetchone():
            return int(spec)
        raise KeyError(f"no user with id {spec}")
    if ":" not in spec:
        raise ValueError(f"USER must be a catalog id or an external id 'source:id' "
                         f"(e.g. goodbooks:58, session:<cookie>), got {spec!r}")
    uid = catalog.user_id(spec)
    if uid is None:
        raise KeyError(f"no user {spec!r} in the catalog")
    return uid


def _session_ids(conn, user_id: int, session_ids=()) -> list[str]:
    ids = {r[0] for r in conn.execute("SELECT id FROM sessions WHERE user_id=?", (user_id,))}
    return sorted(ids | {s for s in session_ids if s})


def _in(ids) -> str:
    return ",".join("?" * len(ids))


def reader_data(catalog, user_id: int | None, session_ids=()) -> dict:
    """Everything the catalog keeps about one reader (None: an unknown reader, nothing)."""
    out = {"user": None, "ratings": [], "events": [], "profiles": [], "sessions": [],
           "chat_retention_days": chat_retention_days()}
    if user_id is None:
        return out
    conn = catalog.conn
    row = conn.execute("SELECT id, external_id, name, created_at FROM users WHERE id=?",
                       (user_id,)).fetchone()
    if row is None:
        return out
    out["user"] = dict(row)
    out["ratings"] = [dict(r) for r in conn.execute(
        "SELECT r.book_id, b.title, r.rating, r.source, r.shelf, r.created_at FROM ratings r "
        "LEFT JOIN books b ON b.id=r.book_id WHERE r.user_id=? ORDER BY r.rowid", (user_id,))]
    sids = _session_ids(conn, user_id, session_ids)
    events = conn.execute(
        f"SELECT id, ts, kind, book_id, session_id, payload FROM events WHERE user_id=? "
        f"OR session_id IN ({_in(sids)}) ORDER BY id", (user_id, *sids))
    out["events"] = [dict(r, payload=json.loads(r["payload"] or "{}")) for r in events]
    out["profiles"] = [
        {"model": r["model"], "updated_at": r["updated_at"],
         "meta": json.loads(r["meta"] or "{}"),
         "vector": np.frombuffer(r["vector"], dtype="<f4").round(6).tolist()}
        for r in conn.execute("SELECT model, vector, meta, updated_at FROM profiles "
                              "WHERE user_id=?", (user_id,))]
    out["sessions"] = [dict(r, state=json.loads(r["state"] or "{}")) for r in conn.execute(
        f"SELECT id, policy, created_at, updated_at, state FROM sessions "
        f"WHERE id IN ({_in(sids)}) ORDER BY created_at", sids)]
    return out


def forget_reader(catalog, user_id: int, session_ids=()) -> dict:
    """Delete the reader and everything kept about them (one transaction; deleted content
    is overwritten in the database file, not just unlinked). Returns the counts."""
    conn = catalog.conn
    old = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete=ON")
    try:
        with catalog.transaction() as c:
            sids = _session_ids(c, user_id, session_ids)
            counts = {
                "events": c.execute(f"DELETE FROM events WHERE user_id=? OR session_id IN "
                                    f"({_in(sids)})", (user_id, *sids)).rowcount,
                "sessions": c.execute(f"DELETE FROM sessions WHERE user_id=? OR id IN "
                                      f"({_in(sids)})", (user_id, *sids)).rowcount,
                "profiles": c.execute("DELETE FROM profiles WHERE user_id=?",
                                      (user_id,)).rowcount,
                "ratings": c.execute("DELETE FROM ratings WHERE user_id=?",
                                     (user_id,)).rowcount,
                "users": c.execute("DELETE FROM users WHERE id=?", (user_id,)).rowcount,
            }
    finally:
        conn.execute(f"PRAGMA secure_delete={int(old)}")
    try:   # move the overwritten pages from the write-ahead log into the file now
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except Exception:  # noqa: BLE001 - best effort: SQLite checkpoints by itself later
        pass
    return counts


def chat_retention_days() -> float:
    """The ``chat_retention_days`` setting: days chat turns are kept (0: kept forever)."""
    from coverstory.config import setting

    raw = setting("chat_retention_days").strip()
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not days >= 0 or days == float("inf"):
        raise ValueError(f"COVERSTORY_CHAT_RETENTION_DAYS must be a number of days >= 0 "
                         f"(0 keeps chat turns forever), got {raw!r}")
    return days


def purge_chats(catalog, days: float | None = None) -> dict:
    """Delete chat turns (``turn`` and ``accept`` events) older than ``days`` and chat
    sessions idle that long (default: the ``chat_retention_days`` setting; 0 purges
    nothing). Ratings and feedback stay until the reader erases them."""
    days = chat_retention_days() if days is None else float(days)
    counts = {"events": 0, "sessions": 0, "days": days}
    if days <= 0:
        return counts
    t0 = time.perf_counter()
    kinds = _in(CHAT_EVENTS)
    for table, sql, args in (
        ("events", f"SELECT id FROM events WHERE kind IN ({kinds}) AND ts < strftime("
                   f"'%Y-%m-%dT%H:%M:%f', 'now', ?) LIMIT {PURGE_BATCH}",
         (*CHAT_EVENTS, f"-{days} days")),
        ("sessions", f"SELECT id FROM sessions WHERE updated_at < datetime('now', ?) "
                     f"LIMIT {PURGE_BATCH}", (f"-{days} days",)),
    ):
        while True:
            with catalog.transaction() as c:
                ids = [r[0] for r in c.execute(sql, args)]
                if ids:
                    c.execute(f"DELETE FROM {table} WHERE id IN ({_in(ids)})", ids)
            counts[table] += len(ids)
            if len(ids) < PURGE_BATCH:
                break
    counts["seconds"] = round(time.perf_counter() - t0, 3)
    return counts
