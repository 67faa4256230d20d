"""Parity (PDP §"Parity", Fig. 6, Table 3): output 1 when an odd number of inputs are on."""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register
from backprop86.tasks.boolean import all_binary


def _bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise ConfigError(f"parity needs bits between 1 and 16 (an integer), got {bits!r}")
    return bits


def _shape(bits: int = 4) -> tuple[int, int, int]:
    return 2 ** _bits(bits), bits, 1


@register("parity", _shape)
def parity(bits: int = 4) -> Task:
    """All ``2**bits`` binary vectors; target ``(Σ x_i) mod 2``. PDP tried 2 to 8 bits."""
    X = all_binary(_bits(bits))
    D = (X.sum(axis=1) % 2)[:, None]
    return Task(f"parity-{bits}", X, D, description=f"odd number of on bits among {bits}")


def bit_counts(task: Task) -> np.ndarray:
    """``(N,)`` number of on inputs of each case."""
    return task.inputs.sum(axis=1).round().astype(int)
