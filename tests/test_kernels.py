"""The compiled sweep (backprop86.kernels, numba) gives the readable path's numbers.

It sums over cases and units in another order than the readable path and computes
the logistic with its own exp (within about 1 ulp of the library's), so each sweep
adds relative differences of a few ulp (1e-16); over a few hundred sweeps of these
well-conditioned runs they stay far below the tolerance 1e-9 (measured: about
1e-13). Stopping sweeps and first-solved sweeps are compared exactly: they would
move only if a replica's error came within ~1e-13 of ecrit (or an output within
~1e-13 of a margin) at some sweep, which these runs do not. Skipped without numba.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from agreement import assert_same
from backprop86 import Network, TrainConfig, fast, make_task
from backprop86.train import Trainer

pytest.importorskip("numba")

from backprop86 import kernels  # after importorskip: it needs numba


def both(make_net, task, cfg, seeds):
    """Train the same run on the readable path and on the compiled sweep."""
    out = []
    for use_fast in (False, True):
        net = make_net()
        trainer = Trainer(net, task, cfg, list(seeds))
        trainer.use_fast = use_fast
        if use_fast:
            assert isinstance(fast.make(trainer), kernels.NumbaLast)
        out.append((trainer.train(), net, trainer))
    return out


def test_article_network_agrees():
    # The article's net (2-4-1, no biases, momentum 0.9): the 00 case's hidden activity
    # is f(0) without computing it; 100 seeds, 400 sweeps, some solve on the way.
    from backprop86.experiments import load

    exp = load("xor").with_settings(["max_sweeps=400"])
    a, b = both(lambda: exp.network(replicas=100), exp.task(), exp.config, range(100))
    assert fast.make(b[2]).compiled is kernels.sweeps_serial
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].first_solved.max() > 0


def test_biases_momentum_and_ecrit_stopping_agree():
    # Biases on both layers, tss, ecrit stops replicas inside blocks (rewind and replay).
    cfg = TrainConfig(lr=0.5, momentum=0.9, ecrit=0.05, max_sweeps=400, error="tss",
                      report="tss")
    a, b = both(lambda: Network.mlp([2, 3, 1], replicas=80), make_task("xor"), cfg, range(80))
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].stopped.sum() > 10 and len(set(a[0].sweeps.tolist())) > 10


def test_tanh_linear_mse_momentum_switch_and_stop_margin_agree():
    # tanh hidden and linear outputs, mse with a mean, momentum switched off at sweep 60
    # (Δw = −ε ∂E/∂w), stop_margin (outputs after the sweep) ending some replicas.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 3))
    D = 0.6 + 0.1 * X[:, :2]  # about 0.6: the initial outputs (about 0) are far from it
    from backprop86.tasks.base import Task

    task = Task("random", X, D, labels=tuple(str(i) for i in range(6)))
    cfg = TrainConfig(lr=0.1, momentum_schedule=((0, 0.5), (60, 0.0)), max_sweeps=300,
                      error="mse", report="mse", reduction="mean", stop_margin=0.3)
    a, b = both(lambda: Network.mlp([3, 5, 2], activation="tanh", output_activation="linear",
                                    replicas=64), task, cfg, range(64))
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].stopped.any() and len(set(a[0].sweeps.tolist())) > 5


def test_parallel_sweep_agrees():
    # From kernels.PARALLEL_MIN networks on, pieces of networks run on numba's threads.
    from backprop86.experiments import load

    n = kernels.PARALLEL_MIN + 100  # a last piece shorter than the others
    exp = load("xor").with_settings(["max_sweeps=200"])
    a, b = both(lambda: exp.network(replicas=n), exp.task(), exp.config, range(n))
    assert fast.make(b[2]).compiled is kernels.sweeps_parallel
    assert_same(a, b, exact=False, rtol=1e-9)


def test_switch_and_unsupported_runs_keep_the_numpy_path(monkeypatch):
    task = make_task("xor")
    trainer = Trainer(Network.mlp([2, 2, 1], replicas=64), task, TrainConfig(), range(64))
    assert isinstance(fast.make(trainer), kernels.NumbaLast)
    monkeypatch.setenv(fast.NUMBA_ENV, "0")
    kernel = fast.make(trainer)
    assert isinstance(kernel, fast.ReplicaLast) and not isinstance(kernel, kernels.NumbaLast)
    monkeypatch.delenv(fast.NUMBA_ENV)
    two = Trainer(Network.mlp([2, 3, 3, 1], replicas=64), task, TrainConfig(), range(64))
    pattern = Trainer(Network.mlp([2, 2, 1], replicas=64), task,
                      TrainConfig(grain="pattern"), range(64))
    for t in (two, pattern):
        assert type(fast.make(t)) is fast.ReplicaLast


def test_numba_is_not_imported_for_one_network():
    code = ("import sys, contextlib, io\n"
            "from backprop86.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['xor'])\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
