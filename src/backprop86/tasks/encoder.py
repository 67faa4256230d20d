"""Encoder problems (PDP §"The encoding problem", Tables 4–7; the handbook's 4-2-4)."""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register
from backprop86.tasks.boolean import all_binary


def _n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"encoder needs n ≥ 2 (an integer), got {n!r}")
    return n


def _bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
        raise ConfigError(f"graded_encoder needs bits between 1 and 8 (an integer), got {bits!r}")
    return bits


def _encoder_shape(n: int = 8) -> tuple[int, int, int]:
    return _n(n), n, n


def _graded_shape(bits: int = 2) -> tuple[int, int, int]:
    return 2 ** _bits(bits), bits, 2**bits


@register("encoder", _encoder_shape)
def encoder(n: int = 8) -> Task:
    """The ``n`` one-hot patterns, each mapped to itself (PDP Table 4 for ``n = 8``)."""
    X = np.eye(_n(n))
    labels = tuple(f"p{i + 1}" for i in range(n))
    return Task(f"encoder-{n}", X, X.copy(), labels,
                description=f"{n} one-hot patterns to themselves")


@register("graded_encoder", _graded_shape)
def graded_encoder(bits: int = 2) -> Task:
    """PDP Tables 6–7: the ``2**bits`` binary patterns to a local one-of-``2**bits`` code.

    For ``bits = 2``: 00 → 1000, 01 → 0100, 10 → 0010, 11 → 0001.
    """
    X = all_binary(_bits(bits))
    D = np.eye(2**bits)
    return Task(f"graded-encoder-{bits}", X, D, description="binary pattern to a one-of-n code")
