"""coverstory.index."""
