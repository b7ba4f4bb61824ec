"""coverstory.dialogue."""
