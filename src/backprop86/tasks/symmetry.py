"""Mirror symmetry (Nature Fig. 1; PDP §"Symmetry"): is the input vector a palindrome?"""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register
from backprop86.tasks.boolean import all_binary


def palindromes(X: np.ndarray) -> np.ndarray:
    """``(N,)`` booleans: row ``c`` of ``X`` ``(N, n)`` reads the same reversed, x_i = x_{n+1−i}."""
    return np.all(X[:, ::-1] == X, axis=1)


def _bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 2:
        raise ConfigError(f"symmetry needs bits ≥ 2 (an integer), got {bits!r}")
    return bits


def _shape(bits: int = 6) -> tuple[int, int, int]:
    return 2 ** _bits(bits), bits, 1


@register("symmetry", _shape)
def symmetry(bits: int = 6) -> Task:
    """All ``2**bits`` binary vectors; target 1 for the ``2**ceil(bits/2)`` palindromes, else 0.

    Nature uses ``bits = 6``: 64 cases, 8 of them palindromes.
    """
    X = all_binary(_bits(bits))
    D = palindromes(X).astype(np.float64)[:, None]
    return Task(f"symmetry-{bits}", X, D, description=f"is the {bits}-bit input a palindrome?")
