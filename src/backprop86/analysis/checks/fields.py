"""Checks of weight-shared nets: the receptive fields of PDP's T–C net (pp. 348–352, Fig. 15).

Every hidden unit of the T–C net has a copy of one 3×3 field of weights. PDP
found four kinds in different runs, and inhibitory solutions predominating:

= ========================  ==============================================================
A on-centre, off-surround   centre excitatory, the 8 around it inhibitory (Fig. 15 A: +2, −1)
B bar                       one full row or column excitatory, the rest inhibitory (Fig. 15 B:
                            vertical; under the task's four rotations a horizontal bar is the
                            same solution)
C diagonal bar              one full diagonal excitatory, the rest inhibitory
D compactness detector      all 9 weights inhibitory and the bias positive: a copy is off
                            wherever the shape overlaps its window (21 copies for a T, 20 for a C)
= ========================  ==============================================================

A field is classified by the signs of its weights: a weight counts as zero when
it is smaller than :data:`ZERO` times the field's largest, and a kind matches
when the signs are exactly its pattern (or, for A–C, the pattern with every sign
flipped: an off-centre field is the same detector read the other way).
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import CheckResult, register
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network, bias_param
from backprop86.tasks.base import Task

#: A field weight smaller than this fraction of the field's largest counts as zero.
ZERO = 0.1

#: The kinds, in PDP's order, and "other".
KINDS = ("A on-centre/off-surround", "B bar", "C diagonal bar", "D compactness", "other")


def _patterns(h: int, w: int) -> list[list[Array]]:
    """The excitatory cells of kinds A–C on an ``h × w`` field, as 0/1 arrays (every
    variant of each kind)."""
    centre = np.zeros((h, w))
    centre[h // 2, w // 2] = 1.0
    bars = []
    for r in range(h):
        bar = np.zeros((h, w))
        bar[r, :] = 1.0
        bars.append(bar)
    for c in range(w):
        bar = np.zeros((h, w))
        bar[:, c] = 1.0
        bars.append(bar)
    diagonals = [np.eye(h, w), np.fliplr(np.eye(h, w))] if h == w else []
    return [[centre], bars, diagonals]


def field_of(net: Network) -> tuple[Array, Array, tuple[int, int]]:
    """The shared field of the net's first windowed projection: ``(R, h, w)`` weights, the
    target group's bias ``(R,)`` (0 without one) and the window ``(h, w)``.

    The field is read off the copy at target unit 0 (top-left), whose window starts at
    source unit 0: shared weight ``a·w + b`` sits at source unit ``a·cols + b``.
    """
    for p in net.projections:
        share = p.share
        if share is None or share.max() < 1:
            continue
        column = share[:, 0]
        sources = np.flatnonzero(column >= 0)
        sources = sources[np.argsort(column[sources])]  # source unit of shared weight 0, 1, …
        h_w = _window(sources, int(share.max()) + 1)
        W = net.params[p.param][:, sources, 0].reshape(net.replicas, *h_w)
        g = net.group(p.target)
        bias = (net.params[bias_param(g.name)][:, 0, 0] if g.bias
                else np.zeros(net.replicas, dtype=net.dtype))
        return W, bias, h_w
    raise ConfigError("the receptive-field checks need a projection with shared weights "
                      "over a window (window = [rows, columns])")


def _window(sources: Array, k: int) -> tuple[int, int]:
    """``(h, w)`` of a window from the source indices of its ``k`` weights in order
    (``a·cols + b``): ``w`` is the length of the first run of consecutive indices."""
    w = 1
    while w < k and sources[w] == sources[w - 1] + 1:
        w += 1
    if k % w:
        raise ConfigError(f"the shared weights ({k}) do not form a rectangular window")
    return k // w, w


def classify(W: Array, bias: Array) -> Array:
    """Kind of each field ``W`` ``(R, h, w)`` with bias ``(R,)``: index into :data:`KINDS`."""
    R, h, w = W.shape
    largest = np.abs(W).max(axis=(1, 2), keepdims=True)
    signs = np.where(np.abs(W) < ZERO * largest, 0, np.sign(W)).astype(int)  # (R, h, w)
    kinds = np.full(R, len(KINDS) - 1)
    for r in range(R):
        s = signs[r]
        if np.all(s < 0) and bias[r] > 0:
            kinds[r] = 3
            continue
        for kind, variants in enumerate(_patterns(h, w)):
            if any(np.array_equal(s, flip * (2 * on - 1)) for on in variants for flip in (1, -1)):
                kinds[r] = kind
                break
    return kinds


@register("tc_field_kind")
def tc_field_kind(net: Network, task: Task) -> CheckResult:
    """The shared field is one of PDP's kinds A–D (Fig. 15), by the signs of its weights."""
    W, bias, (h, w) = field_of(net)
    kinds = classify(W, bias)
    return CheckResult(
        "tc_field_kind", "receptive field of a kind in Fig. 15",
        f"the signs of the {h}×{w} shared weights (those under {ZERO:.0%} of the largest "
        "counted as zero) are those of A on-centre/off-surround, B a row or column bar, "
        "C a diagonal bar (each either way round) or D all inhibitory with a positive bias",
        kinds < len(KINDS) - 1, {"kind": kinds},
        detail=_kind_counts(kinds),
    )


@register("tc_inhibitory")
def tc_inhibitory(net: Network, task: Task) -> CheckResult:
    """The shared field is mainly inhibitory: its weights sum to less than zero."""
    W, _, (h, w) = field_of(net)
    total = W.sum(axis=(1, 2))
    return CheckResult(
        "tc_inhibitory", "inhibitory receptive field",
        f"the {h}×{w} shared weights sum to less than 0", total < 0, {"field_sum": total},
    )


def _kind_counts(kinds: Array) -> str:
    """``"kinds of all replicas: A 0, B 1, C 0, D 27, other 12"``."""
    counts = [int(np.sum(kinds == k)) for k in range(len(KINDS))]
    names = [name.split()[0] for name in KINDS]
    return "kinds of all replicas: " + ", ".join(
        f"{n} {c}" for n, c in zip(names, counts, strict=True))
