"""What every figure shares: a blank figure of a given size in pixels, and writing it to files.

matplotlib is imported inside the functions, never at module level, so that
``import backprop86`` and ``backprop86 xor`` do not pay for it. Figures are built
with the object API (:class:`matplotlib.figure.Figure`), rendered by the Agg
backend, and never touch pyplot's global state or the user's chosen backend.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backprop86.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Dots per inch of the PNG; the figure is ``size / DPI`` inches.
DPI = 100
#: The formats every figure is written in.
FORMATS = ("png", "svg")
_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)

SOLVED_COLOUR = "#1f5fa8"
FAILED_COLOUR = "#c0392b"


def new_figure(size: tuple[int, int]) -> Figure:
    """An empty figure of ``size`` pixels (constrained layout, no pyplot)."""
    from matplotlib.figure import Figure

    width, height = size
    if width < 100 or height < 100:
        raise ConfigError(f"figure size must be at least 100×100 pixels, got {width}×{height}")
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def save(fig: Figure, path: str | Path) -> list[Path]:
    """Write ``fig`` as ``path.png`` and ``path.svg`` (Agg renders the PNG); return the paths.

    A ``.png`` or ``.svg`` suffix of ``path`` is replaced; any other dot stays part of the
    name (a sweep point's ``…-lr0.02`` must not become ``…-lr0.png``, nor meet ``lr0.05``'s).

    The figure's size is a minimum: when its titles, labels or tick labels do not fit
    in it, it grows until they do (:func:`fit_contents`), so nothing is cut off.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fit_contents(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # SVG text stays text (small files, searchable), drawn in the reader's sans-serif font.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "backprop86"}):
        for fmt in FORMATS:
            out = (path.with_suffix(f".{fmt}") if path.suffix.lower() in _SUFFIXES
                   else path.with_name(f"{path.name}.{fmt}"))
            fig.savefig(out, format=fmt, dpi=DPI, metadata=_metadata(fmt))
            written.append(out)
    return written


#: Room kept between the outermost text and the figure's edge, inches.
EDGE = 0.04


def fit_contents(fig: Figure, tries: int = 8) -> None:
    """Grow ``fig`` (never shrink it) until every artist, text included, lies inside it.

    Constrained layout fits the axes to the figure, but when the figure is too small
    for its labels (long, rotated tick labels under many panels) they spill over the
    edge and would be cut from the saved image; each try adds the overflow (and half
    as much again) and lays the figure out again.
    """
    renderer = fig.canvas.get_renderer()
    for _ in range(tries):
        with warnings.catch_warnings():  # a layout with no room left is what this mends
            warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
            fig.draw_without_rendering()  # runs the layout
        inside = fig.get_tightbbox(renderer)  # inches, from the figure's lower left corner
        width, height = fig.get_size_inches()
        grow_x = max(0.0, EDGE - inside.x0) + max(0.0, inside.x1 - width + EDGE)
        grow_y = max(0.0, EDGE - inside.y0) + max(0.0, inside.y1 - height + EDGE)
        if grow_x <= 1 / DPI and grow_y <= 1 / DPI:  # less than a pixel
            return
        # half as much again: a label centred on axes that widen moves as they do
        # (in whole pixels, so that the PNG holds the whole figure)
        fig.set_size_inches(math.ceil((width + 1.5 * grow_x) * DPI) / DPI,
                            math.ceil((height + 1.5 * grow_y) * DPI) / DPI)


def _metadata(fmt: str) -> dict[str, Any]:
    """No creation date in the files, so regenerating a figure gives the same bytes."""
    return {"Date": None} if fmt == "svg" else {}
