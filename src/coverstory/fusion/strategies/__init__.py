"""Fusion strategies, one module each; ``coverstory.fusion.registry`` lists them."""
