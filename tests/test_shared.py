"""Weights shared within an array (PDP's T–C net, pp. 348–352) and the T–C experiment.

A projection's ``share`` map makes its connections copies of a few shared
weights; as in PDP, each copy's gradient is summed over the copies and every copy
changes by the total. These tests check the map a receptive field gives, the
pooled gradient against a net written with the shared weights as its parameters,
that training keeps the copies equal, the refusals of malformed maps, PDP's
exact 21/20 count for the compactness detector, and the field classifier.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86.analysis.checks.fields import KINDS, classify
from backprop86.analysis.gradcheck import gradcheck
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.experiments import build_network, from_dict, load
from backprop86.experiments.runner import run
from backprop86.fields import window_share
from backprop86.functions import error_function
from backprop86.network import Group, Network, Projection
from backprop86.tasks import make_task


def test_window_share_maps_each_target_unit_to_its_window():
    share = window_share((4, 5), (2, 3), (3, 3))
    assert share.shape == (20, 6)
    assert np.all((share >= 0).sum(axis=0) == 9)  # every target unit sees 9 inputs
    # target unit (1, 2) = 5 sees source (1 + a, 2 + b) through shared weight 3a + b
    for a in range(3):
        for b in range(3):
            assert share[(1 + a) * 5 + (2 + b), 5] == 3 * a + b
    assert share[0, 5] == -1
    with pytest.raises(ConfigError, match="must be 4×5"):
        window_share((4, 4), (2, 3), (3, 3))


def _field_net(replicas: int = 2) -> Network:
    share = window_share((4, 4), (2, 2), (3, 3))
    return Network([Group("in", 16, None, False), Group("h", 4, bias_shared=True),
                    Group("out", 1)],
                   [Projection("in", "h", share=share), Projection("h", "out", share=np.zeros(
                       (4, 1), dtype=int))], replicas=replicas)


def test_pooled_gradient_is_the_sum_over_copies():
    """∂E/∂w_k = Σ over the copies of shared weight k: checked against the gradient of an
    unshared net with the same (equal-copy) weights, summed by hand."""
    net = _field_net()
    rng = np.random.default_rng(0)
    field, wo = rng.uniform(-1, 1, (2, 9)), rng.uniform(-1, 1, (2, 1))
    share = net.shares["w:in->h"]
    values = {"w:in->h": np.where(share >= 0, field[:, share], 0.0),
              "w:h->out": np.broadcast_to(wo[:, :, None], (2, 4, 1)).copy(),
              "b:h": np.full((2, 1, 4), 0.3), "b:out": np.full((2, 1, 1), -0.2)}
    net.set_params(values)
    free = Network([Group("in", 16, None, False), Group("h", 4), Group("out", 1)],
                   [Projection("in", "h", mask=share >= 0), Projection("h", "out")], replicas=2)
    free.set_params(values)
    X = rng.integers(0, 2, (5, 16)).astype(float)
    D = rng.integers(0, 2, (5, 1)).astype(float)
    _, g = net.gradients(X, D, error_function("sse"))
    _, g_free = free.gradients(X, D, error_function("sse"))
    for k in range(9):
        total = g_free["w:in->h"][:, share == k].sum(axis=1)
        np.testing.assert_allclose(g["w:in->h"][:, share == k], total[:, None].repeat(
            int((share == k).sum()), axis=1), rtol=1e-12)
    np.testing.assert_allclose(g["b:h"][:, 0, 0], g_free["b:h"].sum(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(g["w:h->out"][:, 0, 0], g_free["w:h->out"].sum(axis=(1, 2)),
                               rtol=1e-12)
    assert np.all(g["w:in->h"][:, share < 0] == 0)
    # Nature's averaging: divided by the copies
    _, mean = net.gradients(X, D, error_function("sse"), tie_rule="mean")
    np.testing.assert_allclose(mean["w:in->h"][:, 5, 0] * (share == share[5, 0]).sum(),
                               g["w:in->h"][:, 5, 0], rtol=1e-12)


@pytest.mark.parametrize("rule", ["sum", "mean"])
def test_gradcheck_passes_on_the_tc_net(rule):
    exp = load("tc")
    net, task = exp.initial_network([0, 1]), exp.task()
    report = gradcheck(net, task.inputs, task.targets, "sse", tie_rule=rule)
    assert report.passed, report.text()
    assert {row.param for row in report.rows} == set(net.params)
    assert report.rows[0].entries == 9  # the nine shared weights, not 225 copies


def test_training_keeps_copies_equal_and_refuses_unequal_ones():
    exp = load("tc").with_settings(["max_sweeps=30"])
    r = run(exp, [0, 1, 2])
    for name, share in r.net.shares.items():
        w = r.net.params[name].reshape(3, -1)
        flat = share.reshape(-1)
        for k in range(flat.max() + 1):
            copies = w[:, flat == k]
            assert np.all(copies == copies[:, :1])
    net = _field_net(1)
    bad = np.zeros((16, 4))
    bad[0, 0] = 1.0  # one copy of shared weight 0 differs from the others
    with pytest.raises(DataError, match="copies of shared weight 0 differ"):
        net.set_params({"w:in->h": bad})


@pytest.mark.parametrize(("projection", "message", "error"), [
    (Projection("in", "h", share=np.zeros((16, 3), int)), "expected", ShapeError),
    (Projection("in", "h", share=np.full((16, 4), -2)), "≥ 0", ConfigError),
    (Projection("in", "h", share=np.full((16, 4), 2)), "never uses 0", ConfigError),
    (Projection("in", "h", share=np.full((16, 4), 0.5)), "integers", ConfigError),
    (Projection("in", "h", mask=np.ones((16, 4)), share=np.zeros((16, 4), int)), "mask and a share",
     ConfigError),
])
def test_malformed_share_maps_are_refused(projection, message, error):
    with pytest.raises(error, match=message):
        Network([Group("in", 16, None, False), Group("h", 4)], [projection])


def test_a_shared_bias_needs_a_biased_non_input_group():
    with pytest.raises(ConfigError, match="shared bias"):
        Network([Group("in", 2, None, False), Group("h", 1, bias=False, bias_shared=True)],
                [Projection("in", "h")])


def test_compactness_detector_turns_off_21_copies_for_a_t_and_20_for_a_c():
    """PDP p. 351 (Fig. 15 D): all nine weights −2 and a positive bias; a copy is off where the
    shape overlaps its window: 21 copies for a T, 20 for a C, in every orientation."""
    exp = load("tc")
    net, task = exp.initial_network([0]), exp.task()
    share = net.shares["w:retina->hidden"]
    net.set_params({"w:retina->hidden": np.where(share >= 0, -2.0, 0.0),
                    "b:hidden": np.ones((1, 25))})
    off = (net.forward(task.inputs).y["hidden"][0] < 0.5).sum(axis=1)
    assert off.tolist() == [21] * 4 + [20] * 4
    assert [label[0] for label in task.labels] == ["T"] * 4 + ["C"] * 4


def test_tc_patterns_are_the_two_shapes_in_four_orientations():
    task = make_task("tc")
    images = task.inputs.reshape(8, 7, 7)
    assert np.all(images.sum(axis=(1, 2)) == 5)
    assert len({img.tobytes() for img in images}) == 8
    assert task.targets[:, 0].tolist() == [1.0] * 4 + [0.0] * 4
    # a T and a C differ by one square: some C is a T with one cell moved
    t, c = images[0], images[4:]
    assert min(int(np.abs(t - other).sum()) for other in c) == 2


def test_fields_are_classified_by_their_signs():
    centre = -np.ones((3, 3))
    centre[1, 1] = 2.0
    bar = -np.ones((3, 3))
    bar[:, 1] = 1.0
    diagonal = -np.ones((3, 3)) + 2 * np.eye(3)
    compact = -2.0 * np.ones((3, 3))
    mixed = np.array([[1.0, -1, 1], [-1, -1, 1], [1, 1, -1]])
    W = np.stack([centre, -bar, diagonal, compact, mixed, compact])
    kinds = classify(W, np.array([0.0, 0.0, 0.0, 1.0, 0.0, -1.0]))
    assert [KINDS[k][0] for k in kinds] == ["A", "B", "C", "D", "o", "o"]


def test_fast_engines_refuse_shared_weights_and_say_why(capsys):
    from backprop86.cli import main

    assert main(["run", "tc", "--seeds", "2", "--set", "max_sweeps=5"]) == 0
    out = capsys.readouterr().out
    assert "no faster engine can train it: weights shared within an array" in out


@pytest.mark.parametrize(("network", "message"), [
    ({"groups": [{"name": "a", "grid": [2, 2], "size": 5, "activation": "input"},
                 {"name": "b", "size": 1}], "projections": [{"from": "a", "to": "b"}]},
     "grid 2×2 holds 4"),
    ({"groups": [{"name": "a", "size": 4, "activation": "input"}, {"name": "b", "grid": [1, 1]}],
      "projections": [{"from": "a", "to": "b", "window": [2, 2]}]}, "needs grid"),
    ({"groups": [{"name": "a", "grid": [3, 3], "activation": "input"},
                 {"name": "b", "grid": [1, 1], "bias": "maybe"}],
      "projections": [{"from": "a", "to": "b", "window": [3, 3]}]}, "bias must be"),
    ({"groups": [{"name": "a", "size": 2, "activation": "input"}, {"name": "b", "size": 1}],
      "projections": [{"from": "a", "to": "b", "shared": "yes"}]}, "shared must be"),
    ({"groups": [{"name": "a", "size": 2, "activation": "input"}, {"name": "b"}],
      "projections": [{"from": "a", "to": "b"}]}, "lacks size"),
])
def test_grid_and_window_keys_are_checked(network, message):
    with pytest.raises(ConfigError, match=message):
        build_network(network)


def test_the_tc_experiment_reads_its_grids():
    exp = from_dict({**load("tc").raw, "seeds": {"count": 1}})
    net = exp.network()
    assert [g.size for g in net.groups] == [49, 25, 1]
    assert net.shares["w:retina->hidden"].max() == 8
    assert "9 weights shared by 225 connections" in net.describe()


def test_plot_draws_each_nets_shared_field_with_its_kind(tmp_path, capsys):
    from backprop86.cli import main

    assert main(["run", "tc", "--seeds", "3", "--set", "max_sweeps=5", "--plot",
                 str(tmp_path)]) == 0
    assert "tc-fields.png" in capsys.readouterr().err  # "figure: PATH" lines go to stderr
    assert (tmp_path / "tc-fields.png").stat().st_size > 1000
    assert (tmp_path / "tc-fields.svg").exists()


def test_each_replica_trains_alone_as_it_does_in_a_batch():
    """The copies' gradients are summed per replica, so a net's training does not depend on
    the other nets in its batch (a chunked or distributed sweep relies on it): after one
    sweep bit for bit; after 40 to rounding (BLAS products of the stacked arrays may round
    differently at different offsets in memory), where mixing replicas would differ by O(1)."""
    for sweeps, tol in ((1, 0.0), (40, 1e-12)):
        exp = load("tc").with_settings([f"max_sweeps={sweeps}"])
        together = run(exp, [0, 1, 2, 3, 4])
        for seed in (0, 3):
            alone = run(exp, [seed])
            for name, w in alone.net.params.items():
                assert np.abs(w[0] - together.net.params[name][seed]).max() <= tol, name
