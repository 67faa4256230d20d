"""Binary addition (PDP Figs 10–11, Table 8) and negation (PDP Fig. 12, Table 9)."""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register
from backprop86.tasks.boolean import all_binary


def _bits(value: object, what: str, low: int = 1, high: int = 8) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{what} needs bits between {low} and {high} (an integer), got {value!r}")
    return value


def to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """``(N,)`` non-negative integers to ``(N, width)`` bits, most significant first."""
    shifts = np.arange(width - 1, -1, -1)
    return ((np.asarray(values)[:, None] >> shifts) & 1).astype(np.float64)


def from_bits(bits: np.ndarray) -> np.ndarray:
    """``(..., width)`` bits (most significant first) to integers ``(...)``."""
    b = np.asarray(bits).round().astype(int)
    weights = 1 << np.arange(b.shape[-1] - 1, -1, -1)
    return b @ weights


def _addition_shape(bits: int = 2) -> tuple[int, int, int]:
    bits = _bits(bits, "addition")
    return 4**bits, 2 * bits, bits + 1


def _negation_shape(bits: int = 3) -> tuple[int, int, int]:
    bits = _bits(bits, "negation")
    return 2 ** (bits + 1), bits + 1, bits


@register("addition", _addition_shape)
def addition(bits: int = 2) -> Task:
    """Two ``bits``-bit numbers in, their ``bits + 1``-bit sum out, every case.

    Input units are ``(a_{bits−1} … a_0, b_{bits−1} … b_0)``, most significant bit
    first, as in PDP Fig. 10 (``a1 a0 b1 b0``); outputs are the sum's bits, most
    significant first. For ``bits = 2``: 16 cases, 4 inputs, 3 outputs; 11 + 11 → 110.
    """
    bits = _bits(bits, "addition")
    X = all_binary(2 * bits)
    a, b = from_bits(X[:, :bits]), from_bits(X[:, bits:])
    D = to_bits(a + b, bits + 1)
    labels = tuple(
        f"{''.join(map(str, row[:bits].astype(int)))}+{''.join(map(str, row[bits:].astype(int)))}"
        for row in X
    )
    return Task(f"addition-{bits}", X, D, labels, description=f"sum of two {bits}-bit numbers")


@register("negation", _negation_shape)
def negation(bits: int = 3) -> Task:
    """PDP Table 9: the first input is a flag; the other ``bits`` are copied (flag 0) or negated.

    For ``bits = 3``: 16 cases, e.g. 0101 → 101 and 1101 → 010.
    """
    bits = _bits(bits, "negation")
    X = all_binary(bits + 1)
    flag = X[:, :1]
    D = np.abs(X[:, 1:] - flag)  # each output is flag XOR its data bit
    return Task(f"negation-{bits}", X, D, description="copy or complement, by a flag bit")
