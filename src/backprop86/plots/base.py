"""What every figure shares: a blank figure of a given size in pixels, and writing it to files.

matplotlib is imported inside the functions, never at module level, so that
``import backprop86`` and ``backprop86 xor`` do not pay for it. Figures are built
with the object API (:class:`matplotlib.figure.Figure`), rendered by the Agg
backend, and never touch pyplot's global state or the user's chosen backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from backprop86.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Dots per inch of the PNG; the figure is ``size / DPI`` inches.
DPI = 100
#: The formats every figure is written in.
FORMATS = ("png", "svg")

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
    """Write ``fig`` as ``path.png`` and ``path.svg`` (Agg renders the PNG); return the paths."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # SVG text stays text (small files, searchable), drawn in the reader's sans-serif font.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "backprop86"}):
        for fmt in FORMATS:
            out = path.with_suffix(f".{fmt}")
            fig.savefig(out, format=fmt, dpi=DPI, metadata=_metadata(fmt))
            written.append(out)
    return written


def _metadata(fmt: str) -> dict[str, Any]:
    """No creation date in the files, so regenerating a figure gives the same bytes."""
    return {"Date": None} if fmt == "svg" else {}
