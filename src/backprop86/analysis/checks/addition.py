"""Checks of binary addition nets (PDP Figs 10-11).

``carry_units``: hidden units that compute the carry bits; ``local_minimum_11_11``:
every sum right except 11 + 11 (PDP's local minimum).
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import ON, CheckResult, hidden_activity, register
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.arithmetic import from_bits
from backprop86.tasks.base import Task


def _operands(task: Task) -> tuple[Array, Array, int]:
    """The two numbers of each addition case and their width in bits."""
    n = task.n_inputs
    if n % 2 or task.n_outputs != n // 2 + 1:
        raise ConfigError(
            f"task {task.name!r} is not an addition task (2·bits inputs, bits + 1 outputs)"
        )
    bits = n // 2
    return from_bits(task.inputs[:, :bits]), from_bits(task.inputs[:, bits:]), bits


def carries(task: Task) -> Array:
    """``(bits, N)``: carry out of bit ``k`` (0 = lowest) for every case of an addition task."""
    a, b, bits = _operands(task)
    return np.array([((a % (2 << k)) + (b % (2 << k))) >> (k + 1) & 1 for k in range(bits)])


@register("carry_units")
def carry_units(net: Network, task: Task) -> CheckResult:
    """Hidden units that carry the carry bits (PDP Fig. 10: "the hidden units are the carries").

    Hidden unit ``u`` (on/off, ``g_u``) carries carry ``k`` (``c_k``, 0/1 per case)
    when ``c_k`` is *exactly* a linear function of the inputs and ``g_u``:
    ``c_k = β + Σ_i γ_i x_i + α g_u`` on every case (least squares, residual
    below 1e-6). The carry itself, its inverse, and equivalents such as
    ``NOR(a0, b0)`` for ``c_0 = AND(a0, b0) = a0 + b0 − 1 + NOR(a0, b0)`` all
    qualify; no carry is linear in the inputs alone. A replica passes when every
    carry has its own unit.
    """
    H = (hidden_activity(net, task) > ON).astype(float)  # (R, N, h)
    C = carries(task).astype(float)  # (bits, N)
    base = np.column_stack([np.ones(task.n_cases), task.inputs])  # (N, 1 + n_in)
    R, _, h = H.shape
    M = np.zeros((R, C.shape[0], h), dtype=bool)
    for r in range(R):
        for u in range(h):
            A = np.column_stack([base, H[r, :, u]])
            coef, *_ = np.linalg.lstsq(A, C.T, rcond=None)  # (1 + n_in + 1, bits)
            M[r, :, u] = np.abs(A @ coef - C.T).max(axis=0) < 1e-6
    found = M.any(axis=2).sum(axis=1)
    distinct = np.array([_has_matching(m) for m in M])
    return CheckResult(
        "carry_units", "carry units",
        f"each of the {C.shape[0]} carries is exactly linear in the inputs and its own hidden unit",
        distinct, {"carries_found": found},
    )


def _has_matching(M: Array) -> bool:
    """Whether every row (carry) can be given a distinct column (unit) with ``M`` true."""
    rows, cols = M.shape
    owner = [-1] * cols

    def assign(r: int, seen: list[bool]) -> bool:
        for c in range(cols):
            if M[r, c] and not seen[c]:
                seen[c] = True
                if owner[c] < 0 or assign(owner[c], seen):
                    owner[c] = r
                    return True
        return False

    return all(assign(r, [False] * cols) for r in range(rows))


@register("local_minimum_11_11")
def local_minimum_11_11(net: Network, task: Task) -> CheckResult:
    """PDP's local minimum: every sum right except the one of the two largest numbers.

    A replica is in it when every output of every case is on the right side of
    0.5 except on the case 11 + 11 (all input bits on), where at least one output
    is wrong. ``answer`` is what it outputs there, as an integer (PDP: 100 = 4
    instead of 110 = 6).
    """
    _operands(task)
    Y = net.predict(task.inputs) > ON  # (R, N, n_out)
    D = task.targets > ON
    wrong = np.any(Y != D, axis=2)  # (R, N)
    last = np.flatnonzero(np.all(task.inputs > ON, axis=1))
    if last.size != 1:
        raise ConfigError(f"task {task.name!r} has no case with every input on")
    k = int(last[0])
    others = np.delete(wrong, k, axis=1)
    stuck = wrong[:, k] & ~others.any(axis=1)
    answer = from_bits(Y[:, k, :])  # (R,)
    width = Y.shape[2]
    seen = np.unique(answer[stuck], return_counts=True)
    detail = ", ".join(f"{int(a):0{width}b} ×{int(n)}" for a, n in zip(*seen, strict=True))
    return CheckResult(
        "local_minimum_11_11", "stuck at 11+11",
        f"every case right except {task.labels[k]} (the local minimum)",
        stuck, {"answer": answer, "wrong_cases": wrong.sum(axis=1)}, among="all",
        detail=f"answers there: {detail}" if detail else "",
    )
