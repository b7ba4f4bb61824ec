"""coverstory.fusion."""
