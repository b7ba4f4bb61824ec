"""Result records shared by search, recommendation, dialogue and the interfaces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Hit:
    """One suggested or found book: its id, a score (higher is better) and why."""

    book_id: int
    score: float
    reason: str = ""                       # one line a reader can understand
    details: dict = field(default_factory=dict)   # per-part scores etc., for explanations

    def to_dict(self) -> dict:
        return asdict(self)
