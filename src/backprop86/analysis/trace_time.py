"""Show the working of a recurrent net: one update through time, unit by unit, step by step.

A recurrent network (:class:`~backprop86.network.Network` with ``recurrent``) runs
its groups synchronously for ``T`` steps; training unrolls it (backpropagation
through time, Nature Fig. 5). :func:`recurrent_rows` writes that out from the
equations, for one case and one replica, in the rows :mod:`.trace` prints:

* the forward pass, steps ``t = 0 … T``: each group's activity at step 0 (its
  data where it is clamped at step 0, else the initial activity; input groups 0),
  then at each step a clamped group's data, an unclamped input group off (0), and
  for every other unit eq. (1) ``x_j(t) = Σ_i y_i(t − d) w_ji + b_j`` — each term
  named by where it comes from: a delay-0 projection's source at the same step
  ``t``, a delay-1 (recurrent) projection's at the previous step ``t − 1`` — and
  eq. (2) ``y_j(t) = f(x_j(t))``;
* the error (3) at each step with targets, and its sum;
* the backward pass through time, ``t = T … 1``: eqs. (4)–(5) at the targets of
  step ``t``, eq. (7) ``∂E/∂y_i(t) = Σ_j ∂E/∂x_j(t + d) w_ji`` over the units it
  feeds at the same step (delay 0) and at the next one (delay 1), eq. (5);
* eq. (6) for each weight of the one (tied) array the steps share:
  ``∂E/∂w_ji = Σ_t ∂E/∂x_j(t) · y_i(t − d)`` over the steps — or, with
  ``tie_rule = "mean"`` (Nature's rule), that sum divided by the array's uses
  (``Network.uses``: once per step at which its target group is computed).

A unit at step ``t`` is written ``group[j] t=3``; units count from 1, steps from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from backprop86.analysis.trace_rows import (
    F_TEXT,
    Add,
    Row,
    as3,
    connected,
    eq5_rows,
    error_text,
    number,
    output_rows,
    param_entry,
    shared_rows,
    sum_text,
    term,
    unit_name,
)
from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.network import Group, Network, Slot, bias_param

#: Activity and net input of every slot ``(group, t)``, ``(n,)`` each.
History = dict[Slot, Array]


def at(group: str, k: int, t: int) -> str:
    """Unit ``k`` (0-based) of ``group`` at step ``t``: ``hidden[3] t=2``."""
    return f"{unit_name(group, k)} t={t}"


def _whole(g: Group, t: int) -> str:
    """Every unit of a group at step ``t``: ``hidden[1…30] t=0`` (one unit: ``h[1] t=0``)."""
    return at(g.name, 0, t) if g.size == 1 else f"{g.name}[1…{g.size}] t={t}"


def _steps_text(steps: Sequence[int]) -> str:
    return ", ".join(str(t) for t in steps)


def recurrent_settings(net: Network, config: TrainConfig) -> list[str]:
    """The lines that say how the traced recurrent net runs through time."""
    free = [g.name for g in net.groups if not g.is_input and 0 not in net.clamped.get(g.name, ())]
    lines = [f"recurrent: {net.steps} synchronous step{'s' if net.steps > 1 else ''} after step 0"
             + (f"; at step 0 {', '.join(free)} start{'s' if len(free) == 1 else ''} at "
                f"{number(net.initial)} (the initial activity)" if free else "")]
    for name, steps in net.clamped.items():
        lines.append(f"{name}: clamped to the data at step{'s' if len(steps) > 1 else ''} "
                     f"{_steps_text(steps)}"
                     + (", off (0) at the others" if net.group(name).is_input else ""))
    for name, steps in net.target_steps.items():
        lines.append(f"{name}: targets at step{'s' if len(steps) > 1 else ''} "
                     f"{_steps_text(steps)}, none at the others")
    lines.append("eq. (1) at step t reads a delay-0 projection's source at t (same step), a "
                 "delay-1 projection's at t − 1 (previous step); the backward pass runs "
                 f"t = {net.steps} … 1")
    lines.append("each weight and bias is one array used at every step: its ∂E/∂w (eq. 6) is "
                 + ("the sum over the steps (PDP p. 355)" if config.tie_rule == "sum" else
                    "the mean over its uses, one per step (Nature's rule)"))
    return lines


def recurrent_rows(add: Add, net: Network, error, config: TrainConfig, W: dict[str, Array],
                   x: Array, d: Array, care: Array | None) -> dict[str, Array]:
    """Rows of the forward pass, error, backward pass through time and eq. (6) of one case.

    ``x``: ``(n_in,)`` every input slot's data side by side; ``d`` (and ``care``):
    ``(n_out,)`` every output slot's targets; ``W``: one replica's parameters. Returns
    ``∂E/∂w`` per parameter, shaped like ``W`` (tied over the steps by ``config.tie_rule``).
    """
    data = _slots(net, net.input_slots, x)
    targets = _slots(net, net.output_slots, d)
    cares = {} if care is None else _slots(net, net.output_slots, care)
    xs, ys = _forward(add, net, W, data)
    _error(add, net, error, xs, ys, targets, cares)
    dE_dx = _backward(add, net, error, W, xs, ys, targets, cares)
    return _gradients(add, net, config, ys, dE_dx)


def _slots(net: Network, slots: Sequence[Slot], v: Array) -> dict[Slot, Array]:
    """``v`` ``(Σ size,)`` cut into the slots, side by side in that order."""
    v = np.asarray(v, dtype=np.float64)
    ends = np.cumsum([net.slot_size(s) for s in slots])[:-1]
    return dict(zip(slots, np.split(v, ends), strict=True))


def _stepped(add: Add, t: int) -> Add:
    """``add`` with each row's unit placed at step ``t``."""
    return lambda row: add(replace(row, unit=f"{row.unit} t={t}"))


def _forward(add: Add, net: Network, W: dict[str, Array], data: Mapping[Slot, Array]
             ) -> tuple[History, History]:
    """Steps ``0 … T``, groups in order: activity set from outside, or eqs. (1)–(2)."""
    xs: History = {}
    ys: History = {}
    for t in range(net.steps + 1):
        for g in net.groups:
            now = (g.name, t)
            if now in data:
                ys[now] = data[now]
                for j in range(g.size):
                    add(Row("forward pass", "set", "y", at(g.name, j, t), data[now][j],
                            f"clamped at step {t}: the data"))
            elif t == 0 or g.is_input:
                rest = 0.0 if g.is_input else net.initial
                ys[now] = np.full(g.size, rest)
                add(Row("forward pass", "set", "y", _whole(g, t), rest,
                        f"input group not clamped at step {t}: off" if g.is_input
                        else "initial activity (not clamped at step 0), every unit"))
            else:
                xs[now], ys[now] = _computed(add, net, W, g, t, ys)
    return xs, ys


def _computed(add: Add, net: Network, W: dict[str, Array], g: Group, t: int, ys: History
              ) -> tuple[Array, Array]:
    """Eqs (1)–(2) of group ``g`` at step ``t``, unit by unit."""
    net_in = np.zeros(g.size)
    for j in range(g.size):
        parts = []
        for p in net.into[g.name]:
            delay = net.delays[p]
            y_src = ys[p.source, t - delay]
            terms = []
            for i in range(len(y_src)):
                if not connected(net, p, i, j):
                    continue
                net_in[j] += y_src[i] * W[p.param][i, j]
                terms.append(f"{term(y_src[i])}·{term(W[p.param][i, j])}")
            where = "previous step" if delay else "same step"
            parts.append(f"{p.source} at t={t - delay} ({where}): {sum_text(terms)}")
        if g.bias:
            b = W[bias_param(g.name)][0, j]
            net_in[j] += b
            parts.append(f"bias {term(b)}")
        add(Row("forward pass", "(1)", "x", at(g.name, j, t), net_in[j],
                "Σ_i y_i w_ji from " + "; ".join(parts)))
    y = net.functions[g.name].forward(net_in[None, None])[0, 0]
    for j in range(g.size):
        add(Row("forward pass", "(2)", "y", at(g.name, j, t), float(y[j]),
                f"f(x) = {F_TEXT[g.activation]} with x = {number(net_in[j])}"))
    return net_in, y


def _error(add: Add, net: Network, error, xs: History, ys: History,
           targets: Mapping[Slot, Array], cares: Mapping[Slot, Array]) -> None:
    """Eq (3) at each output slot (a group at a step with targets), then their sum."""
    E = 0.0
    for slot in net.output_slots:
        name, t = slot
        e = float(error.value(as3(ys[slot]), as3(targets[slot]), as3(xs[slot]),
                              net.functions[name], as3(cares.get(slot)))[0])
        E += e
        if len(net.output_slots) > 1:
            add(Row("error", "(3)", "E", f"{name} t={t}", e, error_text(error.name)))
    steps = _steps_text([t for _, t in net.output_slots])
    how = (f"Σ over the target steps t = {steps}" if len(net.output_slots) > 1
           else f"{error_text(error.name)} at step {steps}")
    add(Row("error", "(3)", "E", "this case", E, how))


def _backward(add: Add, net: Network, error, W: dict[str, Array], xs: History, ys: History,
              targets: Mapping[Slot, Array], cares: Mapping[Slot, Array]) -> History:
    """Through time, ``t = T … 1``, groups in reverse order: eqs. (4)–(5) at the targets,
    (7) from the units fed at ``t`` and ``t + 1``, (5). Returns ``∂E/∂x`` per slot it
    reaches."""
    dE_dx: History = {}
    for t in range(net.steps, 0, -1):
        stepped = _stepped(add, t)
        for g in reversed(net.groups):
            now = (g.name, t)
            if now not in xs:
                continue  # set from outside (data, or off): no weights into it
            own = later = None  # ∂E/∂x from its own targets, from the units it feeds
            if now in targets:
                own = output_rows(stepped, g, net, error, xs[now], ys[now], targets[now],
                                  cares.get(now))
            dy = _eq7(add, net, W, g, t, dE_dx)
            if dy is not None:
                later = net.functions[g.name].backward(as3(xs[now]), as3(ys[now]),
                                                       as3(dy))[0, 0]
                eq5_rows(stepped, g.name, g.activation, xs[now], ys[now], dy, later,
                         "from the units it feeds")
            if own is None or later is None:
                if own is not None or later is not None:
                    dE_dx[now] = own if own is not None else later
                continue  # else nothing depends on this group at this step
            dE_dx[now] = own + later
            for j in range(g.size):
                add(Row("backward pass", "(5)", "∂E/∂x", at(g.name, j, t), dE_dx[now][j],
                        f"total: at the output + from the units it feeds = "
                        f"{term(own[j])} + {term(later[j])}"))
    return dE_dx


def _eq7(add: Add, net: Network, W: dict[str, Array], g: Group, t: int, dE_dx: History
         ) -> Array | None:
    """Eq (7) for group ``g`` at step ``t``: error from the units it feeds at the same step
    (delay 0) and the next (delay 1); ``None`` when no error reaches it."""
    feeds = [(p, (p.target, t + net.delays[p])) for p in net.out_of[g.name]
             if (p.target, t + net.delays[p]) in dE_dx]
    if not feeds:
        return None
    dy = np.zeros(g.size)
    for i in range(g.size):
        parts = []
        for p, (target, step) in feeds:
            terms = []
            for j, dx in enumerate(dE_dx[target, step]):
                if not connected(net, p, i, j):
                    continue
                dy[i] += dx * W[p.param][i, j]
                terms.append(f"{term(dx)}·{term(W[p.param][i, j])}")
            where = "next step" if step > t else "same step"
            parts.append(f"{target} at t={step} ({where}): {sum_text(terms)}")
        add(Row("backward pass", "(7)", "∂E/∂y", at(g.name, i, t), dy[i],
                "Σ_j ∂E/∂x_j w_ji over " + "; ".join(parts)))
    return dy


def _gradients(add: Add, net: Network, config: TrainConfig, ys: History, dE_dx: History
               ) -> dict[str, Array]:
    """Eq (6) for each entry of each array: the sum over every step (and every projection)
    it is used at, or with ``tie_rule = "mean"`` that sum over its uses; then weights
    shared within an array pooled over their copies."""
    grads: dict[str, Array] = {}
    mean = config.tie_rule == "mean"
    for name, w in net.params.items():
        grads[name] = g = np.zeros(w.shape[1:])
        uses = net.uses.get(name, 1)
        divide = mean and uses > 1
        if name.startswith("b:"):
            group = name[2:]
            steps = [t for t in range(1, net.steps + 1) if (group, t) in dE_dx]
            for j in range(g.shape[1]):
                g[0, j] = sum(dE_dx[group, t][j] for t in steps)
                terms = [term(dE_dx[group, t][j]) for t in steps]
                how = f"Σ_t ∂E/∂x_j(t) over t = {_steps_text(steps)}: {sum_text(terms)}"
                add(_gradient_row("∂E/∂b", param_entry(net, name, 0, j), g[0, j], how,
                                  steps, uses if divide else 0))
                if divide:
                    g[0, j] /= uses
            continue
        users = [p for p in net.projections if p.param == name]
        for j in range(g.shape[1]):
            for i in range(g.shape[0]):
                if name in net.masks and not net.masks[name][0, i, j]:
                    continue
                terms, steps = [], []
                for p in users:
                    delay = net.delays[p]
                    for t in range(1, net.steps + 1):
                        if (p.target, t) in dE_dx:
                            dx, y = dE_dx[p.target, t][j], ys[p.source, t - delay][i]
                            g[i, j] += dx * y
                            terms.append(f"{term(dx)}·{term(y)}")
                            steps.append(t)
                shift = {net.delays[p] for p in users}
                lag = "t−1" if shift == {1} else "t" if shift == {0} else "t − delay"
                how = (f"Σ_t ∂E/∂x_j(t)·y_i({lag}) over t = {_steps_text(steps)}"
                       + (f" and the {len(users)} projections that share it"
                          if len(users) > 1 else "") + f": {sum_text(terms)}")
                add(_gradient_row("∂E/∂w", param_entry(net, name, i, j), g[i, j], how, steps,
                                  uses if divide else 0))
                if divide:
                    g[i, j] /= uses
    shared_rows(add, net, config, grads)
    return grads


def _gradient_row(quantity: str, unit: str, total: float, how: str, steps: Sequence[int],
                  divisor: int) -> Row:
    """Eq (6) of one array entry: ``total`` over its steps, divided by ``divisor`` when given
    (Nature's rule)."""
    if not steps:
        return Row("weight gradients", "(6)", quantity, unit, 0.0,
                   "0: no error reaches its target units at any step")
    if divisor:
        return Row("weight gradients", "(6)", quantity, unit, total / divisor,
                   f"mean over its {divisor} uses (Nature's rule): ({number(total)})/{divisor}, "
                   + how)
    return Row("weight gradients", "(6)", quantity, unit, total, how)
