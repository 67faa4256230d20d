"""The compiled replica-first engine (numba) gives the readable engine's numbers
bit for bit: each compiled loop makes the NumPy calls' operations in their order and
dtype. Skipped without numba."""

from __future__ import annotations

import numpy as np
import pytest

from agreement import (
    assert_same,
    assert_updates_allocate_nothing,
    in_a_fresh_process,
    random_task,
)
from agreement import both as both_engines
from backprop86 import Network, TrainConfig
from backprop86.engine import select
from backprop86.train import Trainer

pytest.importorskip("numba")

from backprop86.engine import compiled_first as fused  # after importorskip: it needs numba


def task(onehot=True):
    return random_task(40, 6, 3, onehot=onehot)


def both(make_net, task, cfg):
    """The same run on the readable engine and on compiled-first."""
    return both_engines(make_net, task, cfg, [0], "compiled-first")


MLP_CFG = dict(error="cross_entropy", report="cross_entropy", grain="minibatch", batch_size=16,
               reduction="mean", lr=0.2, init="he", max_sweeps=12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_relu_softmax_mlp_bit_for_bit(dtype, momentum):
    # Two ReLU layers with biases, softmax and cross-entropy averaged over mini-batches of
    # 16 (40 cases: a tail chunk of 8), both update rules (Δw kept in G or in S).
    cfg = TrainConfig(**MLP_CFG, momentum=momentum, dtype=dtype)
    a, b = both(lambda: Network.mlp([6, 12, 8, 3], activation="relu",
                                    output_activation="softmax", dtype=dtype), task(), cfg)
    assert_same(a, b)


@pytest.mark.parametrize("hidden", ["relu", "linear", "tanh", "logistic"])
def test_other_units_and_logistic_cross_entropy_bit_for_bit(hidden):
    # Logistic outputs with cross-entropy summed over the batch (size 1 in the delta);
    # tanh and logistic hidden units keep their NumPy calls beside the fused ones.
    cfg = TrainConfig(**{**MLP_CFG, "reduction": "sum", "lr": 0.05}, momentum=0.5)
    a, b = both(lambda: Network.mlp([6, 10, 3], activation=hidden, output_activation="logistic"),
                task(onehot=False), cfg)
    assert_same(a, b)


def test_no_biases_shuffled_squared_error_and_rate_schedule_bit_for_bit():
    # No biases (the absent-bias stand-in), shuffled mini-batches, sse through logistic
    # outputs (NumPy's delta), momentum switched on at sweep 5 (Δw moves from G to S).
    cfg = TrainConfig(lr=0.3, momentum_schedule=((0, 0.0), (5, 0.9)), grain="minibatch",
                      batch_size=8, order="shuffled", error="sse", report="sse",
                      max_sweeps=15)
    a, b = both(lambda: Network.mlp([6, 9, 3], activation="relu", bias=False),
                task(onehot=False), cfg)
    assert_same(a, b)


def test_stopping_and_decay_fall_back_bit_for_bit():
    # ecrit stops the run inside a block (rewind and replay); the paper's decay needs the
    # NumPy step (its shrink factors), the rest stays fused.
    cfg = TrainConfig(**{**MLP_CFG, "max_sweeps": 200}, ecrit=30.0, decay=1e-3)
    a, b = both(lambda: Network.mlp([6, 12, 3], activation="relu",
                                    output_activation="softmax"), task(), cfg)
    assert_same(a, b)
    assert a[0].stopped.all() and 1 < a[2].sweep < 200


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_loops_keep_numpys_nan_and_signed_zero_rules():
    # The compiled loops against the NumPy calls they replace, on NaN, ±0, ±inf.
    special = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1.5, 2.5, 1e-30], np.float32)
    rng = np.random.default_rng(1)
    x = rng.choice(special, (6, 8))
    x[0] = special  # every value once: with b[0, 1] = −0, −0 + −0 = −0 reaches the ReLU
    b = rng.choice(special, (1, 8))
    b[0, 1] = -0.0
    back = rng.choice(special, (6, 8))

    def same(u, v):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(np.signbit(u), np.signbit(v))

    for relu in (True, False):
        xf, yf = x.copy(), np.empty_like(x)
        fused.bias_act(xf, b, yf, relu)
        xn = x + b
        same(xf, xn)
        same(yf, np.maximum(xn, np.zeros_like(xn)) if relu else xn)
    xf, yf, row = x.copy(), np.empty_like(x), np.empty((6, 1), np.float32)
    fused.bias_shift(xf, b, yf, row)
    xn = x + b
    # values only: the sign of a zero here cannot matter, exp(±0) = 1 comes next
    np.testing.assert_array_equal(row, np.maximum.reduce(xn, axis=-1, keepdims=True))
    np.testing.assert_array_equal(yf, xn - row)
    none = np.zeros((0, 1), np.float32)  # no bias
    xf, yf = x.copy(), np.empty_like(x)
    fused.bias_act(xf, none, yf, True)
    same(yf, np.maximum(x, np.zeros_like(x)))
    delta, gb = np.empty_like(x), np.empty_like(b)
    fused.relu_back(back, x, delta, gb, np.float32(0))
    same(delta, back * (x > 0))
    same(gb, np.add.reduce(back * (x > 0), axis=-2, keepdims=True))
    fused.ce_delta(x, back, np.float32(3), delta, gb)
    same(delta, (x - back) / np.float32(3))
    P, S, G = (rng.standard_normal(50).astype(np.float32) for _ in range(3))
    Pn, Sn, Gn = P.copy(), S.copy(), G.copy()
    eps, alpha = np.float32(0.3), np.float32(0.9)
    fused.sgd(P, S, G, eps, alpha, True)
    Sn = Sn * alpha - eps * Gn
    same(S, Sn)
    same(P, Pn + Sn)


def test_auto_takes_it_for_wide_networks_only(monkeypatch):
    monkeypatch.setattr(select, "one_time_cost", lambda name, setup: (0.0, "nothing"))
    t = task()
    small = Trainer(Network.mlp([6, 12, 3]), t, TrainConfig(), [0])
    wide = Trainer(Network.mlp([6, 2500, 3]), t, TrainConfig(), [0])  # 25,003 parameters
    assert select.auto(small) == ("numpy-first", None)
    assert select.auto(wide) == ("compiled-first", None)
    cold = (select.COMPILE_SECONDS["compiled-first"], "numba's first compile (its cache is cold)")
    monkeypatch.setattr(select, "one_time_cost", lambda name, setup: cold)
    name, why = select.auto(wide)
    assert name == "numpy-first" and "cache is cold" in why


def test_an_update_allocates_nothing():
    in_a_fresh_process(__name__, "_an_update_allocates_nothing")


def _an_update_allocates_nothing():
    # One update's hidden array is 16 x 64 x 8 bytes = 8 KiB (the bound is 2 KiB).
    cfg = TrainConfig(**MLP_CFG, momentum=0.9)
    trainer = Trainer(Network.mlp([6, 64, 3], activation="relu", output_activation="softmax",
                                  bias=False), task(), cfg, [0])
    assert_updates_allocate_nothing(trainer, "compiled-first", 0.2, 0.9)
