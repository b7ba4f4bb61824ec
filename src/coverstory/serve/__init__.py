"""coverstory.serve."""
