"""Figures of recurrent nets: activity over time, drawn by ``run --plot``, ``sweep --plot``
and ``reproduce``; the history they draw is the unrolled net's."""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import ConfigError, Group, Network, Projection, plots
from backprop86.cli import main
from backprop86.init import initialize
from backprop86.plots import recurrent

pytest.importorskip("matplotlib")


def _net() -> Network:
    groups = [Group("letters", 2, None, False), Group("hidden", 12), Group("digits", 2)]
    projections = [Projection("letters", "hidden", delay=1), Projection("hidden", "hidden"),
                   Projection("hidden", "digits"), Projection("digits", "digits")]
    net = Network(groups, projections, steps=4, clamp={"letters": [1, 2]},
                  target_steps={"digits": [3, 4]}, initial=0.2, replicas=2)
    initialize(net, [1, 2], "uniform", 2.0)
    return net


def _drawn(monkeypatch):
    """The figures :mod:`backprop86.plots.recurrent` saves, with their files."""
    from backprop86.plots import base

    kept = []

    def save(fig, path):
        written = base.save(fig, path)
        kept.append((fig, written))
        return written

    monkeypatch.setattr(recurrent, "save", save)
    return kept


def test_history_is_the_unrolled_activity_of_the_replica():
    net = _net()
    X = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0.0]])
    H = recurrent.history(net, X, replica=1)
    y = net.forward(X).y
    assert H["hidden"].shape == (3, 5, 12) and H["letters"].shape == (3, 5, 2)
    for t in range(1, 5):
        np.testing.assert_array_equal(H["digits"][:, t], y["digits", t][1])
        assert not np.array_equal(H["digits"][:, t], y["digits", t][0])  # replica 1, not 0
    np.testing.assert_array_equal(H["hidden"][:, 0], 0.2)  # the initial activity
    np.testing.assert_array_equal(H["letters"][:, 2], X[:, 2:])  # clamped at step 2
    np.testing.assert_array_equal(H["letters"][:, 3], 0)  # off after the clamps


def test_activity_over_time_marks_clamps_and_targets(tmp_path, monkeypatch):
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    kept = _drawn(monkeypatch)
    net = _net()
    X = np.array([[1, 0, 0, 1], [0, 1, 1, 0.0]])
    D = np.array([[1, 0, 0, 1], [0, 1, 1, 0.0]])  # digits at t=3, then at t=4
    care = np.array([[1, 1, 1, 1], [1, 0, 1, 1.0]])  # one "don't care": no mark
    written = plots.activity_over_time(tmp_path / "time-lr0.02", net, X, labels=["AB", "BA"],
                                       targets=D, care=care, replica=1, title="a sequence")
    assert [p.name for p in written] == ["time-lr0.02.png", "time-lr0.02.svg"]
    (fig, _), = kept
    fig.canvas.draw()
    box, renderer = fig.bbox, fig.canvas.get_renderer()
    for text in fig.findobj(Text):  # nothing cut off
        if text.get_visible() and text.get_text():
            e = text.get_window_extent(renderer)
            assert box.x0 - 0.5 <= e.x0 and e.x1 <= box.x1 + 0.5 and e.y1 <= box.y1 + 0.5
    letters, hidden, digits = fig.axes  # a panel per group, the cases side by side (span 6)
    assert [t.get_text() for t in letters.child_axes[0].get_xticklabels()] == ["AB", "BA"]
    frames = [[p for p in ax.patches if isinstance(p, Rectangle)
               and p.get_edgecolor()[:3] != (0, 0, 0)] for ax in fig.axes]
    assert [len(f) for f in frames] == [4, 0, 0]  # letters clamped at steps 1 and 2, twice
    assert sorted(p.get_x() + 0.5 for p in frames[0]) == [1, 2, 7, 8]
    marks = [c for c in digits.collections if isinstance(c, PathCollection)]
    filled = {tuple(c.get_offsets()[0]): bool(c.get_facecolor().size) for c in marks}
    assert filled == {(3, 0): True, (3, 1): False, (4, 0): False, (4, 1): True,  # AB
                      (9, 0): False, (10, 0): True, (10, 1): False}  # BA: digits[2] at t=3
    assert not letters.collections and not hidden.collections  # no targets there
    image = hidden.get_images()[0].get_array()
    H = recurrent.history(net, X, replica=1)
    np.testing.assert_array_equal(image[:, 6:11], H["hidden"][1].T)  # units down, steps across
    assert image.mask[:, 5].all()  # the gap between the cases is not drawn


def test_activity_over_time_refuses_a_feed_forward_net(tmp_path):
    with pytest.raises(ConfigError, match="needs a recurrent network"):
        plots.activity_over_time(tmp_path / "t", Network.mlp([2, 2, 1]), np.zeros((1, 2)),
                                 labels=["a"], title="t")


def test_run_and_sweep_plot_recurrent_experiments(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "sequence-completion", "--seeds", "1", "--set", "max_sweeps=2",
                 "--set", "hidden=4", "--plot", str(out)]) == 0
    assert "time-unsolved-seed0.png" in capsys.readouterr().err
    assert (out / "sequence-completion-time-unsolved-seed0.svg").read_text().count(
        "(held out)") == 5  # the claims are about the held-out sequences
    out = tmp_path / "sweep"
    assert main(["sweep", "shift-register", "--seeds", "2", "--set", "max_sweeps=3",
                 "--grid", "lr=0.25", "--plot", str(out)]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["error-curves-shift-register-lr0.25.png",
                     "time-shift-register-lr0.25-seed0.png"]  # lr0.25 whole: not lr0.png
