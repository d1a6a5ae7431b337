"""Plain-text tables: the one formatter behind every table the command line prints."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(rows: Sequence[Sequence[object]], align: str = "", gap: int = 2) -> str:
    """Rows of cells as aligned columns, ``gap`` spaces apart, trailing spaces removed.

    ``align`` gives one letter per column, ``l`` (the default for missing letters) or
    ``r``; every cell is turned into text with ``str``.
    """
    text = [[str(cell) for cell in row] for row in rows]
    if not text:
        return ""
    columns = max(len(row) for row in text)
    widths = [max((len(row[c]) for row in text if c < len(row)), default=0) for c in range(columns)]
    align = align.ljust(columns, "l")
    lines = []
    for row in text:
        cells = [
            cell.rjust(widths[c]) if align[c] == "r" else cell.ljust(widths[c])
            for c, cell in enumerate(row)
        ]
        lines.append((" " * gap).join(cells).rstrip())
    return "\n".join(lines)
