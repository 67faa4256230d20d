"""The compiled replica-last engine (numba) gives the readable engine's numbers.

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
from agreement import both as both_engines
from backprop86 import Network, TrainConfig, make_task
from backprop86.engine import select
from backprop86.engine.blocked import PARALLEL_MIN
from backprop86.train import Trainer

pytest.importorskip("numba")

from backprop86.engine import compiled_last  # after importorskip: it needs numba


def both(make_net, task, cfg, seeds):
    """Train the same run on the readable engine and on compiled-last."""
    return both_engines(make_net, task, cfg, seeds, "compiled-last")


def test_article_network_agrees():
    # The article's net (2-4-1, no biases): 100 seeds, 400 sweeps, some solve on the way.
    from backprop86.experiments import load

    exp = load("xor").with_settings(["max_sweeps=400"])
    a, b = both(lambda: exp.network(replicas=100), exp.task(), exp.config, range(100))
    assert b[2].engine.compiled is compiled_last.sweeps_serial
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].first_solved.max() > 0


def test_biases_momentum_and_ecrit_stopping_agree():
    # Biases on both layers, tss, ecrit stops replicas inside blocks (rewind and replay).
    cfg = TrainConfig(lr=0.5, momentum=0.9, ecrit=0.05, max_sweeps=400, error="tss",
                      report="tss")
    a, b = both(lambda: Network.mlp([2, 3, 1], replicas=80), make_task("xor"), cfg, range(80))
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].stopped.sum() > 10 and len(set(a[0].sweeps.tolist())) > 10


def test_library_exp_variant_agrees(monkeypatch):
    # The ablation's variant (benchmarks/run.py): logistic units with the library's exp.
    from backprop86.experiments import load

    monkeypatch.setattr(compiled_last, "CompiledLast",
                        lambda setup, cls=compiled_last.CompiledLast: cls(setup, own_exp=False))
    exp = load("xor").with_settings(["max_sweeps=300"])
    a, b = both(lambda: exp.network(replicas=100), exp.task(), exp.config, range(100))
    assert b[2].engine.codes[:2] == (compiled_last.LIBRARY_LOGISTIC,) * 2
    assert_same(a, b, exact=False, rtol=1e-9)


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
    # From PARALLEL_MIN networks on, pieces of networks run on numba's threads.
    from backprop86.experiments import load

    n = PARALLEL_MIN + 100  # a last piece shorter than the others
    exp = load("xor").with_settings(["max_sweeps=200"])
    a, b = both(lambda: exp.network(replicas=n), exp.task(), exp.config, range(n))
    assert b[2].engine.compiled is compiled_last.sweeps_parallel
    assert_same(a, b, exact=False, rtol=1e-9)


def test_auto_takes_the_compiled_engine_when_it_pays_and_says_why_not(monkeypatch):
    task = make_task("xor")
    trainer = Trainer(Network.mlp([2, 2, 1], replicas=64), task, TrainConfig(), range(64))
    monkeypatch.setattr(select, "one_time_cost", lambda name, setup: (0.0, "nothing"))
    assert select.auto(trainer) == ("compiled-last", None)
    cold = (select.COMPILE_SECONDS["compiled-last"], "numba's first compile (its cache is cold)")
    monkeypatch.setattr(select, "one_time_cost", lambda name, setup: cold)
    name, why = select.auto(trainer)  # 64 networks x 1,000 sweeps: not worth 11 s
    assert name == "numpy-last" and "cache is cold" in why
    long = Trainer(Network.mlp([2, 2, 1], replicas=10_000), task,
                   TrainConfig(max_sweeps=100_000, history_every=1000), range(10_000))
    assert select.saving(long, "numpy-last", "compiled-last") > cold[0]
    assert select.auto(long) == ("compiled-last", None)
    two = Trainer(Network.mlp([2, 3, 3, 1], replicas=64), task, TrainConfig(), range(64))
    pattern = Trainer(Network.mlp([2, 2, 1], replicas=64), task,
                      TrainConfig(grain="pattern"), range(64))
    for t, words in ((two, "one hidden group"), (pattern, "full batch")):
        name, why = select.auto(t)
        assert name == "numpy-last" and words in why


def test_one_time_costs_follow_the_cache_across_processes(tmp_path):
    # A run that would save more than loading numba's cache (about 0.65 s) but less than a
    # first compile (about 11 s): with an empty cache auto keeps numpy-last; once a process
    # has compiled the engine, the next finds the cache warm and auto takes compiled-last.
    code = ("import logging; logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
            "from backprop86 import Network, TrainConfig, make_task\n"
            "from backprop86.engine import select\n"
            "from backprop86.train import Trainer\n"
            "t = Trainer(Network.mlp([2, 2, 1], replicas=1000), make_task('xor'),\n"
            "            TrainConfig(max_sweeps=20_000, engine='{}'), range(1000))\n"
            "print(select.one_time_cost('compiled-last', t)[0], select.auto(t)[0])\n"
            "if t.config.engine != 'auto':\n"
            "    t.config = t.config.replace(max_sweeps=2)\n"
            "    print(t.train().engine)\n")
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = [subprocess.run([sys.executable, "-c", code.format(engine)], env=env, check=True,
                           capture_output=True, text=True)
            for engine in ("auto", "compiled-last", "auto")]
    compile_s, load_s = select.COMPILE_SECONDS["compiled-last"], select.LOAD_SECONDS
    assert [d.stdout.split() for d in done] == [[str(compile_s), "numpy-last"],
                                                [str(compile_s), "numpy-last", "compiled-last"],
                                                [str(load_s), "compiled-last"]]
    # the one compile is announced (the command line shows the package's log on stderr)
    assert ["compiling" in d.stderr for d in done] == [False, True, False]


def test_without_numba_auto_mentions_it_only_when_it_would_pay(monkeypatch):
    missing = "it needs numba, which is not installed (pip install 'backprop86[fast]')"
    monkeypatch.setattr(select, "numba_missing", lambda: missing)
    task = make_task("xor")
    short = Trainer(Network.mlp([2, 2, 1], replicas=64), task, TrainConfig(), range(64))
    assert select.auto(short) == ("numpy-last", None)
    long = Trainer(Network.mlp([2, 2, 1], replicas=10_000), task,
                   TrainConfig(max_sweeps=100_000, history_every=1000), range(10_000))
    name, why = select.auto(long)
    assert name == "numpy-last" and why.startswith("compiled-last would save about")
    assert why.endswith(missing)


def test_numba_is_not_imported_for_one_network():
    code = ("import sys, contextlib, io\n"
            "from backprop86.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['xor'])\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_narrow_tile_and_a_full_one_give_the_same_numbers():
    # Tiles of TILE networks run vectorised loops; a tile of fewer than NARROW networks (a
    # single network, or the last few of a run) runs one network at a time in scalars. Both
    # make the same operations in the same order: replica r of a batch equals the run of
    # its seed alone, bit for bit, whichever path trained either.
    from backprop86.experiments import load

    n = compiled_last.TILE + compiled_last.NARROW - 3  # a full tile and a narrow one
    exp = load("xor").with_settings(["max_sweeps=300", "engine=compiled-last"])
    many_net = exp.network(replicas=n)
    many = Trainer(many_net, exp.task(), exp.config, range(n)).train()
    for r in (3, n - 1):
        one_net = exp.network()
        one = Trainer(one_net, exp.task(), exp.config, [r]).train()
        assert one.engine == many.engine == "compiled-last"
        for name in many_net.params:
            np.testing.assert_array_equal(many_net.params[name][r], one_net.params[name][0])
        np.testing.assert_array_equal(many.history[r], one.history[0])


@pytest.mark.parametrize("replicas", [70, 1])
def test_one_input_one_hidden_unit_three_outputs_agree(replicas):
    # The loops' first and last terms when a sum has one term (one input, one hidden
    # unit) and δ_j summed over several outputs, in tiles and one network at a time.
    from agreement import random_task

    cfg = TrainConfig(lr=0.3, momentum=0.5, max_sweeps=150, error="sse", report="sse")
    a, b = both(lambda: Network.mlp([1, 1, 3], replicas=replicas), random_task(5, 1, 3),
                cfg, range(replicas))
    assert_same(a, b, exact=False, rtol=1e-9)
