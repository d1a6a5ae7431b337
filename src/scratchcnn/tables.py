"""Plain-text tables: the one formatter behind every table the command line prints."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def format_table(rows: Sequence[Sequence[object]], align: str = "", gap: int = 2) -> str:
    """Rows of cells as aligned columns, ``gap`` spaces apart, trailing spaces removed.

    ``align`` gives one letter per column, ``l`` (the default for missing letters) or
    ``r``; every cell is turned into text with ``str``. Widths are terminal columns, so
    Chinese text lines up too.
    """
    text = [[str(cell) for cell in row] for row in rows]
    if not text:
        return ""
    columns = max(len(row) for row in text)
    widths = [
        max((display_width(row[c]) for row in text if c < len(row)), default=0)
        for c in range(columns)
    ]
    align = align.ljust(columns, "l")
    lines = []
    for row in text:
        cells = []
        for c, cell in enumerate(row):
            padding = " " * (widths[c] - display_width(cell))
            cells.append(padding + cell if align[c] == "r" else cell + padding)
        lines.append((" " * gap).join(cells).rstrip())
    return "\n".join(lines)
