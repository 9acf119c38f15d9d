"""The one domain exception: bad input that stops a stage, reported as one line, no traceback."""


class DataError(Exception):
    """A whole-file or configuration problem the user must fix (file, column and rule named)."""
