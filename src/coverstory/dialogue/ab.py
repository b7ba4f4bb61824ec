"""A/B outcome metrics per dialogue policy, from the sessions table and the event log."""

from __future__ import annotations

import json


def ab_report(catalog, since: str | None = None) -> list[dict]:
    """One row per policy: sessions, turns, accepted, acceptance rate, mean turns to accept,
    likes / dislikes / reads given in those sessions."""
    per: dict[str, dict] = {}
    sessions: dict[str, str] = {}
    for sid, policy, state in catalog.sessions(since):
        st = json.loads(state or "{}")
        row = per.setdefault(policy, {"policy": policy, "sessions": 0, "turns": 0, "accepted": 0,
                                      "_accept_turns": [], "likes": 0, "dislikes": 0, "reads": 0})
        row["sessions"] += 1
        row["turns"] += int(st.get("turns", 0))
        if st.get("accepted") is not None:
            row["accepted"] += 1
            row["_accept_turns"].append(int(st.get("accepted_turn") or st.get("turns", 0)))
        sessions[sid] = policy
    if sessions:
        for sid, kind, n in catalog.feedback_counts_by_session():
            pol = sessions.get(sid)
            if pol is not None:
                per[pol][kind + "s"] += n
    out = []
    for row in sorted(per.values(), key=lambda r: r["policy"]):
        t = row.pop("_accept_turns")
        row["acceptance_rate"] = row["accepted"] / row["sessions"] if row["sessions"] else 0.0
        row["mean_turns_to_accept"] = sum(t) / len(t) if t else None
        out.append(row)
    return out
