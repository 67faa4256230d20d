"""How two training runs are compared: the fast paths against the readable one."""

from __future__ import annotations

import tracemalloc

import numpy as np


def assert_same(a, b, exact: bool = True, rtol: float = 0.0) -> None:
    """Two ``(TrainResult, Network, Trainer)`` triples agree: bit for bit (``exact``), else
    to ``rtol``; counts and flags (sweeps, stopped, solved, first solved, diverged) exactly."""
    (ra, na, ta), (rb, nb, tb) = a, b

    def check(x, y):
        if exact:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)

    check(ra.history, rb.history)
    check(ra.final_error, rb.final_error)
    check(ra.final_outputs, rb.final_outputs)
    for name in na.params:
        check(na.params[name], nb.params[name])
        check(ta.optimizer._step[name], tb.optimizer._step[name])
    for field in ("sweeps", "stopped", "solved", "first_solved", "diverged"):
        np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field), err_msg=field)
    assert ra.notes == rb.notes
    assert ta.sweep == tb.sweep


def allocated_by_sweeps(kernel, sweeps: int = 100) -> tuple[int, int]:
    """Bytes a fast kernel's sweeps allocate: ``(peak, still held)`` over ``sweeps`` sweeps
    after 20 warm-up sweeps (NumPy and numba fill their own caches once), as in training."""
    with np.errstate(all="ignore"):
        for _ in range(20):
            kernel.sweep(0)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for _ in range(sweeps):
                kernel.sweep(0)
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak - base, current - base
