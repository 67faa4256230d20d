"""The one name for NumPy arrays in type hints (DESIGN §2's array conventions).

Every array of a network carries a leading replica axis ``R``: weights
``(R, n_src, n_tgt)``, activities ``(R, N, n)`` for ``N`` cases, per-replica
results ``(R,)``. A hint says only ``Array``; the docstring beside it gives the
shape.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

#: A NumPy array; its shape is stated where it is used.
Array: TypeAlias = np.ndarray

__all__ = ["Array"]
