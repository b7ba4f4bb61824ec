"""coverstory.recommend."""
