"""Canonical genres from goodbooks shelf tags (a catalog task for text encoders, and the
label behind the text genre-agreement benchmark).

Raw shelves are noisy ("to-read", "favorites") and some are near-universal ("fiction" is on
90% of goodbooks books), so each canonical genre is a small set of shelves that name it.
"""

from __future__ import annotations

GENRES: dict[str, tuple[str, ...]] = {
    "fantasy": ("fantasy", "magic", "ya-fantasy", "epic-fantasy", "urban-fantasy",
                "high-fantasy", "dragons"),
    "science-fiction": ("science-fiction", "sci-fi", "scifi", "dystopia", "dystopian",
                        "space-opera", "cyberpunk"),
    "mystery-crime": ("mystery", "crime", "detective", "murder-mystery", "mystery-crime",
                      "crime-mystery", "cozy-mystery", "mysteries", "crime-fiction"),
    "thriller": ("thriller", "thrillers", "suspense", "psychological-thriller", "spy"),
    "romance": ("romance", "contemporary-romance", "paranormal-romance", "historical-romance",
                "romantic", "love-story", "chick-lit"),
    "young-adult": ("young-adult", "ya", "teen", "ya-fiction", "young-adult-fiction"),
    "historical": ("historical-fiction", "historical", "historical-novel"),
    "classics": ("classics", "classic-literature", "classic", "classic-fiction"),
    "non-fiction": ("non-fiction", "nonfiction"),
    "history": ("history", "world-history", "military-history"),
    "children": ("children", "childrens", "children-s", "middle-grade", "picture-books",
                 "childrens-books", "kids"),
    "horror": ("horror", "zombies", "vampires", "ghosts"),
    "biography-memoir": ("biography", "memoir", "memoirs", "biography-memoir",
                         "autobiography", "biographies"),
    "philosophy-psychology": ("philosophy", "psychology", "self-help", "spirituality"),
    "humor": ("humor", "humour", "funny", "comedy"),
    "poetry": ("poetry", "poems"),
}
_TAG_TO_GENRE = {t: g for g, tags in GENRES.items() for t in tags}


def book_genres(tags: list[str]) -> list[str]:
    """The canonical genres named by a book's shelf tags (sorted, possibly empty)."""
    return sorted({_TAG_TO_GENRE[t] for t in tags if t in _TAG_TO_GENRE})
