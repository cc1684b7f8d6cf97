"""Plain-text tables for the command line."""

from __future__ import annotations


def format_value(value, digits=2):
    """Format a number for a table cell; None and NaN become '-'."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(headers, rows, digits=2):
    """Render rows (sequences of cells) under headers, numbers right-aligned.

    Examples
    --------
    >>> print(format_table(["a", "b"], [["x", 1.0]]))
    a     b
    -  ----
    x  1.00
    """
    cells = [[format_value(c, digits) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [
        bool(rows) and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in range(len(headers))
    ]

    def line(items):
        out = [(s.rjust(w) if num else s.ljust(w)) for s, w, num in zip(items, widths, numeric)]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])
