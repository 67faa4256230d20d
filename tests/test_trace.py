"""``trace``: every number of one update, checked against the vectorised network and a trainer."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from backprop86 import Group, Network, Projection, Task, TrainConfig
from backprop86.analysis.trace import format_csv, format_markdown, format_text, trace
from backprop86.cli import main
from backprop86.engine.readable import Readable
from backprop86.init import initialize
from backprop86.network import bias_param
from backprop86.train import Trainer, make_error


def _skip_tied_net() -> Network:
    """Inputs feed the output directly (skip) and through two hidden groups that share weights."""
    groups = [Group("in", 2, None, False), Group("a", 2, "tanh"), Group("b", 2, "logistic"),
              Group("out", 2, "logistic")]
    mask = np.array([[1.0, 0.0], [1.0, 1.0]])
    projections = [Projection("in", "a", tie="shared"), Projection("in", "b", tie="shared"),
                   Projection("a", "out"), Projection("b", "out", mask=mask),
                   Projection("in", "out")]
    return Network(groups, projections)


CASES = [
    ("mlp-sse-momentum", lambda: Network.mlp([2, 3, 1]), TrainConfig(lr=0.5, momentum=0.9)),
    ("mlp-softmax-ce", lambda: Network.mlp([2, 3, 2], output_activation="softmax"),
     TrainConfig(error="cross_entropy", lr=0.3)),
    ("skip-tied-mask-mse", _skip_tied_net, TrainConfig(error="mse", lr=0.7, tie_rule="mean")),
    ("relu-linear-adam-decay", lambda: Network.mlp([2, 4, 2], activation="relu",
                                                    output_activation="linear"),
     TrainConfig(optimizer="adam", lr=0.01, decay=0.01)),
    ("logistic-ce-dead-zone", lambda: Network.mlp([2, 2, 2]), TrainConfig(error="dead_zone")),
]


def _values(t, equation, quantity=None):
    return {r.unit: r.value for r in t.rows
            if r.equation == equation and (quantity is None or r.quantity == quantity)}


@pytest.mark.parametrize(("name", "build", "config"), CASES, ids=[c[0] for c in CASES])
def test_trace_agrees_with_network_and_trainer(name, build, config):
    net = build()
    initialize(net, [3], "uniform", 0.8)
    x = np.array([1.0, 0.0])
    d = np.array([1.0, 0.0][: net.n_outputs])
    t = trace(net, x, d, config)
    activity = net.forward(x[None])
    # eqs (1)–(2): every unit's net input and output
    for g in net.groups:
        if g.is_input:
            continue
        for j in range(g.size):
            unit = f"{g.name}[{j + 1}]"  # units count from 1
            assert _values(t, "(1)")[unit] == pytest.approx(activity.x[g.name][0, 0, j],
                                                            abs=1e-15)
            assert _values(t, "(2)")[f"{g.name}[{j + 1}]"] == activity.y[g.name][0, 0, j]
    # eq (3)
    E, grads = net.gradients(x[None], d[None], make_error(config.error, config),
                             tie_rule=config.tie_rule)
    assert t.where("(3)")[0].value == pytest.approx(E[0], rel=1e-14)
    # eq (6): per-connection products add up to the vectorised gradient of every parameter
    total = {n: np.zeros(w.shape[1:]) for n, w in net.params.items()}
    tied = {n for n, c in net.tie_counts.items() if c > 1}
    for r in t.where("(6)"):
        if r.unit.endswith(" bias"):
            group, j = r.unit[:-5].rstrip("]").split("[")
            total[bias_param(group)][0, int(j) - 1] += r.value  # units count from 1
        elif "←" in r.unit:
            target, source = r.unit.split(" ← ")
            (tg, j), (sg, i) = (s.rstrip("]").split("[") for s in (target, source))
            p = next(p for p in net.projections if p.source == sg and p.target == tg)
            total[p.param][int(i) - 1, int(j) - 1] += r.value
    for n in tied:
        if config.tie_rule == "mean":
            total[n] /= net.tie_counts[n]
    for n, g in grads.items():
        np.testing.assert_allclose(total[n], g[0], rtol=1e-12, atol=1e-15)
    # eqs (8)/(9): the weight changes are those a trainer makes from this one pattern
    twin = net.copy()
    task = Task("one", x[None], d[None])
    trainer = Trainer(twin, task, config.replace(grain="pattern", max_sweeps=1), [3],
                      initialized=True)
    Readable(trainer).sweep(0)
    changes = [r for r in t.rows if r.quantity == "Δw"]
    expected = sum(int(np.sum(net.masks[n])) if n in net.masks else w[0].size
                   for n, w in net.params.items())
    assert len(changes) == expected
    got = {n: twin.params[n][0] - net.params[n][0] for n in net.params}
    seen = {n: 0 for n in net.params}
    for r in changes:
        if r.unit.endswith(" bias"):
            group, j = r.unit[:-5].rstrip("]").split("[")
            n, idx = bias_param(group), (0, int(j) - 1)  # units count from 1
        elif "←" in r.unit:
            target, source = r.unit.split(" ← ")
            (tg, j), (sg, i) = (s.rstrip("]").split("[") for s in (target, source))
            p = next(p for p in net.projections if p.source == sg and p.target == tg)
            n, idx = p.param, (int(i) - 1, int(j) - 1)
        else:  # a tied array: name[i,j]
            n, rest = r.unit.split("[")
            idx = tuple(int(v) - 1 for v in rest.rstrip("]").split(","))
        assert r.value == pytest.approx(got[n][idx], rel=1e-12, abs=1e-17), (r, got[n][idx])
        seen[n] += 1
    assert all(seen.values())
    labels = {r.equation for r in t.rows}
    if config.optimizer == "sgd":
        assert ("(9)" if config.momentum else "(8)") in labels
    assert {"(1)", "(2)", "(3)", "(5)", "(6)"} <= labels


def test_hidden_error_is_eq7_sum():
    """eq (7) written out: ∂E/∂y_i of a hidden unit is Σ_j ∂E/∂x_j w_ji over the output units."""
    net = Network.mlp([2, 3, 2])
    initialize(net, [1], "uniform", 1.0)
    t = trace(net, np.array([0.5, -1.0]), np.array([1.0, 0.0]), TrainConfig())
    dx_out = np.array([_values(t, "(5)")[f"output[{j + 1}]"] for j in range(2)])
    W = net.params["w:hidden1->output"][0]
    for i in range(3):
        expected = pytest.approx(float(W[i] @ dx_out), rel=1e-14)
        assert _values(t, "(7)")[f"hidden1[{i + 1}]"] == expected


def test_formats_hold_the_same_numbers():
    net = Network.mlp([2, 2, 1])
    initialize(net, [0], "uniform", 0.5)
    t = trace(net, np.array([0.0, 1.0]), np.array([1.0]), TrainConfig(), title="demo")
    text, md, table = format_text(t), format_markdown(t), format_csv(t)
    for eq in ("(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"):
        assert eq in text and f"| {eq} |" in md
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == len(t.rows)
    # CSV keeps full precision: every value reads back exactly
    assert [float(r["value"]) for r in rows] == [r.value for r in t.rows]
    assert text.splitlines()[0] == "demo"


def test_cli_trace_text_markdown_csv(capsys):
    assert main(["trace", "xor", "--pattern", "2"]) == 0
    out = capsys.readouterr().out
    assert "initial weights (seed 42), pattern 2 (01: input 0 1 → target 1)" in out
    assert "(8)" in out
    assert main(["trace", "handbook-xor", "--pattern", "3", "--format", "markdown"]) == 0
    assert "| (9) | Δw |" in capsys.readouterr().out
    assert main(["trace", "xor", "--pattern", "1", "--format", "csv", "--set", "hidden=2"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["unit"] for r in rows if r["equation"] == "(1)"} == {"hidden1[1]", "hidden1[2]",
                                                                   "output[1]"}
    assert main(["trace", "handbook-xor", "--pattern", "1"]) == 0
    assert capsys.readouterr().out.startswith(
        "handbook-xor: one update from the weights of xor.wts, pattern 1 (00:")


@pytest.mark.parametrize(("argv", "expected"), [
    (["trace", "xor", "--pattern", "5"], "--pattern must be a case number from 1 to 4 (1=00"),
    (["trace", "xor", "--pattern", "0"], "expected a positive integer"),
    (["trace", "handbook-xor", "--pattern", "1", "--seed", "3"],
     "come from xor.wts, not from a seed"),
    (["trace", "xor"], "the following arguments are required: --pattern"),
    (["trace", "xor", "--pattern", "1", "--format", "html"], "invalid choice: 'html'"),
    (["trace", "nope", "--pattern", "1"], "unknown experiment 'nope'"),
])
def test_cli_trace_bad_input(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
