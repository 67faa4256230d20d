"""Figures: each is drawn under Agg, has the requested pixel size, and is not blank."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from backprop86 import ConfigError, Group, Network, Projection, make_task, plots
from backprop86.plots.representations import _coincident

pytest.importorskip("matplotlib")


def png_pixels(path):
    from matplotlib.image import imread

    return imread(path)  # (height, width, channels), floats in [0, 1]


def check(written, size):
    """PNG and SVG both written; the PNG is ``size`` pixels and shows something."""
    assert [p.suffix for p in written] == [".png", ".svg"]
    png, svg = written
    pixels = png_pixels(png)
    width, height = size
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.01  # not a blank canvas
    assert "<svg" in svg.read_text()[:2000]


def pdp_fig3_net() -> Network:
    """PDP Fig. 3: one hidden unit plus direct connections, the published learned weights."""
    net = Network(
        [Group("input", 2, None, False), Group("hidden", 1), Group("output", 1)],
        [Projection("input", "hidden"), Projection("input", "output"),
         Projection("hidden", "output")],
    )
    net.set_params({
        "w:input->hidden": [[-6.4], [-6.4]], "b:hidden": [[2.2]],
        "w:input->output": [[-4.2], [-4.2]], "w:hidden->output": [[-9.4]], "b:output": [[6.3]],
    })
    return net


def mlp(hidden: int, seed: int = 3) -> Network:
    net = Network.mlp([2, hidden, 1], replicas=2)
    rng = np.random.default_rng(seed)
    net.set_params({k: rng.normal(0, 3, v.shape) for k, v in net.params.items()})
    return net


def test_error_curves(tmp_path):
    rng = np.random.default_rng(0)
    sweeps = np.unique(np.geomspace(1, 5000, 120).round())
    R = 40
    solved = np.arange(R) % 4 != 0
    decay = np.where(solved[:, None], np.exp(-sweeps / rng.uniform(200, 2000, (R, 1))), 0.5)
    curves = 0.25 * decay + 1e-4
    curves[5, 60:] = np.nan  # a replica that stopped early
    written = plots.error_curves(tmp_path / "curves.png", sweeps, curves, solved,
                                 title="test", ylabel="mse error", size=(700, 450))
    check(written, (700, 450))


def test_error_curves_all_solved_and_shape_check(tmp_path):
    sweeps = np.arange(1, 51)
    curves = np.linspace(0.3, 0.01, 50)[None].repeat(3, axis=0)
    check(plots.error_curves(tmp_path / "c", sweeps, curves, np.ones(3, bool), title="t",
                             size=(500, 300)), (500, 300))
    with pytest.raises(ConfigError, match="curves"):
        plots.error_curves(tmp_path / "c", sweeps, curves[:, :10], np.ones(3, bool), title="t")


def test_decision_boundary(tmp_path):
    written = plots.decision_boundary(tmp_path / "db", pdp_fig3_net(), make_task("xor"),
                                      title="PDP Fig. 3", size=(600, 520))
    check(written, (600, 520))


def test_decision_boundary_needs_two_inputs_one_output(tmp_path):
    task = make_task("xor")
    net = Network.mlp([3, 2, 1])
    from backprop86.tasks import Task

    three = Task("three", np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(ConfigError, match="2 inputs and 1 output"):
        plots.decision_boundary(tmp_path / "x", net, three, title="t")
    with pytest.raises(ConfigError, match="replica 5"):
        plots.decision_boundary(tmp_path / "x", mlp(2), task, replica=5, title="t")


@pytest.mark.parametrize("hidden", [1, 2, 5])
def test_hidden_activations(tmp_path, hidden):
    written = plots.hidden_activations(tmp_path / f"h{hidden}", mlp(hidden), make_task("xor"),
                                       replica=1, title=f"{hidden} hidden", size=(760, 380))
    check(written, (760, 380))


def test_hidden_activations_with_skip_connections(tmp_path):
    check(plots.hidden_activations(tmp_path / "a", pdp_fig3_net(), make_task("xor"), title="A"),
          (760, 380))


def test_hidden_activations_needs_hidden_units(tmp_path):
    with pytest.raises(ConfigError, match="no hidden units"):
        plots.hidden_activations(tmp_path / "x", Network.mlp([2, 1]), make_task("xor"), title="t")


def test_coincident_points_share_one_label():
    P = np.array([[0.0, 0.5], [1.0, 0.71], [1.0, 0.71], [1.0, 0.86]])
    assert _coincident(P) == [[0], [1, 2], [3]]


def test_solved_rate_numeric_and_named(tmp_path):
    numeric = {"xor": ([0, 1, 2, 4], [0, 0, 25, 100], [100, 100, 100, 100]),
               "xor-paper": ([0, 1, 2, 4], [0, 3, 90, 100], [100, 100, 100, 100])}
    check(plots.solved_rate(tmp_path / "r", numeric, xlabel="hidden units", title="rates",
                            size=(700, 420)), (700, 420))
    named = {"xor bias=false": ([""], [25], [100]), "xor-pdp-a bias=true": ([""], [99], [100])}
    check(plots.solved_rate(tmp_path / "n", named, xlabel="", title="variants", size=(640, 300)),
          (640, 300))
    with pytest.raises(ConfigError, match="impossible"):
        plots.solved_rate(tmp_path / "bad", {"x": ([1], [5], [4])}, xlabel="", title="t")


def test_too_small_a_figure_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 100"):
        plots.decision_boundary(tmp_path / "s", pdp_fig3_net(), make_task("xor"), title="t",
                                size=(50, 50))


def test_the_package_and_the_xor_command_do_not_import_matplotlib():
    code = (
        "import sys, contextlib, io\n"
        "import backprop86, backprop86.plots, backprop86.experiments.figures\n"
        "from backprop86.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['xor', '--steps', '20']) == 0\n"
        "    assert main(['sweep', 'xor', '--seeds', '2', '--set', 'max_sweeps=5']) == 0\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr



@pytest.mark.parametrize(("cases", "outputs", "hidden"), [(8, 8, 3), (40, 1, 20)])
def test_hidden_activations_of_larger_nets(tmp_path, cases, outputs, hidden):
    """Many outputs (points drawn alike) and many cases and units (no values, fewer ticks)."""
    from backprop86.tasks import Task

    rng = np.random.default_rng(1)
    task = Task("t", rng.integers(0, 2, (cases, 6)), rng.integers(0, 2, (cases, outputs)))
    net = Network.mlp([6, hidden, outputs])
    net.set_params({k: rng.normal(0, 2, v.shape) for k, v in net.params.items()})
    check(plots.hidden_activations(tmp_path / "big", net, task, title="big"), (760, 380))


def test_xor_plot_draws_the_trained_net_and_prints_what_xor_prints(tmp_path, capsys):
    from backprop86.cli import main

    assert main(["xor", "--hidden", "2", "--seed", "0", "--steps", "2001"]) == 0
    plain = capsys.readouterr().out
    assert main(["xor", "--hidden", "2", "--seed", "0", "--steps", "2001",
                 "--plot", str(tmp_path / "fig")]) == 0
    captured = capsys.readouterr()
    assert captured.out == plain  # the figures change nothing the article's code prints
    assert "wrote 4 figure files" in captured.err
    names = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert names == sorted(f"{kind}-xor-hidden2-seed0.{ext}"
                           for kind in ("decision-boundary", "hidden") for ext in ("png", "svg"))
    assert all((tmp_path / "fig" / n).stat().st_size > 0 for n in names)


# ----------------------------------------------------------------------------
# Figures a reader can use (issue 13, item 10)
# ----------------------------------------------------------------------------


def _drawn(monkeypatch, module_name):
    """Keep every figure the module saves: ``(figure, written paths)``."""
    import importlib

    from backprop86.plots import base

    module = importlib.import_module(module_name)
    kept = []

    def save(fig, path):
        written = base.save(fig, path)
        kept.append((fig, written))
        return written

    monkeypatch.setattr(module, "save", save)
    return kept


def _text_inside(fig, written):
    """Every visible text lies inside the figure, and the PNG is the whole figure."""
    from matplotlib.text import Text

    fig.canvas.draw()  # lay out and draw as the PNG was (the SVG, drawn last, measures text
    renderer = fig.canvas.get_renderer()  # in its own way)
    box = fig.bbox
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    assert texts
    for t in texts:
        e = t.get_window_extent(renderer)
        assert (e.x0 >= box.x0 - 0.5 and e.y0 >= box.y0 - 0.5 and e.x1 <= box.x1 + 0.5
                and e.y1 <= box.y1 + 0.5), f"{t.get_text()!r} is cut off: {e} outside {box}"
    height, width = png_pixels(written[0]).shape[:2]
    assert (width, height) == (round(box.width), round(box.height))


def _squares_distinct(fig, min_gap_px=2.0):
    """In every Hinton panel each square is smaller than its cell, and two neighbouring
    full-size squares are apart by at least ``min_gap_px`` pixels of ground."""
    from matplotlib.patches import Rectangle

    panels = 0
    for ax in fig.axes:
        squares = [p for p in ax.patches if isinstance(p, Rectangle)
                   and tuple(p.get_facecolor()[:3]) in ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))]
        if not squares:
            continue
        panels += 1
        cell = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
        side = max(max(p.get_width(), p.get_height()) for p in squares)
        assert side < 1, "a square fills its cell"
        assert cell * (1 - side) >= min_gap_px, f"gap {cell * (1 - side):.2f} px"
    assert panels


def family_sized_net() -> Network:
    """Five receiving groups with long unit names, as the family-trees network has."""
    from backprop86.experiments import load

    net = load("family-trees").network(replicas=1)
    rng = np.random.default_rng(0)
    net.set_params({k: rng.normal(0, 1, v.shape) for k, v in net.params.items()})
    return net


def test_hinton_weights_keeps_labels_inside_and_squares_apart(tmp_path, monkeypatch):
    kept = _drawn(monkeypatch, "backprop86.plots.hinton")
    net = family_sized_net()
    W = net.params["w:person1->person_code"]
    W[...] = np.sign(W)  # every square full size: neighbours must still stay apart
    plots.hinton_weights(tmp_path / "w", net, title="weights: every square full size")
    (fig, written), = kept
    _text_inside(fig, written)
    _squares_distinct(fig)


def test_hinton_activity_and_receptive_fields_keep_labels_inside(tmp_path, monkeypatch):
    kept = _drawn(monkeypatch, "backprop86.plots.hinton")
    labels = [f"a long case label {i}" for i in range(60)]
    units = [f"hidden_group[{j + 1}]" for j in range(12)]
    plots.hinton_activity(tmp_path / "a", np.ones((60, 12)), case_labels=labels,
                          unit_labels=units, title="hidden activity")
    net = Network.mlp([64, 10, 2])
    net.set_params({k: np.sign(np.random.default_rng(1).normal(0, 1, v.shape))
                    for k, v in net.params.items()})
    plots.receptive_fields(tmp_path / "r", net, (8, 8), title="receptive fields")
    assert len(kept) == 2
    for fig, written in kept:
        _text_inside(fig, written)
        _squares_distinct(fig, min_gap_px=1.0)


def test_nature_fig4_keeps_labels_inside(tmp_path, monkeypatch):
    kept = _drawn(monkeypatch, "backprop86.plots.family")
    plots.nature_fig4(tmp_path / "f", family_sized_net(), title="Fig. 4")
    (fig, written), = kept
    _text_inside(fig, written)
    _squares_distinct(fig)


def test_a_figure_too_small_for_its_labels_grows_to_hold_them(tmp_path):
    fig = plots.new_figure((200, 150))
    ax = fig.add_subplot()
    ax.set_yticks(range(3), ["a very long label that cannot fit in 200 pixels"] * 3)
    ax.set_xlabel("another label far wider than the figure it is drawn in, on purpose")
    written = plots.save(fig, tmp_path / "small")
    _text_inside(fig, written)
    height, width = png_pixels(written[0]).shape[:2]
    assert width > 200 and height >= 150


def test_time_axes_are_in_the_claims_unit(tmp_path, monkeypatch):
    """Chauvin and the PDP chapter count presentations of each pattern; the article sweeps."""
    from backprop86.experiments import figures, load
    from backprop86.experiments.series import run_all

    assert figures.time_unit(load("chauvin")) == "presentations"
    assert figures.time_unit(load("parity")) == "presentations"
    assert figures.time_unit(load("xor")) == "sweeps"
    assert figures.time_unit(load("handbook-xor")) == "sweeps"
    labels = []
    monkeypatch.setattr(plots, "trend", lambda path, *a, **k: labels.append(
        (k["xlabel"], k["ylabel"])) or [])
    exp = load("chauvin").with_settings(["max_sweeps=30"])
    figures.draw_series(run_all(exp, [0, 1]), tmp_path, "chauvin")
    assert labels[0] == ("hidden units H",
                         "presentations of each pattern (sweeps) to stop, median (IQR)")
    assert labels[1][0] == "learning rate η"
