"""Errors of the search area that a user can fix."""

from __future__ import annotations

from coverstory.errors import BadInput


class BadImage(BadInput):
    """The photo cannot be used (empty, not an image, truncated, too large...).

    The message says what was wrong and what to send instead.
    """
