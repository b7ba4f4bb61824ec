"""Text preprocessing: normalisation, cleaning, tokenisation, stop words, stemming.

Offline-safe libraries only: stop words are scikit-learn's English list (318 words; nltk's
data cannot be downloaded here) and stemming is the Snowball (Porter 2) English stemmer
from ``snowballstemmer``.

>>> preprocess("The wizards were <b>flying</b> over Hogwarts!")
['wizard', 'fli', 'hogwart']
>>> tokenize("Don't panic: 42 towels.")
["don't", 'panic', '42', 'towels']
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# boilerplate seen in the synopsis sources (see ../shared/data/README.md)
_BOILERPLATE = [
    re.compile(r"librarian'?s note:.*?(\.|$)", re.I),
    re.compile(r"\bmore book description\s*$", re.I),
    re.compile(r"\(?\bisbn[\s:-]*[0-9xX-]{10,17}\)?", re.I),
]
_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalize(text: str) -> str:
    """Unicode NFKC, HTML entities and tags removed, lower case, quotes unified, spaces
    collapsed."""
    text = html.unescape(text or "")
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def clean(text: str) -> str:
    """:func:`normalize` plus removal of URLs and known source boilerplate."""
    text = normalize(text)
    text = _URL.sub(" ", text)
    for pat in _BOILERPLATE:
        text = pat.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def tokenize(text: str) -> list[str]:
    """Word tokens (letters/digits, inner apostrophes kept) of the normalised text."""
    text = normalize(text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    return _TOKEN.findall(text)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def stem(tokens: list[str]) -> list[str]:
    """Snowball English stems (``running`` -> ``run``)."""
    return _stemmer().stemWords(tokens)


def remove_stop_words(tokens: list[str]) -> list[str]:
    sw = stop_words()
    return [t for t in tokens if t not in sw and t.split("'")[0] not in sw]


def preprocess(text: str, *, stop: bool = True, stemming: bool = True,
               min_len: int = 2) -> list[str]:
    """clean -> tokenize -> drop stop words and 1-letter tokens -> stem."""
    toks = [t for t in tokenize(clean(text)) if len(t) >= min_len]
    if stop:
        toks = remove_stop_words(toks)
    toks = [t.replace("'", "") for t in toks]
    return stem(toks) if stemming else toks
