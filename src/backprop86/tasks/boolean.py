"""Boolean functions of binary input vectors: XOR and its relatives."""

from __future__ import annotations

import itertools

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register


def all_binary(n: int) -> np.ndarray:
    """All ``2**n`` binary vectors of length ``n``, counting up (first bit most significant)."""
    if n < 1:
        raise ConfigError(f"number of bits must be ≥ 1, got {n}")
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.float64)


def _xor_shape() -> tuple[int, int, int]:
    return 4, 2, 1


@register("xor", _xor_shape)
def xor() -> Task:
    """XOR (PDP Table 1): 00→0, 01→1, 10→1, 11→0."""
    X = all_binary(2)
    D = (X.sum(axis=1) % 2)[:, None]
    return Task("xor", X, D, description="exclusive or of two bits")
