"""Markdown tables for reports: the benchmarks' and the command line's (``coverstory dialogue
report``) tables come from this one function."""

from __future__ import annotations


def md_table(rows: list[dict], columns: list[str] | None = None, floatfmt: str = "{:.3f}") -> str:
    """A Markdown table from a list of dicts (floats formatted with floatfmt)."""
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])
    fmt = lambda v: floatfmt.format(v) if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"
