"""coverstory.search."""
