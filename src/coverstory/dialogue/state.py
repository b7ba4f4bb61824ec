"""What a session remembers, and where: the catalog's ``sessions`` table (JSON state)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


@dataclass
class SessionState:
    """Preferences, exclusions and the books seen so far in one conversation."""

    session_id: str
    user_id: int | None = None
    policy: str = "default"
    turns: int = 0
    prefs: dict[str, dict[str, float]] = field(default_factory=dict)   # kind -> value -> weight
    excl: dict[str, list[str]] = field(default_factory=dict)           # kind -> values
    about: list[str] = field(default_factory=list)                    # what it should be about
    anchors: list[int] = field(default_factory=list)                  # "like X"
    years: list[int] | None = None                                    # [from, to)
    pages: list[int] | None = None                                    # [from, to)
    language: str | None = None                                       # "en", "fr", ...
    audience: str | None = None                # hard: "children", "young adult", "adult"
    age: int | None = None
    source: dict[str, int] = field(default_factory=dict)              # "kind:value" -> turn
    limit_values: dict = field(default_factory=dict)    # years/pages/language when stamped
    soft: list[str] = field(default_factory=list)     # "kind:value" said in a plot: preferences
    reasons: dict[str, str] = field(default_factory=dict)             # book id -> why shown
    last_act: str = ""                  # "explain" / "ask:author"...: "and the third?" repeats it
    shown: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    liked: list[int] = field(default_factory=list)
    read: list[int] = field(default_factory=list)
    last_books: list[int] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    question: dict | None = None                                      # {"facet", "options"}
    questions_in_row: int = 0
    focus: int | None = None                                          # the book "it" means
    accepted: int | None = None
    accepted_turn: int | None = None

    # ---- updates --------------------------------------------------------------------
    def prefer(self, kind: str, value: str, weight: float = 1.0) -> None:
        self.source[f"{kind}:{value}"] = self.turns
        vals = self.prefs.setdefault(kind, {})
        vals[value] = max(vals.get(value, 0.0), weight)
        if value in self.excl.get(kind, []):
            self.excl[kind].remove(value)

    def set_audience(self, audience: str, age: int | None) -> None:
        """Who the books are for ("my 8 year old": children, 8), said this turn."""
        self.audience, self.age = audience, age
        self.source[f"audience:{audience}"] = self.turns

    def exclude(self, kind: str, value: str) -> None:
        self.source[f"-{kind}:{value}"] = self.turns
        ex = self.excl.setdefault(kind, [])
        if value not in ex:
            ex.append(value)
        self.prefs.get(kind, {}).pop(value, None)

    def limits(self) -> dict[str, object]:
        """The limits that have no "kind:value" entry of their own (years, pages, language)."""
        return {"era": self.years, "length": self.pages, "language": self.language}

    def limit_turn(self, name: str) -> int:
        """The turn that set the limit ``name``: this one when it changed since the last
        ``stamp_limits``, else the recorded one (0 when unknown)."""
        if self.limits().get(name) != self.limit_values.get(name):
            return self.turns
        return self.source.get(name, 0)

    def stamp_limits(self) -> None:
        """At the end of a turn: record it as the source of every limit it changed."""
        for name, value in self.limits().items():
            if value != self.limit_values.get(name):
                self.source[name] = self.turns
                self.limit_values[name] = value

    def forget_preferences(self) -> None:
        """'start over' or a new topic: what was asked for goes; books shown, rejected or read
        stay so."""
        self.prefs, self.excl, self.about, self.anchors, self.years = {}, {}, [], [], None
        self.pages, self.language, self.audience, self.age, self.source = None, None, None, None, {}
        self.limit_values = {}
        self.soft = []
        self.asked, self.question, self.questions_in_row, self.last_books = [], None, 0, []

    def stated(self) -> int:
        """How many things the reader has told us so far."""
        return (sum(len(v) for v in self.prefs.values()) + sum(len(v) for v in self.excl.values())
                + len(self.about) + 3 * len(self.anchors) + (self.years is not None)
                + (self.pages is not None) + (self.audience is not None))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, session_id: str, text: str) -> "SessionState":
        d = json.loads(text or "{}")
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        d["session_id"] = session_id
        return cls(**d)


class SessionStore:
    """Load and save SessionState rows of a catalog."""

    def __init__(self, catalog):
        self.catalog = catalog

    def load(self, session_id: str, policy: str = "default",
             user_id: int | None = None) -> SessionState:
        row = self.catalog.session(session_id)
        if row is not None:
            st = SessionState.from_json(session_id, row["state"])
            st.user_id = row["user_id"] if row["user_id"] is not None else st.user_id
            st.policy = row["policy"] or st.policy
            return st
        if user_id is None:
            user_id = self.catalog.ensure_user(f"session:{session_id}")
        st = SessionState(session_id=session_id, user_id=user_id, policy=policy)
        self.catalog.create_session(session_id, user_id, policy, st.to_json())
        return st

    def save(self, st: SessionState) -> None:
        self.catalog.save_session(st.session_id, st.to_json(), st.user_id, st.policy)
