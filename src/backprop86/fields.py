"""Receptive fields: one window of weights copied over a grid of units (PDP's T–C net).

PDP vol. 1 ch. 8 (pp. 348–352) lays the input units out as a 2-D grid and the
hidden units as another; hidden unit ``(p, q)`` sees the ``h × w`` window of
inputs whose top-left corner is ``(p, q)``, and every hidden unit has the *same*
``h·w`` weights. :func:`window_share` writes that as a
:class:`~backprop86.network.Projection` ``share`` map, so the network, its
backward pass and every check treat it like any other weight array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError


def grid_shape(value: object, what: str) -> tuple[int, int]:
    """``[rows, cols]`` as two positive integers, or one clear error."""
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise ConfigError(f"{what} must be [rows, columns], two positive integers, got {value!r}")
    return int(value[0]), int(value[1])


def window_share(source: Sequence[int], target: Sequence[int], window: Sequence[int]) -> Array:
    """The ``share`` map of a projection from a ``source`` grid to a ``target`` grid through
    one ``window = (h, w)`` of weights: ``(rows·cols of source, rows·cols of target)``
    integers.

    Unit ``(r, c)`` of a grid is unit ``r·cols + c`` of its group (row-major).
    Target unit ``(p, q)`` takes input from source unit ``(p + a, q + b)``,
    ``0 ≤ a < h``, ``0 ≤ b < w``, through shared weight ``a·w + b``; every other
    entry is −1 (no connection). The window must fit at every target position:
    ``source rows = target rows + h − 1`` and likewise for columns (a "valid"
    correlation, stride 1).
    """
    (sr, sc), (tr, tc), (h, w) = (grid_shape(list(source), "source grid"),
                                  grid_shape(list(target), "target grid"),
                                  grid_shape(list(window), "window"))
    if (sr, sc) != (tr + h - 1, tc + w - 1):
        raise ConfigError(
            f"a {h}×{w} window from a {sr}×{sc} grid to a {tr}×{tc} grid does not fit: the "
            f"source grid must be {tr + h - 1}×{tc + w - 1} (target grid + window − 1)"
        )
    share = np.full((sr * sc, tr * tc), -1, dtype=np.intp)
    for p in range(tr):
        for q in range(tc):
            for a in range(h):
                for b in range(w):
                    share[(p + a) * sc + (q + b), p * tc + q] = a * w + b
    return share
