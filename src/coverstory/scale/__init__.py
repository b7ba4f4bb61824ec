"""coverstory.scale."""
