"""Plain records passed between the catalog and the rest of coverstory."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Book:
    """One book of the catalog (merged over every source that holds it)."""

    id: int
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    isbn13: str | None = None
    language: str | None = None
    description: str | None = None
    cover_path: str | None = None      # absolute path of the cover image file
    cover_sha256: str | None = None
    tags: list[str] = field(default_factory=list)        # reader shelf tags / genres (goodbooks)
    categories: list[str] = field(default_factory=list)  # shop categories (Book Depository)
    sources: list[str] = field(default_factory=list)     # "source:source_id"
    average_rating: float | None = None
    ratings_count: int | None = None
    pages: int | None = None

    @property
    def author(self) -> str:
        return ", ".join(self.authors)

    def text(self) -> str:
        """Title, author, tags and description as one string (for text encoders and search)."""
        parts = [self.title]
        if self.authors:
            parts.append("by " + self.author)
        if self.tags or self.categories:
            parts.append("; ".join(self.categories + self.tags[:20]))
        if self.description:
            parts.append(self.description)
        return ". ".join(parts)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "title": self.title, "authors": self.authors, "year": self.year,
            "isbn13": self.isbn13, "language": self.language, "description": self.description,
            "has_cover": self.cover_path is not None, "cover_sha256": self.cover_sha256,
            "tags": self.tags, "categories": self.categories, "sources": self.sources,
            "average_rating": self.average_rating, "ratings_count": self.ratings_count,
            "pages": self.pages,
        }
