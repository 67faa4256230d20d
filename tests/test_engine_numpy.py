"""The NumPy engines (numpy-first, numpy-last) give the readable engine's numbers.

Replica-first runs (numpy-first) perform the same floating-point operations in the same order,
so they are compared bit for bit. Replica-last runs (many tiny networks) sum in
another order (numpy-last); they are compared with a relative tolerance (see below).
No timings here: only agreement.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agreement import (
    assert_same,
    assert_updates_allocate_nothing,
    both,
    in_a_fresh_process,
    random_task,
)
from backprop86 import Network, TrainConfig, make_task
from backprop86.engine import select
from backprop86.engine.numpy_last import NumpyLast
from backprop86.engine.readable import Readable
from backprop86.network import Group, chain
from backprop86.tasks.base import Task
from backprop86.train import Trainer

ROOT = Path(__file__).resolve().parent.parent


def first(make_net, task, cfg, seeds, **kw):
    """The run on the readable engine and on numpy-first."""
    return both(make_net, task, cfg, seeds, "numpy-first", **kw)


def last(make_net, task, cfg, seeds, **kw):
    """The run on the readable engine and on numpy-last."""
    return both(make_net, task, cfg, seeds, "numpy-last", **kw)


def test_article_run_bit_for_bit():
    cfg = TrainConfig(init="normal", init_scale=0.5, lr=0.5, error="sse", report="mse",
                      max_sweeps=3001)
    a, b = first(lambda: Network.mlp([2, 4, 1], bias=False), make_task("xor"), cfg, [42])
    assert_same(a, b)


@pytest.mark.parametrize("cfg", [
    TrainConfig(lr=0.5, momentum=0.9, max_sweeps=150),
    TrainConfig(lr=0.3, momentum=0.9, grain="pattern", order="shuffled", max_sweeps=60),
    TrainConfig(lr=0.2, grain="minibatch", batch_size=3, order="shuffled", max_sweeps=40,
                report="mse"),
    TrainConfig(lr=0.2, momentum=0.5, grain="minibatch", batch_size=3, max_sweeps=40,
                reduction="mean", decay=0.01),
    TrainConfig(lr=0.5, momentum=0.9, decay=0.001, decay_mode="l2", decay_biases=False,
                max_sweeps=100, error="tss"),
    TrainConfig(lr=0.1, error="mse", report="sse", lr_schedule=((30, 0.5),),
                momentum_schedule=((50, 0.9),), max_sweeps=120, history_every=7),
    TrainConfig(lr=0.5, momentum=0.9, error="cross_entropy", report="cross_entropy",
                max_sweeps=120, dtype="float32", targets=(0.1, 0.9)),
], ids=["momentum", "pattern-shuffled", "minibatch-tail-shuffled", "mean-shrink",
        "l2-tss", "schedules-mse", "cross-entropy-float32"])
@pytest.mark.parametrize("R", [1, 3])
def test_readable_and_numpy_first_agree_bit_for_bit(cfg, R):
    task = random_task(7, 3, 2)
    a, b = first(lambda: Network.mlp([3, 4, 3, 2], replicas=R, dtype=cfg.dtype), task, cfg,
                list(range(R)))
    assert_same(a, b)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "linear"])
def test_other_activations_and_softmax_bit_for_bit(hidden):
    task = random_task(9, 4, 3, onehot=True)
    cfg = TrainConfig(lr=0.05, momentum=0.5, error="cross_entropy", report="cross_entropy",
                      grain="minibatch", batch_size=4, max_sweeps=30, init="glorot")
    make = lambda: Network.mlp([4, 5, 3], activation=hidden, output_activation="softmax",  # noqa: E731
                               replicas=2)
    a, b = first(make, task, cfg, [0, 1])
    assert_same(a, b)


def test_stopping_rules_rewind_blocks_bit_for_bit():
    # Replicas stop at different sweeps inside 64-sweep blocks: the block is replayed.
    cfg = TrainConfig(lr=0.5, momentum=0.9, ecrit=0.04, max_sweeps=2000, init_scale=0.5)
    a, b = first(lambda: Network.mlp([2, 2, 1], replicas=5), make_task("xor"), cfg, range(5))
    assert_same(a, b)
    assert a[0].stopped.sum() >= 2 and len(set(a[0].sweeps.tolist())) >= 2
    cfg = TrainConfig(lr=0.5, momentum=0.9, stop_margin=0.3, max_sweeps=1000)
    a, b = first(lambda: Network.mlp([2, 3, 1], replicas=3), make_task("xor"), cfg, range(3))
    assert_same(a, b)
    assert a[0].stopped.any()


def test_divergence_reported_alike():
    cfg = TrainConfig(lr=1e306, error="tss", max_sweeps=50, init="normal", init_scale=3.0)
    task = random_task(4, 2, 1)
    a, b = first(lambda: Network.mlp([2, 3, 1], activation="linear", output_activation="linear",
                                    replicas=3), task, cfg, [0, 1, 2])
    assert a[0].diverged.any()
    assert_same(a, b)


def test_per_replica_case_sets_bit_for_bit():
    tasks = [random_task(6, 2, 1, seed=s) for s in range(3)]
    cfg = TrainConfig(lr=0.4, momentum=0.5, grain="pattern", max_sweeps=50)
    a, b = first(lambda: Network.mlp([2, 3, 1], replicas=3), tasks, cfg, [0, 1, 2])
    assert_same(a, b)


def test_replica_last_layout_agrees_to_rounding():
    # 200 networks, 300 sweeps: summation order differs (elementwise sums instead of BLAS),
    # so each sweep adds relative differences of a few ulp (1e-16); over 300 sweeps of a
    # well-conditioned run they stay far below 1e-9 (measured: about 1e-13).
    cfg = TrainConfig(lr=0.5, momentum=0.9, max_sweeps=300, init_scale=1.0, report="mse")
    a, b = last(lambda: Network.mlp([2, 3, 1], replicas=200), make_task("xor"), cfg, range(200))
    assert_same(a, b, exact=False, rtol=1e-9)
    # Stopping inside blocks (rewind and replay) in this layout too; a replica's stopping
    # sweep moves only if its error lies within ~1e-13 of ecrit at some sweep (not here).
    cfg = TrainConfig(lr=0.5, momentum=0.9, ecrit=0.05, max_sweeps=400)
    a, b = last(lambda: Network.mlp([2, 2, 1], replicas=80), make_task("xor"), cfg, range(80))
    assert_same(a, b, exact=False, rtol=1e-9)
    assert len(set(a[0].sweeps.tolist())) > 10
    cfg = TrainConfig(lr=0.2, grain="pattern", max_sweeps=40, error="cross_entropy",
                      report="cross_entropy", decay=0.001)
    a, b = last(lambda: Network.mlp([3, 4, 2], activation="tanh", output_activation="logistic",
                                    replicas=70),
                random_task(5, 3, 2), cfg, range(70))
    assert_same(a, b, exact=False, rtol=1e-9)


def test_replica_last_article_network_agrees_to_rounding():
    # The article's network (no biases) for 100 seeds: the 00 case has zero inputs, so the
    # kernel computes the hidden layer for the other three cases only (its activity is
    # f(0) = 0.5). Tolerance as in the test above: a few ulp per sweep, 400 sweeps.
    from backprop86.experiments import load

    exp = load("xor").with_settings(["max_sweeps=400"])
    a, b = last(lambda: exp.network(replicas=100), exp.task(), exp.config, range(100))
    assert isinstance(b[2].engine, NumpyLast) and b[2].engine.zeros == [1]
    assert_same(a, b, exact=False, rtol=1e-9)
    assert a[0].first_solved.max() > 0  # some replicas solve it, at the same sweep


def _binary_task(n_cases, n_in, n_out, seed):
    """Random 0/1 inputs with a few all-zero rows, 0/1 targets."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n_cases, n_in)) > 0.5).astype(float)
    X[[0, 3, 5]] = 0.0  # zero rows in several chunks (and in the short last one)
    D = (rng.random((n_cases, n_out)) > 0.5).astype(float)
    return Task("binary", X, D, labels=tuple(str(i) for i in range(n_cases)))


@pytest.mark.parametrize("cfg", [
    # chunks of 3, 3 and 1 cases share buffers; momentum switched on, then off (Δw moves
    # between the gradient buffer and its own); tss with the mean over the chunk
    TrainConfig(lr=0.3, grain="minibatch", batch_size=3, max_sweeps=120, error="tss",
                report="tss", reduction="mean", momentum_schedule=((20, 0.9), (70, 0.0))),
    # L2 decay, mse, solve and stop margins (the stopping rule rewinds blocks)
    TrainConfig(lr=0.5, momentum=0.5, max_sweeps=300, error="mse", report="mse", decay=0.001,
                decay_mode="l2", solve_margin=0.4, stop_margin=0.45),
    # the paper's multiplicative decay, ecrit without momentum (rewinds with Δw in G)
    TrainConfig(lr=0.5, max_sweeps=400, ecrit=0.5, decay=0.0005, report="sse"),
], ids=["minibatch-tail-momentum-switch", "l2-margins", "shrink-ecrit"])
def test_replica_last_paths_agree_to_rounding(cfg):
    # Two hidden layers (relu, logistic) without biases: zero-input cases, the einsum
    # products with several units on both sides, relu's derivative on the live cases.
    # Same tolerance argument as above (a few ulp per sweep over at most 400 sweeps).
    task = _binary_task(7, 3, 2, seed=1)

    def make():
        groups = [Group("input", 3, None, False), Group("hidden1", 4, "relu", False),
                  Group("hidden2", 3, "logistic", False), Group("output", 2, "logistic", False)]
        return Network(groups, chain([g.name for g in groups]), replicas=70)

    a, b = last(make, task, cfg, range(70))
    assert sum(b[2].engine.zeros) == 3
    assert_same(a, b, exact=False, rtol=1e-9)


def test_numpy_first_without_momentum_rewinds_bit_for_bit():
    # ecrit stops replicas inside blocks without momentum: Δw is kept in the gradient
    # buffer, saved and restored from there.
    cfg = TrainConfig(lr=2.0, ecrit=0.1, max_sweeps=1000, init_scale=1.0)
    a, b = first(lambda: Network.mlp([2, 2, 1], replicas=5), make_task("xor"), cfg, range(5))
    assert_same(a, b)
    assert a[0].stopped.sum() >= 2 and len(set(a[0].sweeps.tolist())) >= 2


def test_unsupported_runs_use_the_readable_engine_and_say_why():
    task = make_task("xor")
    trainer = Trainer(Network.mlp([2, 2, 1]), task, TrainConfig(optimizer="adam",
                                                                max_sweeps=3), [0])
    result = trainer.train()
    assert result.engine == "readable" and "gradient descent" in result.why_not
    trainer = Trainer(Network.mlp([2, 2, 1]), task, TrainConfig(max_sweeps=3), [0])
    result = trainer.train()
    assert result.engine == "numpy-first" and result.why_not is None


def test_readable_engine_in_blocks_rewinds_like_sweep_by_sweep(monkeypatch):
    # The loop's rewind and replay through the readable engine's own save/restore: in
    # blocks of 16 sweeps, replicas that stop or diverge inside a block (shuffled patterns:
    # the order generators rewind too; Adam: its state rewinds) give the numbers of blocks
    # of one sweep.
    stopping = (lambda: Network.mlp([2, 2, 1], replicas=5), make_task("xor"),
                TrainConfig(lr=0.05, ecrit=0.04, max_sweeps=600, init_scale=0.5,
                            grain="pattern", order="shuffled", optimizer="adam"), range(5))
    diverging = (lambda: Network.mlp([2, 3, 1], activation="linear", output_activation="linear",
                                     replicas=3), random_task(4, 2, 1),
                 TrainConfig(lr=1e306, error="tss", max_sweeps=50, init="normal",
                             init_scale=3.0), range(3))
    for make_net, task, cfg, seeds in (stopping, diverging):
        runs = []
        for block in (1, 16):
            monkeypatch.setattr(select, "Readable",
                                lambda setup, block=block: Readable(setup, block=block))
            runs.append(both(make_net, task, cfg, seeds, "readable")[1])
            assert runs[-1][2].engine.block == block
        assert_same(*runs)
        result = runs[0][0]
        assert result.diverged.any() or (result.stopped.sum() >= 2
                                         and len(set(result.sweeps.tolist())) >= 2)


def test_an_engine_that_cannot_train_the_run_says_so_in_one_line():
    from backprop86.errors import ConfigError

    task = make_task("xor")
    for engine, words in (("numpy-first", "gradient descent"),
                          ("numpy-last", "gradient descent")):
        with pytest.raises(ConfigError, match=f"engine '{engine}' cannot train this run: .*"
                                              f"{words}"):
            Trainer(Network.mlp([2, 2, 1]), task,
                    TrainConfig(optimizer="adam", engine=engine), [0])  # before any training
    with pytest.raises(ConfigError, match="replica-last layout needs cases in order"):
        Trainer(Network.mlp([2, 2, 1]), task,
                TrainConfig(order="shuffled", engine="numpy-last"), [0])
    with pytest.raises(ConfigError, match="engine must be one of"):
        TrainConfig(engine="fastest")


def test_an_update_allocates_nothing():
    in_a_fresh_process(__name__, "_an_update_allocates_nothing")


def _an_update_allocates_nothing():
    # No biases: NumPy's iterator allocates (and frees) its own buffer, at most 64 KiB,
    # whenever an operand is broadcast, as adding a bias row to every case does. A hidden
    # array of one update is 8 cases x 64 units x 8 bytes = 4 KiB (the bound is 2 KiB).
    cfg = TrainConfig(lr=0.1, momentum=0.9, grain="minibatch", batch_size=8)
    trainer = Trainer(Network.mlp([8, 64, 4], bias=False), random_task(32, 8, 4), cfg, [0])
    assert_updates_allocate_nothing(trainer, "numpy-first", 0.1, 0.9)


def test_xor_command_prints_the_article_output_on_every_engine_that_fits():
    article = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "article.py")],
                             capture_output=True, text=True, check=True).stdout
    for engine in ("auto", "readable", "numpy-first", "numpy-last"):
        out = subprocess.run([sys.executable, "-m", "backprop86", "xor", "--engine", engine],
                             capture_output=True, text=True, check=True).stdout
        assert out == article, engine


def test_float32_data_is_not_copied():
    # A float32 task stays float32 and a float32 network trains on it without a copy
    # (the 784-256-10 benchmark's 60,000 images would otherwise exist three times).
    X = np.random.default_rng(0).random((6, 3), dtype=np.float32)
    task = Task("f32", X, np.eye(2)[[0, 1, 0, 1, 1, 0]], labels=tuple("abcdef"))
    assert task.inputs is X
    trainer = Trainer(Network.mlp([3, 4, 2], dtype="float32"), task, TrainConfig(dtype="float32"),
                      [0])
    assert trainer.X is X
    assert Trainer(Network.mlp([3, 4, 2]), task, TrainConfig(), [0]).X.dtype == np.float64


def test_replica_last_without_the_zero_row_skip_agrees_to_rounding(monkeypatch):
    # The ablation's variant (benchmarks/run.py): every case computed, XOR's 00 included.
    from backprop86.experiments import load

    monkeypatch.setattr(select, "NumpyLast",
                        lambda setup: NumpyLast(setup, skip_zero_rows=False))
    exp = load("xor").with_settings(["max_sweeps=300"])
    a, b = last(lambda: exp.network(replicas=100), exp.task(), exp.config, range(100))
    assert b[2].engine.zeros == [0]
    assert_same(a, b, exact=False, rtol=1e-9)


def test_run_and_sweep_say_which_engine_trained(tmp_path, capsys):
    import json

    from backprop86.cli import main

    assert main(["run", "handbook-xor", "--json", str(tmp_path / "run.json")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("trained by the numpy-first engine")
    record = json.loads((tmp_path / "run.json").read_text())
    assert (record["engine"], record["why_not"], record["config"]["engine"]) == (
        "numpy-first", None, "auto")
    assert main(["sweep", "xor-pdp-a", "--seeds", "3", "--set", "max_sweeps=20",
                 "--set", "engine=auto", "--json", str(tmp_path / "sweep.json")]) == 0
    out = capsys.readouterr().out
    assert ("trained by the readable engine; no faster engine can train it: the network is "
            "not a plain chain") in out
    point = json.loads((tmp_path / "sweep.json").read_text())["points"][0]
    assert point["engine"] == "readable" and "not a plain chain" in point["why_not"]
