"""Normalising titles, authors and ISBNs so the same book from two sources merges."""

from __future__ import annotations

import re
import unicodedata

_PAREN = re.compile(r"\s*[\(\[].*?[\)\]]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ARTICLES = re.compile(r"^(the|a|an) ")


# Letters that Unicode does not decompose into a base letter plus accent: without this table
# NFKD keeps them and the ASCII filter below drops them ("Nesbø" -> "nesb").
_NO_DECOMPOSITION = str.maketrans({
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss", "ẞ": "SS",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
    "ı": "i", "ħ": "h", "Ħ": "H",
})


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return _NON_ALNUM.sub(" ", text).strip()


def norm_title(title: str) -> str:
    """'The Hunger Games (The Hunger Games, #1)' -> 'hunger games'; subtitles after ':' or ', or' dropped."""
    title = _PAREN.sub("", title or "")
    title = re.split(r":|, or ", title)[0]
    return _ARTICLES.sub("", fold(title))


def author_surname(authors: list[str] | str) -> str:
    if isinstance(authors, str):
        authors = split_authors(authors)
    if not authors:
        return ""
    parts = fold(authors[0]).split()
    return parts[-1] if parts else ""


def norm_key(title: str, authors: list[str] | str) -> str:
    return f"{norm_title(title)}|{author_surname(authors)}"


def split_authors(authors: str) -> list[str]:
    return [a.strip() for a in re.split(r",|;|&| and ", authors or "") if a.strip()]


def isbn13(value: str | float | int | None) -> str | None:
    """A valid ISBN-13 (or an ISBN-10 converted) as 13 digits, else None.

    Accepts goodbooks' float-formatted values such as '9.78043902348e+12' only when the
    check digit can be confirmed; otherwise returns None rather than guess.
    """
    if value is None:
        return None
    s = str(value).strip().upper().replace("-", "").replace(" ", "")
    if not s or s in {"NAN", "NONE"}:
        return None
    if "E+" in s:  # float-mangled: digits were lost, cannot be trusted
        return None
    if s.endswith(".0"):
        s = s[:-2]
    if len(s) == 10 and re.fullmatch(r"\d{9}[\dX]", s):
        core = "978" + s[:9]
        return core + _check13(core)
    if len(s) == 13 and s.isdigit() and _check13(s[:12]) == s[12]:
        return s
    return None


def isbn10_to_13(value: str | None) -> str | None:
    if not value:
        return None
    s = str(value).strip().upper()
    if re.fullmatch(r"\d{1,9}[\dX]", s):
        s = s.zfill(10)
        return isbn13(s)
    return None


def _check13(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)
