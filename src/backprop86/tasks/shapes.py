"""T–C discrimination (PDP vol. 1 ch. 8, pp. 348–352, Fig. 13): a block T or a block C?

Each shape has five squares and the two differ by one square:

* T: three cells across the top of a 3×3 block and a two-cell stem under the
  centre, ``(0,0) (0,1) (0,2) (1,1) (2,1)``;
* C: a 3×2 block with the middle cell of one column missing,
  ``(0,0) (0,1) (1,0) (2,0) (2,1)``.

Each appears in four orientations (0°, 90°, 180°, 270°), eight patterns in all,
drawn on a grid with ``pad`` empty cells around the shape's 3×3 block, so that a
3×3 receptive field at every position that overlaps the shape lies inside the
grid (the spec's grid inference: with ``pad = 2`` the all-−2 field of Fig. 15 D
sees a T at 21 positions and a C at 20, the numbers PDP gives).
"""

from __future__ import annotations

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register

#: The two shapes' cells (row, column) in their 0° orientation.
SHAPES: dict[str, tuple[tuple[int, int], ...]] = {
    "T": ((0, 0), (0, 1), (0, 2), (1, 1), (2, 1)),
    "C": ((0, 0), (0, 1), (1, 0), (2, 0), (2, 1)),
}


def shape_image(letter: str, quarter_turns: int) -> Array:
    """The 3×3 block of shape ``letter`` turned ``quarter_turns`` × 90° anticlockwise:
    ``(3, 3)`` of 0/1, the shape in its top-left corner."""
    block = np.zeros((3, 3))
    for r, c in SHAPES[letter]:
        block[r, c] = 1.0
    block = np.rot90(block, quarter_turns)
    rows, cols = np.nonzero(block)
    out = np.zeros((3, 3))
    out[rows - rows.min(), cols - cols.min()] = 1.0
    return out


@register("tc")
def tc(pad: int = 2) -> Task:
    """The eight T and C patterns on a ``(3 + 2·pad)²`` grid (row-major), target 1 for a T and
    0 for a C: inputs ``(8, (3 + 2·pad)²)``, targets ``(8, 1)``."""
    if isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad <= 10:
        raise ConfigError(f"tc needs pad, the empty cells around the shapes, an integer 0 … 10, "
                          f"got {pad!r}")
    side = 3 + 2 * pad
    inputs, targets, labels = [], [], []
    for letter in ("T", "C"):
        for turns in range(4):
            grid = np.zeros((side, side))
            grid[pad:pad + 3, pad:pad + 3] = shape_image(letter, turns)
            inputs.append(grid.reshape(-1))
            targets.append([1.0 if letter == "T" else 0.0])
            labels.append(f"{letter} {90 * turns}°")
    return Task("tc", np.array(inputs), np.array(targets), tuple(labels),
                description=f"a T or a C, in 4 orientations, on a {side}×{side} grid",
                image_shape=(side, side))
