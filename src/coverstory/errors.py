"""Errors shared across coverstory."""


class CommandError(Exception):
    """A user error in a CLI command: printed as one line (or a JSON error), exit status 2."""
