"""Errors of the search area that a user can fix."""

from __future__ import annotations


class BadImage(ValueError):
    """The photo cannot be used (empty, not an image, truncated, too large...).

    The message says what was wrong and what to send instead.
    """
