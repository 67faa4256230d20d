"""``trace`` of a recurrent net: every step's numbers, checked against the unrolled network
(``Network.unroll``, ``backward_through_time``) and against one update of the trainer; and
of weights shared within an array (PDP's T–C net), feed-forward and recurrent."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from backprop86 import Group, Network, Projection, Task, TrainConfig
from backprop86.analysis.trace import format_csv, trace
from backprop86.analysis.trace_rows import param_entry
from backprop86.cli import main
from backprop86.engine.readable import Readable
from backprop86.experiments import load
from backprop86.init import initialize
from backprop86.train import Trainer, make_error


def _mixed_net() -> Network:
    """Delays 0 and 1, a mask, an array tied between a recurrent and a forward projection,
    weights and a bias shared within an array, inputs clamped at steps 1-2 (off at 3),
    targets at steps 2 and 3, initial activity 0.3."""
    groups = [Group("in", 2, None, False), Group("h", 3, "tanh"),
              Group("h2", 3, "logistic", bias_shared=True), Group("out", 2, "logistic")]
    mask = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]])
    projections = [Projection("in", "h"), Projection("h", "h", mask=mask, tie="rec"),
                   Projection("h", "h2", mask=mask, tie="rec"), Projection("h2", "out"),
                   Projection("out", "h", delay=1),
                   Projection("in", "out", delay=1, share=[[0, 1], [1, -1]])]
    return Network(groups, projections, steps=3, clamp={"in": [1, 2]},
                   target_steps={"out": [2, 3]}, initial=0.3)


def _experiment(name: str, tie_rule: str, pattern: int):
    exp = load(name)
    task = exp.task().coded(*exp.config.targets)
    net = exp.initial_network([exp.seeds()[0]])
    return net, task.inputs[pattern], task.targets[pattern], exp.config.replace(
        tie_rule=tie_rule)


def _mixed(tie_rule: str, _pattern: int):
    net = _mixed_net()
    initialize(net, [5], "uniform", 0.9)
    config = TrainConfig(error="cross_entropy", lr=0.4, momentum=0.5, tie_rule=tie_rule)
    return net, np.array([1.0, 0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0]), config


CASES = [(build, rule, k) for build, k in [("shift-register", 2), ("sequence-completion", 3),
                                          ("mixed", 0)] for rule in ("sum", "mean")]


@pytest.mark.parametrize(("build", "tie_rule", "pattern"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_recurrent_trace_agrees_with_the_unrolled_net_and_the_trainer(build, tie_rule, pattern):
    net, x, d, config = (_mixed(tie_rule, pattern) if build == "mixed"
                         else _experiment(build, tie_rule, pattern))
    t = trace(net, x, d, config)
    # the update starts from the weights training starts from (bias_max holds from the start)
    twin = net.copy()
    trainer = Trainer(twin, Task("one", x[None], d[None]),
                      config.replace(grain="pattern", max_sweeps=1), [0], initialized=True)
    start = {n: w[0].copy() for n, w in twin.params.items()}
    net.set_params({n: w[None] for n, w in start.items()})
    # eqs (1)-(2): every computed unit at every step; activity set from outside at the others
    activity = net.forward(x[None])
    rows = {(r.equation, r.unit): r.value for r in t.rows}
    for (group, step), y in activity.y.items():
        for j in range(y.shape[-1]):
            unit = f"{group}[{j + 1}] t={step}"
            if (group, step) in activity.x:
                assert rows["(1)", unit] == pytest.approx(activity.x[group, step][0, 0, j],
                                                          rel=1e-12, abs=1e-15)
                assert rows["(2)", unit] == pytest.approx(y[0, 0, j], rel=1e-12, abs=1e-15)
            else:
                whole = f"{group}[1…{y.shape[-1]}] t={step}"
                assert rows.get(("set", unit), rows.get(("set", whole))) == y[0, 0, j]
    # eq (3) summed over the target steps, eq (6) summed (or averaged) over the steps
    error = make_error(config.error, config)
    E, grads = net.gradients(x[None], d[None], error, tie_rule=tie_rule)
    assert rows["(3)", "this case"] == pytest.approx(E[0], rel=1e-12)
    entry = check_gradients(t, net, grads)
    # eqs (8)/(9): the change one update of the trainer makes from this one case
    Readable(trainer).sweep(0)
    changes = [r for r in t.rows if r.quantity == "Δw"]
    assert len(changes) == len(entry)
    for r in changes:
        n, i, j = entry[r.unit]
        assert r.value == pytest.approx(twin.params[n][0, i, j] - start[n][i, j],
                                        rel=1e-10, abs=1e-15), r
    labels = {r.equation for r in t.rows}
    assert {"set", "(1)", "(2)", "(3)", "(5)", "(6)", "(7)", "(9)"} <= labels
    settings = "\n".join(t.settings)
    assert f"tied weights: {tie_rule} of their gradients" in settings
    assert f"the backward pass runs t = {net.steps} … 1" in settings


def check_gradients(t, net, grads):
    """Eq (6) rows against the vectorised gradient: one row per connection (for an array
    shared within itself, each copy's part), one per weight shared within an array holding
    the pooled value; returns ``{unit: (param, i, j)}`` of every connection."""
    entry = {param_entry(net, n, i, j): (n, i, j) for n, w in net.params.items()
             for (i, j) in np.ndindex(w.shape[1:])
             if n not in net.masks or net.masks[n][0, i, j]}
    per_entry = [r for r in t.rows if r.equation == "(6)" and r.unit in entry]
    pooled = {r.unit: r.value for r in t.rows if r.equation == "(6)" and " shared " in r.unit}
    assert len(per_entry) == len(entry)
    assert len(pooled) == sum(int(share.max()) + 1 for share in net.shares.values())
    for r in per_entry:
        n, i, j = entry[r.unit]
        if n not in net.shares:
            assert r.value == pytest.approx(grads[n][0, i, j], rel=1e-10, abs=1e-15), r
    for n, share in net.shares.items():
        for k in range(int(share.max()) + 1):
            i, j = np.argwhere(share == k)[0]
            what = "bias" if n.startswith("b:") else "weight"
            assert pooled[f"{n} shared {what} {k + 1}"] == pytest.approx(
                grads[n][0, i, j], rel=1e-10, abs=1e-15)
    return entry


@pytest.mark.parametrize("tie_rule", ["sum", "mean"])
def test_trace_of_weights_shared_within_an_array_agrees_with_the_trainer(tie_rule):
    """A feed-forward net with a T–C style shared field and shared bias: every copy of a
    shared weight changes by the pooled gradient, as one update of the trainer does."""
    groups = [Group("in", 3, None, False), Group("h", 2, "logistic", bias_shared=True),
              Group("out", 1, "logistic")]
    projections = [Projection("in", "h", share=[[0, -1], [1, 0], [-1, 1]]),
                   Projection("h", "out", share=[[0], [0]])]
    net = Network(groups, projections)
    initialize(net, [2], "uniform", 1.0)
    x, d = np.array([1.0, 0.0, 1.0]), np.array([1.0])
    config = TrainConfig(lr=0.5, momentum=0.9, tie_rule=tie_rule)
    t = trace(net, x, d, config)
    _, grads = net.gradients(x[None], d[None], make_error("sse", config), tie_rule=tie_rule)
    entry = check_gradients(t, net, grads)
    twin = net.copy()
    trainer = Trainer(twin, Task("one", x[None], d[None]),
                      config.replace(grain="pattern", max_sweeps=1), [0], initialized=True)
    Readable(trainer).sweep(0)
    changes = {r.unit: r.value for r in t.rows if r.quantity == "Δw"}
    assert changes.keys() == entry.keys()
    for unit, (n, i, j) in entry.items():
        assert changes[unit] == pytest.approx(twin.params[n][0, i, j] - net.params[n][0, i, j],
                                              rel=1e-12, abs=1e-17)
    assert changes["h[1] bias"] == changes["h[2] bias"]  # one shared bias


def test_a_tied_mean_divides_the_sum_over_the_steps_by_the_uses():
    """Nature's rule: each entry's ∂E/∂w is its PDP sum over the steps divided by its uses."""
    net, x, d, config = _mixed("sum", 0)
    summed = {r.unit: r.value for r in trace(net, x, d, config).where("(6)")}
    meaned = {r.unit: r.value for r in trace(net, x, d, config.replace(tie_rule="mean"))
              .where("(6)")}
    assert net.uses["rec"] == 6 and net.uses["w:in->h"] == 3
    entry = {param_entry(net, n, i, j): n for n, w in net.params.items()
             for (i, j) in np.ndindex(w.shape[1:])}
    assert summed.keys() == meaned.keys()
    for unit, value in summed.items():
        if unit in entry:  # a connection (the pooled rows of shared weights: check_gradients)
            assert meaned[unit] == pytest.approx(value / net.uses[entry[unit]], rel=1e-14)


def test_the_trace_names_where_each_term_comes_from():
    net, x, d, config = _mixed("sum", 0)
    rows = {(r.equation, r.unit): r for r in trace(net, x, d, config).rows}
    h2 = rows["(1)", "h[2] t=2"].working
    # in→h has delay 0, out→h delay 1: h at step 2 reads in at 2 and out at 1
    assert "in at t=2 (same step)" in h2 and "out at t=1 (previous step)" in h2
    assert rows["set", "in[1…2] t=3"].working == "input group not clamped at step 3: off"
    assert rows["set", "h[1…3] t=0"].value == 0.3
    assert rows["set", "in[1] t=1"].working == "clamped at step 1: the data"
    # out at step 2 has its own target and error from step 3 (in → out is delayed, h → h…)
    back = rows["(7)", "h[1] t=2"].working
    assert "h2 at t=2 (same step)" in back and "h at t=3 (next step)" in back
    assert rows["(3)", "out t=2"].value + rows["(3)", "out t=3"].value == pytest.approx(
        rows["(3)", "this case"].value, rel=1e-14)


def test_cli_traces_the_recurrent_experiments(capsys):
    assert main(["trace", "shift-register", "--pattern", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("shift-register: one update from the initial weights (seed 0), "
                          "pattern 3 (010: input units t=0: 0 1 0 → target units t=2: 0 0 1)")
    assert "units[3] t=2" in out and "the constraint b ≤ 0" in out
    assert main(["trace", "sequence-completion", "--pattern", "4", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    units = {r["unit"] for r in rows if r["equation"] == "(1)"}
    assert units == {f"{g}[{j + 1}] t={t}" for t in range(1, 7)
                     for g, n in (("hidden", 30), ("digits", 3)) for j in range(n)}
    wide = next(r for r in rows if r["equation"] == "(1)" and r["unit"] == "hidden[1] t=2")
    assert "(30 terms)" in wide["working"]  # wide sums are cut short, as in the feed-forward trace
    assert main(["trace", "sequence-completion", "--pattern", "26"]) == 2
    assert "--pattern must be a case number from 1 to 25 (1=AA" in capsys.readouterr().err


def test_csv_of_a_recurrent_trace_reads_back_exactly():
    net, x, d, config = _mixed("mean", 0)
    t = trace(net, x, d, config)
    rows = list(csv.DictReader(io.StringIO(format_csv(t))))
    assert [float(r["value"]) for r in rows] == [r.value for r in t.rows]
