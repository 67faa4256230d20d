"""How numbers look in the printed tables: one rule per kind of number, shared by every table.

``None`` stands for a number that does not exist (no seed reached the criterion)
and is shown as a dash.
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


def percents(lo: float, hi: float) -> str:
    """A range of rates as percentages: ``86.0%–97.0%``."""
    return f"{lo:.1%}–{hi:.1%}"


def ci(lo: float, hi: float) -> str:
    """A 95 % confidence interval of a rate: ``95% CI 86.0%–97.0%``."""
    return f"95% CI {percents(lo, hi)}"
