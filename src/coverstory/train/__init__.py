"""coverstory.train."""
