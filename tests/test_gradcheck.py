"""The backward pass (eqs. 5–7) against central differences, for every kind of network and update.

Tolerances: a correct float64 backward pass agrees with a central difference
(h = 1e-6) to a relative error of about 1e-9 on these small nets (truncation
O(h²) ≈ 1e-12, rounding ≈ 1e-16·|E|/h ≈ 1e-10 absolute against gradients of
order 0.01–1); the checker's pass mark is 1e-6, and a wrong derivative gives a
relative error of order 1, so the verdict separates the two by orders of magnitude.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from backprop86 import (
    Group,
    Network,
    Projection,
    TrainConfig,
    Trainer,
    checkpoint,
    experiments,
    gradcheck,
)
from backprop86.analysis.gradcheck import numeric_gradient
from backprop86.cli import main
from backprop86.engine.readable import Readable
from backprop86.errors import ConfigError
from backprop86.functions import ACTIVATIONS, ERRORS, DeadZone, Tanh, error_function
from backprop86.init import rng_for
from backprop86.tasks import Task

ACTS = list(ACTIVATIONS)
ERRS = list(ERRORS)
KINDS = ["plain", "skip", "masked", "tied", "combined"]
N_IN, N_OUT, N_CASES = 3, 3, 5


def build(kind: str, act: str, out_act: str, replicas: int) -> Network:
    """A small net of the given kind; ``act`` for hidden groups, ``out_act`` for the output."""
    M1 = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1]])  # (3, 4): 3 connections absent
    M2 = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])  # (4, 3)
    T = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1]])  # (3, 3) mask of a tied array
    inp = Group("in", N_IN, None, False)
    out = Group("out", N_OUT, out_act)
    if kind in ("plain", "skip", "masked"):
        groups = [inp, Group("h", 4, act), out]
        if kind == "masked":
            projections = [Projection("in", "h", M1), Projection("h", "out", M2)]
        else:
            projections = [Projection("in", "h"), Projection("h", "out")]
        if kind == "skip":
            projections.append(Projection("in", "out"))
    else:
        # unrolled recurrent net: the same weights W at two steps
        groups = [inp, Group("h1", 3, act), Group("h2", 3, act, bias=kind == "tied"), out]
        mask = T if kind == "combined" else None
        projections = [
            Projection("in", "h1", mask, tie="W"),
            Projection("h1", "h2", mask, tie="W"),
            Projection("h2", "out"),
        ]
        if kind == "combined":  # and two skip connections
            projections += [Projection("in", "h2"), Projection("h1", "out")]
    net = Network(groups, projections, replicas=replicas)
    rng = np.random.default_rng(1)
    net.set_params({k: rng.normal(0.0, 0.8, size=w.shape) for k, w in net.params.items()})
    if "relu" in (act, out_act):
        # centre each relu unit's net inputs over the cases (through its bias), so that every
        # unit is on for some cases: the relu gradients are then really checked
        X, _ = data("sse", out_act)
        for g in groups:
            if g.activation == "relu" and g.bias:
                x = net.forward(X).x[g.name]  # (R, N, n)
                net.params[f"b:{g.name}"] += 0.1 - np.median(x, axis=1, keepdims=True)
    return net


def data(error: str, out_act: str, replicas: int = 1):
    """Inputs ``(N, 3)`` and fitting targets ``(N, 3)`` for the error and output activation."""
    rng = np.random.default_rng(2)
    X = rng.normal(0.0, 1.0, size=(N_CASES, N_IN))
    if error == "cross_entropy" and out_act == "softmax":
        D = np.eye(N_OUT)[rng.integers(0, N_OUT, N_CASES)]  # one-hot
    elif error in ("cross_entropy", "sse", "tss", "mse"):
        D = rng.uniform(0.0, 1.0, size=(N_CASES, N_OUT))
    else:  # dead zone: on/off targets
        D = rng.integers(0, 2, size=(N_CASES, N_OUT)).astype(float)
    return X, D


def output_activation(act: str, error: str) -> str:
    """Cross-entropy needs outputs in (0, 1): logistic, or softmax with one-hot targets."""
    if error == "cross_entropy" and act not in ("logistic", "softmax"):
        return "logistic"
    return act


@pytest.mark.parametrize("replicas", [1, 3])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("error", ERRS)
@pytest.mark.parametrize("act", ACTS)
def test_backward_pass_matches_central_differences(act, error, kind, replicas):
    out_act = output_activation(act, error)
    net = build(kind, act, out_act, replicas)
    X, D = data(error, out_act)
    report = gradcheck(net, X, D, error)
    assert report.notes == []  # relu: every net input is ≥ 1e-4 from the kink
    assert [row.param for row in report.rows] == list(net.params)
    assert all(row.rel_err.shape == (replicas,) for row in report.rows)
    assert report.passed, report.format()
    assert report.max_rel_err < 1e-6  # small nets: well inside the pass mark, no noise needed
    # the check is not vacuous: the first and the last weights get a real gradient
    _, grads = net.gradients(X, D, error_function(error))
    for p in (net.projections[0], net.into["out"][0]):
        assert np.abs(grads[p.param]).max(axis=(1, 2)).min() > 1e-4


def test_replicas_are_checked_separately_and_inputs_may_differ_per_replica():
    net = build("skip", "tanh", "logistic", 3)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, N_CASES, N_IN))  # (R, N, n_in)
    D = rng.uniform(size=(3, N_CASES, N_OUT))
    report = gradcheck(net, X, D, "sse")
    assert report.passed
    numeric = numeric_gradient(net, X, D, "sse")
    for r in range(3):
        single = Network(net.groups, net.projections)
        single.set_params({k: w[r] for k, w in net.params.items()})
        alone = numeric_gradient(single, X[r], D[r], "sse")
        for name in net.params:
            np.testing.assert_allclose(numeric[name][r], alone[name][0], rtol=0, atol=1e-12)


def test_multiple_output_groups_one_of_them_hidden():
    """An output group that feeds a later group gets its own error plus the error from above."""
    groups = [Group("in", 3, None, False), Group("a", 2, "logistic"), Group("b", 2, "logistic")]
    net = Network(
        groups, [Projection("in", "a"), Projection("a", "b"), Projection("in", "b")],
        replicas=2, outputs=("a", "b"),
    )
    rng = np.random.default_rng(3)
    net.set_params({k: rng.normal(size=w.shape) for k, w in net.params.items()})
    X, D = rng.normal(size=(4, 3)), rng.uniform(size=(4, 4))
    for error in ("sse", "cross_entropy"):
        assert gradcheck(net, X, D, error).passed


def test_a_wrong_derivative_is_caught(monkeypatch):
    """Drop the factor 1 − y² of tanh: the checker must fail, name the arrays and say so."""
    net = build("plain", "tanh", "logistic", 2)
    X, D = data("sse", "logistic")
    monkeypatch.setattr(Tanh, "backward", lambda self, x, y, dE_dy: dE_dy.copy())
    report = gradcheck(net, X, D, "sse")
    assert not report.passed
    assert report.max_rel_err > 1e-2
    wrong = {row.param for row in report.failures}
    assert wrong == {"w:in->h", "b:h"}  # the output layer's gradient does not use tanh′
    text = report.format()
    assert "FAIL" in report.verdict and "w:in->h" in report.verdict
    assert text.count("<-- wrong") == 2


def test_rounding_noise_allowance():
    """An array passes when |analytic − numeric| ≤ threshold · scale + noise, in every replica."""
    from backprop86.analysis.gradcheck import GradcheckReport, GradcheckRow

    def row(abs_err, scale, noise):
        a, s, n = np.array([abs_err]), np.array([scale]), np.array([noise])
        return GradcheckRow("w", "weights", 4, "entries", a / s, a, s, n)

    within_noise = GradcheckReport([row(3e-8, 3e-3, 1e-7)], 1e-6, 1e-6, 1)
    assert within_noise.passed and "rounding noise" in within_noise.verdict
    assert within_noise.max_rel_err == pytest.approx(1e-5)
    beyond = GradcheckReport([row(3e-6, 3e-3, 1e-7)], 1e-6, 1e-6, 1)
    assert not beyond.passed and "<-- wrong" in beyond.format()
    clean = GradcheckReport([row(1e-12, 1.0, 1e-7)], 1e-6, 1e-6, 1)
    assert clean.passed and "<= 1e-06" in clean.verdict


def test_large_arrays_are_checked_along_random_directions(monkeypatch):
    net = Network.mlp([30, 12, 2], activation="tanh", replicas=2)  # 360 input weights
    rng = np.random.default_rng(4)
    net.set_params({k: rng.normal(0, 0.3, size=w.shape) for k, w in net.params.items()})
    X, D = rng.normal(size=(6, 30)), rng.uniform(size=(6, 2))
    report = gradcheck(net, X, D, "sse")
    methods = {row.param: (row.method, row.entries) for row in report.rows}
    assert methods["w:input->hidden1"] == ("directions", 16)
    assert methods["w:hidden1->output"] == ("entries", 24)
    assert report.passed
    report = gradcheck(net, X, D, "sse", directions=5)
    assert {row.method for row in report.rows if row.entries > 5} <= {"directions"}
    assert report.passed
    monkeypatch.setattr(Tanh, "backward", lambda self, x, y, dE_dy: 2.0 * dE_dy * (1 - y * y))
    assert not gradcheck(net, X, D, "sse").passed


def test_float32_networks_are_checked_in_float64():
    net = Network.mlp([2, 3, 1], replicas=2, dtype=np.float32)
    rng = np.random.default_rng(6)
    net.set_params({k: rng.normal(size=w.shape) for k, w in net.params.items()})
    before = {k: w.copy() for k, w in net.params.items()}
    report = gradcheck(net, rng.normal(size=(4, 2)), rng.uniform(size=(4, 1)))
    assert report.passed
    assert all(np.array_equal(before[k], net.params[k]) for k in before)  # left unchanged


def test_tie_rule_mean_divides_the_tied_gradient_by_the_tie_count():
    net = build("tied", "logistic", "logistic", 2)
    X, D = data("sse", "logistic")
    err = error_function("sse")
    _, total = net.gradients(X, D, err, tie_rule="sum")
    _, mean = net.gradients(X, D, err, tie_rule="mean")
    assert net.tie_counts["W"] == 2
    np.testing.assert_array_equal(mean["W"], total["W"] / 2)
    for name in net.params:
        if name != "W":
            np.testing.assert_array_equal(mean[name], total[name])
    assert gradcheck(net, X, D, tie_rule="mean").passed
    # the "sum" gradient is the true one: checked against central differences as is
    numeric = numeric_gradient(net, X, D)
    np.testing.assert_allclose(total["W"], numeric["W"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("error", ERRS)
def test_dont_care_targets_contribute_no_gradient(error):
    net = build("skip", "logistic", "logistic", 2)
    X, D = data(error, "logistic")
    care = np.ones_like(D)
    care[1, :] = 0.0  # case 1 does not count at all
    care[3, 0] = care[0, 2] = 0.0  # and two single targets
    err = error_function(error)
    _, g = net.gradients(X, D, err, care)
    D2 = D.copy()
    D2[care == 0] = 1.0 - D2[care == 0]  # change every don't-care target
    _, g2 = net.gradients(X, D2, err, care)
    keep = [0, 2, 3, 4]  # dropping the uncounted case changes nothing (mse: same count)
    _, g3 = net.gradients(X[keep], D[keep], err, care[keep])
    for name in net.params:
        np.testing.assert_array_equal(g[name], g2[name])
        np.testing.assert_allclose(g[name], g3[name], rtol=1e-12, atol=1e-15)
    assert gradcheck(net, X, D, err, care).passed
    assert gradcheck(net, X, D2, err, care).passed


def test_softmax_cross_entropy_with_soft_targets_and_dont_care():
    """Targets that do not sum to 1, and masked targets, inside a softmax group."""
    net = build("skip", "tanh", "softmax", 2)
    X, _ = data("sse", "softmax")
    rng = np.random.default_rng(8)
    D = rng.uniform(size=(N_CASES, N_OUT))
    care = (rng.uniform(size=D.shape) > 0.3).astype(float)
    assert gradcheck(net, X, D, "cross_entropy").passed
    assert gradcheck(net, X, D, "cross_entropy", care).passed


def test_dead_zone_margins_are_respected():
    """Outputs beyond the margins give exactly zero error and gradient."""
    net = build("plain", "logistic", "logistic", 1)
    X, D = data("dead_zone", "logistic")
    y = net.predict(X)[0]
    wide = DeadZone(low=float(y.max()) + 0.01, high=float(y.min()) - 0.01)  # all satisfied
    E, g = net.gradients(X, D, wide)
    assert E[0] == 0.0
    assert all(not np.any(v) for v in g.values())
    assert gradcheck(net, X, D, DeadZone(0.3, 0.6)).passed


def test_numeric_gradient_skips_masked_connections_and_leaves_the_net_alone():
    net = build("masked", "tanh", "linear", 2)
    X, D = data("sse", "linear")
    before = {k: w.copy() for k, w in net.params.items()}
    numeric = numeric_gradient(net, X, D)
    for name, mask in net.masks.items():
        assert np.all(numeric[name][:, mask[0] == 0] == 0.0)
        assert np.all(numeric[name][:, mask[0] == 1] != 0.0)
    assert all(np.array_equal(before[k], net.params[k]) for k in before)
    report = gradcheck(net, X, D)
    assert {row.param: row.entries for row in report.rows}["w:in->h"] == 9  # 12 − 3 absent


def test_bad_arguments_are_one_clear_error():
    net = build("plain", "logistic", "logistic", 1)
    X, D = data("sse", "logistic")
    with pytest.raises(ConfigError, match="eps"):
        gradcheck(net, X, D, eps=0.0)
    with pytest.raises(ConfigError, match="directions"):
        gradcheck(net, X, D, directions=0)
    with pytest.raises(ConfigError, match="tie_rule"):
        gradcheck(net, X, D, tie_rule="median")
    with pytest.raises(ConfigError, match="error function"):
        gradcheck(net, X, D, "hinge")


# ----------------------------------------------------------------------------
# Every update grain: one sweep of the Trainer equals steps along -lr × central differences
# ----------------------------------------------------------------------------


def _reference_sweep(net, task, cfg, seeds):
    """One sweep by hand: for each chunk of cases, w ← w − ε · (numeric ∂E/∂w on that chunk)."""
    R, n = net.replicas, task.n_cases
    if cfg.order == "shuffled":
        order = np.stack([rng_for(s, "order").permutation(n) for s in seeds])
    else:
        order = np.tile(np.arange(n), (R, 1))
    size = {"sweep": n, "pattern": 1, "minibatch": cfg.batch_size}[cfg.grain]
    for start in range(0, n, size):
        idx = order[:, start:start + size]  # (R, B)
        g = numeric_gradient(net, task.inputs[idx], task.targets[idx], cfg.error)
        scale = cfg.lr / (idx.shape[1] if cfg.reduction == "mean" else 1)
        for name, w in net.params.items():
            w -= scale * g[name]


GRAINS = [
    ("sweep", "sequential", 1, "sum"),
    ("sweep", "sequential", 1, "mean"),
    ("pattern", "sequential", 1, "sum"),
    ("pattern", "shuffled", 1, "sum"),
    ("minibatch", "shuffled", 3, "mean"),
    ("minibatch", "sequential", 3, "sum"),
]


@pytest.mark.parametrize(("grain", "order", "batch_size", "reduction"), GRAINS)
def test_each_update_uses_the_gradient_of_its_own_chunk(grain, order, batch_size, reduction):
    X = np.array(list(itertools.product((0.0, 1.0), repeat=3)))  # 8 cases
    D = np.stack([X.sum(1) % 2, X[:, 0] * X[:, 1]], axis=1)
    task = Task("parity-and", X, D)
    cfg = TrainConfig(
        grain=grain, order=order, batch_size=batch_size, reduction=reduction, lr=0.7,
        momentum=0.0, init="uniform", init_scale=1.0, max_sweeps=1, error="cross_entropy",
    )
    seeds = [3, 11]
    net = Network.mlp([3, 4, 2], replicas=2)
    trainer = Trainer(net, task, cfg, seeds)
    start = net.copy()
    reference = net.copy()
    Readable(trainer).sweep(0)
    _reference_sweep(reference, task, cfg, seeds)
    for name, w in net.params.items():
        # numeric gradients carry ≈ 1e-10 absolute error; 8 updates of lr 0.7 keep it < 1e-8
        np.testing.assert_allclose(w, reference.params[name], rtol=0, atol=1e-8)
    # the sweep moved the weights far more than the tolerance (the comparison is not vacuous)
    assert max(np.abs(net.params[k] - start.params[k]).max() for k in net.params) > 1e-2


# ----------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------


def test_gradcheck_command_prints_the_table_and_verdict(capsys):
    assert main(["gradcheck", "handbook-xor"]) == 0
    out = capsys.readouterr().out
    for param in ("w:input->hidden1", "w:hidden1->output", "b:hidden1", "b:output"):
        assert param in out
    assert "PASS" in out and "threshold 1e-06" in out
    assert "2 replicas" in out


@pytest.mark.parametrize("name", experiments.names())
def test_every_shipped_experiment_passes(name, capsys):
    assert main(["gradcheck", name]) == 0, capsys.readouterr().out
    capsys.readouterr()


def test_gradcheck_command_exits_1_on_a_wrong_gradient(monkeypatch, capsys):
    from backprop86.functions import Logistic

    monkeypatch.setattr(Logistic, "backward", lambda self, x, y, dE_dy: dE_dy * y)
    assert main(["gradcheck", "handbook-xor", "--set", "error=sse", "--replicas", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "<-- wrong" in out and "3 replicas" in out


def test_gradcheck_command_uses_the_experiments_error_and_targets(capsys):
    argv = ["gradcheck", "xor", "--set", "error=dead_zone", "--set", "targets=0.1,0.9",
            "--set", "dead_zone=0.3,0.7", "--seed", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "error dead_zone" in out and "seeds 5, 6" in out


def test_gradcheck_command_reads_a_toml_file_with_masks_and_tied_weights(tmp_path, capsys):
    path = tmp_path / "tied.toml"
    path.write_text(
        """
name = "tied-xor"

[task]
name = "xor"

[network]
groups = [
    { name = "in", size = 2, activation = "input" },
    { name = "h1", size = 2, activation = "tanh" },
    { name = "h2", size = 2, activation = "tanh" },
    { name = "out", size = 1, activation = "logistic" },
]
projections = [
    { from = "in", to = "h1", tie = "W", mask = [[1, 1], [0, 1]] },
    { from = "h1", to = "h2", tie = "W", mask = [[1, 1], [0, 1]] },
    { from = "in", to = "out" },
    { from = "h2", to = "out" },
]

[train]
init = "uniform"
init_scale = 1.0
error = "cross_entropy"
tie_rule = "mean"
"""
    )
    assert main(["gradcheck", str(path), "--replicas", "3", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "tied x2, masked" in out and "3 entries" in out  # 4 − 1 absent connection
    assert "tied weights: mean" in out and "PASS" in out


def test_gradcheck_command_checks_the_weights_a_run_wrote(tmp_path, capsys):
    weights = tmp_path / "trained.npz"
    argv = ["run", "handbook-xor", "--seeds", "3", "--set", "max_sweeps=100"]
    assert main([*argv, "--weights", str(weights)]) == 0
    capsys.readouterr()
    trained = experiments.load("handbook-xor").network(replicas=3)
    checkpoint.load_weights(weights, trained)
    assert checkpoint.weights_meta(weights)["run"]["seeds"] == [0, 1, 2]
    assert main(["gradcheck", "handbook-xor", "--weights", str(weights)]) == 0
    out = capsys.readouterr().out
    assert f"weights from {weights} (3 replicas)" in out and "PASS" in out and "3 replicas" in out
    # another network's weights: one clear line, exit 2
    assert main(["gradcheck", "xor", "--weights", str(weights)]) == 2
    assert "this network has" in capsys.readouterr().err


def test_run_refuses_weights_for_a_series(tmp_path, capsys):
    assert main(["run", "chauvin", "--weights", str(tmp_path / "w.npz")]) == 2
    assert "--weights" in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()
