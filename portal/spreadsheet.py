"""Cells for files that people open in Excel or WPS."""
from __future__ import annotations

from typing import Any

# A cell starting with one of these is a formula to Excel/WPS (CSV injection): prefix an apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class SafeWriter:
    """A csv.writer whose cells can never start a formula."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def writerow(self, row: Any) -> Any:
        return self.writer.writerow([safe_cell(v) for v in row])
