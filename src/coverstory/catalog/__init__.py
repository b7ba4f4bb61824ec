"""The catalog: books, users, ratings and events in SQLite, and the importers that fill it."""

from coverstory.catalog.models import Book
from coverstory.catalog.store import Catalog

__all__ = ["Book", "Catalog"]
