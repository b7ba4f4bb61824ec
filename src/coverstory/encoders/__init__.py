"""coverstory.encoders."""
