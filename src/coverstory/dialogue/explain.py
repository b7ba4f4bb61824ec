"""One-line reasons grounded in data: matched description words, shared tags, "like X"."""

from __future__ import annotations

from coverstory.dialogue.bookindex import BookIndex
from coverstory.dialogue.lexicon import FACETS
from coverstory.dialogue.state import SessionState


def reason(idx: BookIndex, row: int, st: SessionState, parts: dict, about_text: str,
           anchor_reason: str = "", profile_reason: str = "") -> str:
    bits: list[str] = []
    if about_text and parts.get("text", 0) > 0.05:
        words = idx.matched_terms(row, about_text)
        if words:
            bits.append("mentions " + ", ".join(f"“{w}”" for w in words))
    if anchor_reason and parts.get("anchor", 0) > 0.05:
        bits.append(anchor_reason)
    matched = []
    for kind, vals in st.prefs.items():
        for v in vals:
            if kind in FACETS and idx.has(kind, v)[row]:
                matched.append(v)
            elif kind == "tag" and v in idx.book_tag_names(row):
                matched.append(v.replace("-", " "))
            elif kind == "author" and v in idx.authors[row]:
                matched.append(f"by {v}")
    if matched:
        bits.append("matches " + ", ".join(matched[:4]))
    if profile_reason and not bits:
        bits.append(profile_reason)
    if not bits:
        tags = [t.replace("-", " ") for t in idx.book_tag_names(row)[:3]]
        if idx.popularity[row] > 0.7:
            bits.append("one of the most-read books in the catalog"
                        + (f" ({', '.join(tags)})" if tags else ""))
        elif tags:
            bits.append("shelved as " + ", ".join(tags))
        else:
            bits.append("a close match overall")
    text = "; ".join(bits)
    return text[0].upper() + text[1:]
