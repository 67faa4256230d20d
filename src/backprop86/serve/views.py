"""What the page draws, as JSON: the network's shape, and one *frame* of a run.

A frame is everything the page's live views show after a chunk of training:
the error curve's new points, the weights ``(n_src, n_tgt)`` of every projection and
the biases, each unit's activity ``y`` for the chosen pattern (eq. 2), the outputs
and hidden codes of the patterns, and — for a network with two inputs — the output's
decision surface on a grid over the inputs' range, with each hidden unit's own
surface beside it (the forward pass, eqs. 1–2, of the grid's points as cases).

A recurrent network (``Network.recurrent``: it runs ``T`` steps) keeps every
group's activity at every step ``0 … T``: a frame sends the chosen pattern's whole
*history* ``{group: (T + 1, n)}`` (the page draws it as units × steps), and the
activity on the network drawing and the hidden codes are those of the last step
``T``. Its outputs are the output slots (the output groups at their target steps),
as the task's targets are. The decision surface is only for a feed-forward network
with two inputs.
Numbers are rounded to 4 significant digits: the page draws them, nothing reads
them back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop86.arrays import Array
from backprop86.engine import on_target
from backprop86.network import Activity, Network, bias_param
from backprop86.tasks import Task

#: Patterns whose outputs and hidden codes a frame lists (the rest are counted).
SHOWN_PATTERNS = 64
#: Hidden units drawn with their own surface (the first ones, group by group).
SURFACE_UNITS = 32
#: Points per side of a hidden unit's surface (the output's has ``Limits.grid``).
HIDDEN_GRID = 21
#: Points of the error curve one frame sends at most (more are thinned evenly).
CURVE_POINTS = 400


def rounded(a: Array | float) -> Any:
    """Nested lists (or one float) with 4 significant digits; non-finite numbers as None."""
    v = np.asarray(a, dtype=np.float64)
    out = np.where(np.isfinite(v), v, np.nan)
    text = np.vectorize(lambda x: float(f"{x:.4g}"), otypes=[float])(out) if out.size else out
    lists = np.asarray(text, dtype=object)
    lists[~np.isfinite(v)] = None
    return lists.tolist()


def shape_of(net: Network) -> dict[str, Any]:
    """Groups (in topological order) and projections, for the network drawing; for a
    recurrent network also its steps ``T``, each group's clamped steps and each output
    group's target steps, and each projection's delay (1: from the step before)."""
    return {
        "groups": [{"name": g.name, "size": g.size, "activation": g.activation,
                    "bias": bool(g.bias and not g.is_input), "input": g.is_input,
                    "output": g.name in net.outputs, "bias_shared": bool(g.bias_shared),
                    "clamped": list(net.clamped.get(g.name, ())),
                    "targets": list(net.target_steps.get(g.name, ()))} for g in net.groups],
        "projections": [{"source": p.source, "target": p.target, "param": p.param,
                         "delay": int(net.delays[p]), "shared": p.share is not None}
                        for p in net.projections],
        "hidden": list(net.hidden),
        "recurrent": bool(net.recurrent),
        "steps": int(net.steps),
    }


def surface_fits(net: Network) -> bool:
    """Whether the page draws a decision surface: a feed-forward net with two inputs."""
    return not net.recurrent and net.n_inputs == 2


def last_step(net: Network, activity: Activity, group: str) -> Array:
    """A group's activity ``(R or 1, N, n)``: as it is (feed-forward) or at step ``T``."""
    return activity.y[(group, net.steps) if net.recurrent else group]


def over_time(net: Network, activity: Activity, pattern: int) -> dict[str, Any]:
    """Pattern ``pattern``'s activity at steps ``0 … T`` of replica 0, ``{group: (T + 1,
    n)}`` (a recurrent network's forward pass ``activity``)."""
    return {g.name: rounded(np.stack([activity.y[g.name, t][0, pattern]
                                      for t in range(net.steps + 1)]))
            for g in net.groups}


def patterns(task: Task) -> dict[str, Any]:
    """The cases: names, inputs and targets (as trained, coded) of the first ones."""
    k = min(task.n_cases, SHOWN_PATTERNS)
    return {"count": task.n_cases, "labels": list(task.labels[:k]),
            "inputs": rounded(task.inputs[:k]), "targets": rounded(task.targets[:k])}


def points(task: Task, test: Task | None, net: Network) -> dict[str, Any] | None:
    """For a two-input feed-forward task: every point and its target (training, then
    held-out)."""
    if not surface_fits(net):
        return None
    out = {"train": rounded(np.concatenate([task.inputs, task.targets[:, :1]], axis=1))}
    if test is not None:
        out["test"] = rounded(np.concatenate([test.inputs, test.targets[:, :1]], axis=1))
    return out


def grid_range(task: Task, test: Task | None) -> list[float]:
    """``[x0, x1, y0, y1]``: the inputs' range with a tenth of it added on every side."""
    X = task.inputs if test is None else np.concatenate([task.inputs, test.inputs])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6)
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]),
            float(hi[1] + pad[1])]


def grid(span: list[float], size: int) -> Array:
    """``(size², 2)`` points, row by row from the top (largest x₂) down, x₁ left to right."""
    x1 = np.linspace(span[0], span[1], size)
    x2 = np.linspace(span[3], span[2], size)
    a, b = np.meshgrid(x1, x2)
    return np.stack([a.ravel(), b.ravel()], axis=1)


def surfaces(net: Network, span: list[float], size: int) -> dict[str, Any]:
    """The first output's value over a ``size × size`` grid, and each hidden unit's (first
    :data:`SURFACE_UNITS`) over a coarser one; replica 0."""
    with np.errstate(all="ignore"):
        out = net.output(net.forward(grid(span, size)))[0, :, 0]
        activity = net.forward(grid(span, HIDDEN_GRID))
    units = []
    for name in net.hidden:
        y = activity.y[name][0]  # (G², n)
        for j in range(y.shape[1]):
            if len(units) == SURFACE_UNITS:
                break
            units.append({"unit": f"{name}[{j + 1}]", "values": rounded(y[:, j])})
    return {"range": span, "size": size, "output": rounded(out), "hidden_size": HIDDEN_GRID,
            "hidden": units}


def frame(net: Network, task: Task, test: Task | None, history: Array, sent: int,
          pattern: int, *, surface: tuple[list[float], int] | None, mid: float) -> dict[str, Any]:
    """One frame of replica 0 (see the module): ``history`` ``(S,)`` the reported error per
    sweep, of which the page already has the first ``sent``; ``pattern`` the chosen case."""
    with np.errstate(all="ignore"):
        activity = net.forward(task.inputs)
    outputs = net.output(activity)[0]  # (N, n_out)
    right = on_target(outputs, task.targets, None, mid).all(axis=1)
    new = np.arange(sent, history.shape[0])
    if new.size > CURVE_POINTS:
        new = new[np.linspace(0, new.size - 1, CURVE_POINTS).round().astype(int)]
    k = min(task.n_cases, SHOWN_PATTERNS)
    out: dict[str, Any] = {
        "curve": [[int(i) + 1, v] for i, v in zip(new, rounded(history[new]), strict=True)],
        "weights": {name: rounded(w[0]) for name, w in net.params.items()
                    if not name.startswith("b:")},
        "biases": {g.name: rounded(net.params[bias_param(g.name)][0, 0])
                   for g in net.groups if bias_param(g.name) in net.params},
        "pattern": pattern,
        "activity": {g.name: rounded(last_step(net, activity, g.name)[0, pattern])
                     for g in net.groups},
        "outputs": rounded(outputs[:k]),
        "codes": {name: rounded(last_step(net, activity, name)[0, :k]) for name in net.hidden},
        "right": int(right.sum()),
    }
    if net.recurrent:
        out["history"] = over_time(net, activity, pattern)
    if test is not None:
        with np.errstate(all="ignore"):
            y = net.output(net.forward(test.inputs))[0]
        out["test_right"] = int(on_target(y, test.targets, None, mid).all(axis=1).sum())
        out["test_count"] = test.n_cases
    if surface is not None:
        out["surface"] = surfaces(net, *surface)
    return out
