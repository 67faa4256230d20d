"""Thread counts from the free cores (backprop86.threads), their overrides, and that they change
how fast a run is, never its numbers."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from backprop86 import Network, TrainConfig, threads
from backprop86.cli import main
from backprop86.errors import ConfigError
from backprop86.tasks.base import Task
from backprop86.train import Trainer


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    yield
    threads.set_threads(None)


def test_a_small_run_leaves_the_counts_alone():
    assert threads.choose(threads.THREADED_WORK - 1) is None


@pytest.mark.parametrize(("runnable", "own", "allowed", "expected"),
                         [(1, 1, 2, 2), (2, 1, 2, 1), (5, 1, 2, 1), (3, 2, 4, 3), (9, 1, 4, 1)])
def test_threads_are_the_allowed_cores_less_the_busy_ones(monkeypatch, runnable, own, allowed,
                                                         expected):
    monkeypatch.setattr(threads, "_runnable_total", lambda: runnable)
    monkeypatch.setattr(threads, "_runnable_own", lambda: own)
    monkeypatch.setattr(threads, "allowed_cores", lambda: allowed)
    assert threads.choose(10**9) == expected


def test_without_proc_nothing_counts_as_busy(monkeypatch):
    monkeypatch.setattr(threads, "_runnable_total", lambda: None)
    assert threads.busy_elsewhere() == 0


def test_a_co_tenant_that_keeps_a_core_busy_is_counted():
    before = threads.busy_elsewhere(samples=9)
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        during = threads.busy_elsewhere(samples=9)
    finally:
        spin.kill()
        spin.wait()
    assert during >= 1
    assert during >= before or before >= 1  # other work on the machine may come and go


def test_own_threads_are_counted_once_at_least():
    assert threads._runnable_own() >= 1  # this reading thread is running


def test_overrides_win_over_the_load(monkeypatch):
    monkeypatch.setattr(threads, "_runnable_total", lambda: 50)
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert threads.choose(10) == 3
    threads.set_threads(2)
    assert threads.choose(10) == 2
    threads.set_threads(None)
    monkeypatch.setenv(threads.THREADS_ENV, "0")
    with pytest.raises(ConfigError, match="BACKPROP86_THREADS"):
        threads.choose(10)


def test_limited_sets_blas_threads_and_restores_them():
    from threadpoolctl import threadpool_info

    def blas() -> list[int]:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas()
    with threads.limited(1):
        assert set(blas()) == {1}
    assert blas() == before
    with threads.limited(None):
        assert blas() == before


def test_a_blas_loaded_after_the_first_run_is_limited_too():
    pytest.importorskip("scipy")
    code = """
from threadpoolctl import threadpool_info
from backprop86 import threads
with threads.limited(1):  # the view of NumPy's BLAS alone
    pass
import scipy.linalg  # SciPy's own OpenBLAS, loaded now
with threads.limited(1):
    print(sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[1]"


def _wide_run(n_threads: int) -> tuple[list[np.ndarray], int | None]:
    rng = np.random.default_rng(0)
    X = rng.random((256, 96))
    D = np.eye(4)[rng.integers(0, 4, 256)]
    task = Task("wide", X, D, labels=tuple(map(str, range(256))))
    net = Network.mlp([96, 128, 4], activation="relu", output_activation="softmax")
    cfg = TrainConfig(error="cross_entropy", report="cross_entropy", grain="minibatch",
                      batch_size=64, reduction="mean", lr=0.1, init="he", max_sweeps=3)
    threads.set_threads(n_threads)
    trainer = Trainer(net, task, cfg, [0])
    trainer.train()
    return [np.array(w) for w in trainer.net.params.values()], trainer.threads


def test_the_thread_count_changes_no_number():
    one, n1 = _wide_run(1)
    two, n2 = _wide_run(2)
    assert (n1, n2) == (1, 2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_many_seeds_on_numba_threads_are_the_same_at_any_count():
    pytest.importorskip("numba")
    from backprop86.engine.blocked import PARALLEL_MIN
    from backprop86.experiments import load

    exp = load("xor").with_settings(["max_sweeps=50", "engine=compiled-last"])
    out = []
    for n in (1, 2):
        threads.set_threads(n)
        trainer = Trainer(exp.network(replicas=PARALLEL_MIN), exp.task(), exp.config,
                          list(range(PARALLEL_MIN)))
        trainer.train()
        assert trainer.threads == n
        out.append([np.array(w) for w in trainer.net.params.values()])
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_thread_count_is_one_line(capsys, value):
    assert main(["xor", "--steps", "10", "--threads", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threads" in err[0]


def test_a_bad_thread_switch_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv(threads.THREADS_ENV, "many")
    assert main(["xor", "--steps", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "BACKPROP86_THREADS" in err[0]


def test_threads_option_reaches_the_trainer(capsys):
    assert main(["xor", "--steps", "10", "--threads", "1"]) == 0
    assert threads.choose(0) == 1


def test_a_recurrent_net_on_the_readable_engine_is_the_same_at_any_count():
    from backprop86.experiments import load

    exp = load("sequence-completion").with_settings(["max_sweeps=20"])
    out = []
    for n in (1, 2):
        threads.set_threads(n)
        trainer = Trainer(exp.network(replicas=8), exp.task(), exp.config, list(range(8)))
        result = trainer.train()
        assert (trainer.threads, result.engine) == (n, "readable")
        out.append([np.array(w) for w in trainer.net.params.values()])
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_thread_count_beyond_any_machine_is_refused_in_one_line(monkeypatch, capsys):
    from backprop86.cli import main

    monkeypatch.setenv("BACKPROP86_THREADS", "9" * 23)
    assert main(["xor", "--steps", "1"]) == 2
    assert "at most 4,096 threads" in capsys.readouterr().err
