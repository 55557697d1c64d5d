"""The error a reader raises when a file is not what it claims or is ambiguous."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DataFormatError"]


class DataFormatError(ValueError):
    """A file that cannot be read as market data without guessing.

    The message names the file and, where it is about one, the row (1-based line in
    the file) and field, and says what was expected.
    """

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, field: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path
        if line is not None:
            where += f" line {line}"
        if field is not None:
            where += f" field {field!r}"
        super().__init__(f"{where}: {problem}")
