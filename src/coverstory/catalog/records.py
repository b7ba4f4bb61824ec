"""The catalog's reader records: chat sessions, their events, and reader profiles (part of
``Catalog``).

The catalog is the only owner of SQL (tests/test_architecture.py checks that ``.conn`` is
not used outside catalog/): the dialogue's session store and the recommender's profiles
read and write these tables through the methods below.
"""

from __future__ import annotations

import json
import sqlite3


class ReaderRecords:
    """Sessions and profiles; mixed into :class:`coverstory.catalog.store.Catalog`."""

    conn: sqlite3.Connection

    # ---- chat sessions ----------------------------------------------------------------------
    def session(self, session_id: str) -> sqlite3.Row | None:
        """The session's row (``user_id``, ``policy``, ``state`` JSON), or None."""
        return self.conn.execute("SELECT user_id, policy, state FROM sessions WHERE id=?",
                                 (session_id,)).fetchone()

    def create_session(self, session_id: str, user_id: int | None, policy: str,
                       state: str) -> None:
        """Insert a session unless one with this id exists (then nothing changes)."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions(id, user_id, policy, state) "
                         "VALUES (?,?,?,?)", (session_id, user_id, policy, state))

    def save_session(self, session_id: str, state: str, user_id: int | None,
                     policy: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sessions SET state=?, user_id=?, policy=?, "
                         "updated_at=datetime('now') WHERE id=?",
                         (state, user_id, policy, session_id))

    def sessions(self, since: str | None = None) -> list[tuple[str, str, str]]:
        """(id, policy, state JSON) of every session, or of those created at ``since``
        (SQLite datetime text) or later."""
        q, args = "SELECT id, policy, state FROM sessions", ()
        if since:
            q, args = q + " WHERE created_at >= ?", (since,)
        return [tuple(r) for r in self.conn.execute(q, args)]

    def feedback_counts_by_session(self) -> list[tuple[str, str, int]]:
        """(session id, kind, count) of the likes, dislikes and reads given in chats."""
        return [tuple(r) for r in self.conn.execute(
            "SELECT session_id, kind, COUNT(*) FROM events WHERE session_id IS NOT NULL "
            "AND kind IN ('like', 'dislike', 'read') GROUP BY session_id, kind")]

    def turn_counts_by_session(self) -> dict[str, int]:
        """Session id -> the chat turns the catalog holds for it."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT session_id, COUNT(*) FROM events WHERE kind='turn' GROUP BY session_id")}

    def event_keys(self) -> set[tuple[int | None, int | None, str]]:
        """(user id, book id, kind) of every event: what a durability check looks up."""
        return {(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT user_id, book_id, kind FROM events")}

    def last_event_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def session_events_after(self, event_id: int, kinds: tuple[str, ...], session_id: str,
                             user_id: int | None) -> list[tuple[str, int | None]]:
        """(kind, book id) of the events of ``kinds`` newer than ``event_id`` that belong to
        the session or to its reader, oldest first."""
        q = ",".join("?" * len(kinds))
        return [(r[0], r[1]) for r in self.conn.execute(
            f"SELECT kind, book_id FROM events WHERE id > ? AND kind IN ({q}) "
            f"AND (session_id = ? OR (user_id IS NOT NULL AND user_id = ?)) ORDER BY id",
            (int(event_id), *kinds, session_id, user_id if user_id is not None else -1))]

    # ---- reader profiles --------------------------------------------------------------------
    def profile(self, user_id: int, model: str) -> tuple[bytes, dict] | None:
        """(vector bytes, meta) of a reader's stored profile for ``model``, or None."""
        r = self.conn.execute("SELECT vector, meta FROM profiles WHERE user_id=? AND model=?",
                              (int(user_id), model)).fetchone()
        return None if r is None else (r[0], json.loads(r[1]))

    def save_profile(self, user_id: int, model: str, vector: bytes, meta: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO profiles(user_id, model, vector, meta, updated_at) "
                "VALUES (?,?,?,?,datetime('now')) ON CONFLICT(user_id, model) DO UPDATE SET "
                "vector=excluded.vector, meta=excluded.meta, updated_at=excluded.updated_at",
                (int(user_id), model, vector, json.dumps(meta)))
