"""How two training runs are compared: every engine against the readable one."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np

from backprop86.engine.select import make
from backprop86.train import Trainer


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
        check(ta.optimizer.delta_w[name], tb.optimizer.delta_w[name])
    for field in ("sweeps", "stopped", "solved", "first_solved", "diverged"):
        np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field), err_msg=field)
    assert ra.notes == rb.notes
    assert ta.sweep == tb.sweep


def both(make_net, task, cfg, seeds, engine: str, **kw):
    """Train the same run with the readable engine and with ``engine``, each through the one
    training loop: ``[(result, net, trainer), …]``, readable first."""
    out = []
    for name in ("readable", engine):
        net = make_net()
        trainer = Trainer(net, task, dataclasses.replace(cfg, engine=name), list(seeds), **kw)
        result = trainer.train()
        assert result.engine == name and result.why_not is None, (result.engine, result.why_not)
        out.append((result, net, trainer))
    return out


def assert_updates_allocate_nothing(trainer, engine: str, lr: float, momentum: float,
                                    sweeps: int = 100) -> None:
    """Engine ``engine`` of ``trainer`` allocates no array while it trains: over ``sweeps``
    sweeps after 20 warm-up sweeps (NumPy and numba fill their own caches once), the traced
    peak stays below 2 KiB and below 1 KiB is still held. Python's argument tuples take a
    few hundred bytes; the callers' arrays of one update are 4 KiB or more each."""
    kernel = make(engine, trainer)
    kernel.begin_block(np.ones(1, bool))
    kernel.set_rates(lr, momentum)
    with np.errstate(all="ignore"):  # as in training
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
    assert peak - base < 2048, peak - base
    assert current - base < 1024, current - base


def in_a_fresh_process(module: str, function: str) -> None:
    """Run ``module.function()`` (a test module of this folder) in a new Python process and
    fail with its error output if it fails. tracemalloc counts every thread's allocations,
    so an allocation check is measured where no earlier test has left a thread behind (a
    Dask client's, a progress bar's)."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import {module}; {module}.{function}()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def random_task(n_cases, n_in, n_out, seed=0, onehot=False):
    """Standard-normal inputs; one-hot targets, or each target 0 or 1 at random."""
    from backprop86.tasks.base import Task

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_cases, n_in))
    if onehot:
        D = np.eye(n_out)[rng.integers(0, n_out, n_cases)]
    else:
        D = (rng.random((n_cases, n_out)) > 0.5).astype(float)
    return Task("random", X, D, labels=tuple(str(i) for i in range(n_cases)))
