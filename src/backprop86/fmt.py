"""How the printed tables look: one rule per kind of number, and one way to line up columns.

``None`` stands for a number that does not exist (no seed reached the criterion)
and is shown as a dash. :func:`table` lines up the columns of the ``run``,
series and ``sweep`` tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: What a missing number looks like.
DASH = "—"


def count(v: float | None) -> str:
    """A count or a median of counts (sweeps): whole, with thousands separators: ``2,734``."""
    return DASH if v is None else f"{v:,.0f}"


def number(v: Any) -> str:
    """A measured value: floats of 100 or more as counts, smaller ones to 3 digits; else ``str``."""
    if v is None:
        return DASH
    if isinstance(v, float):
        return count(v) if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def small(v: float | None) -> str:
    """An error value, often tiny: 2 digits, scientific below 0.001: ``0.25``, ``3.1e-05``."""
    if v is None:
        return DASH
    return f"{v:.2g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def span(pair: Sequence[Any] | None, show: Callable[[Any], str] = count) -> str:
    """Two ends of a range, each shown by ``show``: ``1,287–5,687`` (a dash for none)."""
    return DASH if pair is None else f"{show(pair[0])}–{show(pair[1])}"


def ordinal(v: float) -> str:
    """``v`` rounded, as an English ordinal: ``1st``, ``2nd``, ``13th``, ``92nd``."""
    n = round(v)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def percents(lo: float, hi: float) -> str:
    """A range of rates as percentages: ``86.0%–97.0%``."""
    return f"{lo:.1%}–{hi:.1%}"


def ci(lo: float, hi: float) -> str:
    """A 95 % confidence interval of a rate: ``95% CI 86.0%–97.0%``."""
    return f"95% CI {percents(lo, hi)}"


def table(
    rows: Sequence[Sequence[object]],
    align: str,
    *,
    widths: Sequence[int] = (),
    gap: str = "  ",
    indent: str = "",
) -> list[str]:
    """Rows of cells as lines of text in aligned columns.

    Column ``i`` is as wide as its widest cell (``str`` of it) and at least
    ``widths[i]`` (columns past the end of ``widths``: no minimum); ``align[i]``
    is ``"<"`` (left) or ``">"`` (right), one character per column. Cells are
    joined by ``gap``, every line starts with ``indent`` and loses its trailing
    spaces. A header is simply the first row.
    """
    cells = [[str(c) for c in row] for row in rows]
    if not cells:
        return []
    n = len(align)
    if any(len(row) != n for row in cells) or set(align) - {"<", ">"}:
        raise ValueError(f"every row needs {n} cells, aligned by '<' or '>' ({align!r})")
    least = [*widths, *([0] * (n - len(widths)))]
    width = [max(least[i], *(len(row[i]) for row in cells)) for i in range(n)]
    return [
        (indent + gap.join(
            c.ljust(w) if a == "<" else c.rjust(w)
            for c, w, a in zip(row, width, align, strict=True)
        )).rstrip()
        for row in cells
    ]
