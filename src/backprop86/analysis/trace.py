"""Show the working: one pattern, one update, every number labelled with its equation.

For one case ``(x, d)`` and one replica of a network, :func:`trace` computes —
unit by unit and weight by weight, written out from the paper rather than with
the vectorised :class:`~backprop86.network.Network` code — every quantity of
Rumelhart, Hinton & Williams (Nature 1986):

* (1) net input ``x_j = Σ_i y_i w_ji (+ b_j)`` of every unit,
* (2) its output ``y_j = f(x_j)``,
* (3) the error ``E`` of this case,
* (4) ``∂E/∂y_j`` at the output units (``y_j − d_j`` for eq. 3),
* (5) ``∂E/∂x_j = ∂E/∂y_j · f′(x_j)`` of every unit,
* (7) ``∂E/∂y_i = Σ_j ∂E/∂x_j · w_ji`` of every hidden unit,
* (6) ``∂E/∂w_ji = ∂E/∂x_j · y_i`` of every weight and bias,
* (8) ``Δw = −ε ∂E/∂w`` — or (9) with momentum, ``Δw(t) = −ε ∂E/∂w(t) + α Δw(t−1)``,
  where ``Δw(t−1) = 0`` at the first update — as the configured optimizer makes it.

A recurrent network (``Network.recurrent``) is traced step by step through its
unrolled history, the same equations at every step (:mod:`.trace_time`).

Each :class:`~.trace_rows.Row` carries the equation, the quantity, the unit (or the weight
``target[j] ← source[i]``), the value and the arithmetic with the numbers put in.
:func:`format_text`, :func:`format_markdown` and :func:`format_csv` print them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from backprop86.analysis.trace_rows import (
    F_TEXT,
    SECTIONS,
    Add,
    Row,
    Trace,
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
    update_rows,
    weight_name,
)
from backprop86.analysis.trace_time import recurrent_rows, recurrent_settings
from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.network import Network, bias_param
from backprop86.optim import Schedule
from backprop86.train import check_error_fits, make_error

__all__ = ["FORMATS", "Row", "Trace", "format_csv", "format_markdown", "format_text", "trace"]


def trace(
    net: Network,
    x: Array,
    d: Array,
    config: TrainConfig,
    *,
    care: Array | None = None,
    replica: int = 0,
    title: str = "",
) -> Trace:
    """Trace one update of replica ``replica`` of ``net`` from the single case ``x → d``.

    ``x``: ``(n_in,)`` inputs (all input groups side by side; a recurrent net: every
    input slot, step by step); ``d``: ``(n_out,)`` targets (every output slot), already
    in the run's coding; ``care``: optional ``(n_out,)`` 0/1. The error function, ε, α,
    decay, tie rule, bias constraint and optimizer come from ``config`` (at sweep 0).
    A ``bias_max`` constraint holds from the start, as in training: initial biases
    above it are set to it before the update.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    if x.shape != (net.n_inputs,) or d.shape != (net.n_outputs,):
        raise ShapeError(
            f"a trace needs {net.n_inputs} inputs and {net.n_outputs} targets, "
            f"got {x.shape[0]} and {d.shape[0]}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(d))):
        raise DataError("the traced pattern holds a non-finite input or target")
    if not 0 <= replica < net.replicas:
        raise ConfigError(f"replica must be in 0…{net.replicas - 1}, got {replica}")
    W = {name: np.array(w[replica], dtype=np.float64) for name, w in net.params.items()}
    error = make_error(config.error, config)
    check_error_fits(net, error)
    lr = Schedule(config.lr, config.lr_schedule)(0)
    momentum = Schedule(config.momentum, config.momentum_schedule)(0)
    settings = [
        f"error {error.name}, ε = {number(lr)}"
        + (f", α = {number(momentum)}" if config.optimizer == "sgd" else ", optimizer adam")
        + (f", decay {number(config.decay)} ({config.decay_mode})" if config.decay else "")
        + (f", tied weights: {config.tie_rule} of their gradients" if any(
            c > 1 for c in net.uses.values()) else ""),
        "engine: readable (eqs. 1–9 unit by unit; the run's own engine gives these numbers: "
        "tests/test_trace.py, tests/test_engine_*.py)",
    ]
    if config.bias_max is not None:
        above = sum(int(np.sum(w > config.bias_max)) for n, w in W.items() if n.startswith("b:"))
        for n, w in W.items():
            if n.startswith("b:"):
                np.minimum(w, config.bias_max, out=w)
        settings.append(f"biases kept ≤ {number(config.bias_max)} after every update"
                        + (f"; {above} initial bias{'es' if above != 1 else ''} above it set to "
                           f"{number(config.bias_max)} first, as training does" if above else ""))
    if net.recurrent:
        settings += recurrent_settings(net, config)
    out = Trace(title, settings)
    add = out.rows.append
    if net.recurrent:
        grads = recurrent_rows(add, net, error, config, W, x, d, care)
    else:
        xs, ys = _forward_rows(add, net, W, x)
        targets = _by_output(net, d)
        cares = _by_output(net, care)
        _error_row(add, net, error, xs, ys, targets, cares)
        dE_dx = _backward_rows(add, net, error, W, xs, ys, targets, cares)
        grads = _gradient_rows(add, net, config, ys, dE_dx)
    update_rows(add, net, config, W, grads, lr, momentum)
    return out


def _forward_rows(
    add: Add, net: Network, W: dict[str, Array], x: Array
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Eqs (1)–(2) unit by unit; returns net inputs ``xs``, outputs ``ys``: ``(n,)`` per group."""
    xs: dict[str, Array] = {}
    ys: dict[str, Array] = dict(zip(net.inputs, _split(net, net.inputs, x), strict=True))
    for g in net.groups:
        if g.is_input:
            continue
        net_in = np.zeros(g.size)
        for j in range(g.size):
            terms, total = [], 0.0
            for p in net.into[g.name]:
                for i in range(net.group(p.source).size):
                    if not connected(net, p, i, j):
                        continue
                    w = W[p.param][i, j]
                    total += ys[p.source][i] * w
                    terms.append(f"{term(ys[p.source][i])}·{term(w)}")
            if g.bias:
                b = W[bias_param(g.name)][0, j]
                total += b
                terms.append(f"{term(b)} (bias)")
            net_in[j] = total
            add(Row("forward pass", "(1)", "x", unit_name(g.name, j), total,
                    f"Σ_i y_i w_ji = {sum_text(terms)}"))
        y = net.functions[g.name].forward(net_in[None, None])[0, 0]
        xs[g.name], ys[g.name] = net_in, y
        for j in range(g.size):
            add(Row("forward pass", "(2)", "y", unit_name(g.name, j), float(y[j]),
                    f"f(x) = {F_TEXT[g.activation]} with x = {number(net_in[j])}"))
    return xs, ys


def _split(net: Network, names: Sequence[str], v: Array) -> list[Array]:
    """``v`` cut into the groups ``names``, side by side in that order."""
    ends = np.cumsum([net.group(n).size for n in names])[:-1]
    return np.split(v, ends)


def _by_output(net: Network, v: Array | None) -> dict[str, Array | None]:
    """Targets (or the care mask) ``(n_out,)`` per output group; ``None`` stays ``None``."""
    if v is None:
        return dict.fromkeys(net.outputs)
    parts = _split(net, net.outputs, np.asarray(v, dtype=float))
    return dict(zip(net.outputs, parts, strict=True))


def _error_row(add: Add, net: Network, error, xs, ys, targets, cares) -> None:
    """Eq (3): the error of this case, summed over the output groups."""
    E = 0.0
    for name in net.outputs:
        E += float(error.value(as3(ys[name]), as3(targets[name]), as3(xs[name]),
                               net.functions[name], as3(cares[name]))[0])
    add(Row("error", "(3)", "E", "this case", E, error_text(error.name)))


def _backward_rows(add: Add, net: Network, error, W, xs, ys, targets, cares) -> dict[str, Array]:
    """Eqs (4), (5) and (7) in reverse topological order; returns ``∂E/∂x`` per group."""
    dE_dx: dict[str, Array] = {}
    dE_dy_above: dict[str, Array] = {}
    for g in reversed(net.groups):
        if g.is_input:
            continue
        own = above = None  # dE/dx from the group's own targets and from the groups above
        if g.name in net.outputs:
            own = output_rows(add, g, net, error, xs[g.name], ys[g.name], targets[g.name],
                                  cares[g.name])
        if g.name in dE_dy_above:
            dy = dE_dy_above.pop(g.name)
            above = net.functions[g.name].backward(as3(xs[g.name]), as3(ys[g.name]),
                                                   as3(dy))[0, 0]
            eq5_rows(add, g.name, g.activation, xs[g.name], ys[g.name], dy, above, "")
        if own is None and above is None:
            continue  # nothing depends on this group
        total = np.zeros(g.size)
        for part in (own, above):
            if part is not None:
                total = total + part
        dE_dx[g.name] = total
        # eq (7): error sent back to every non-input source group
        for p in net.into[g.name]:
            src = net.group(p.source)
            if src.is_input:
                continue
            acc = dE_dy_above.setdefault(p.source, np.zeros(src.size))
            for i in range(src.size):
                terms = []
                for j in range(g.size):
                    if not connected(net, p, i, j):
                        continue
                    acc[i] += total[j] * W[p.param][i, j]
                    terms.append(f"{term(total[j])}·{term(W[p.param][i, j])}")
                add(Row("backward pass", "(7)", "∂E/∂y", unit_name(src.name, i), float(acc[i]),
                        f"Σ_j ∂E/∂x_j w_ji over {g.name} = {sum_text(terms)}"
                        + (" (running total over every group it feeds)"
                           if len(net.out_of[p.source]) > 1 else "")))
    return dE_dx


def _gradient_rows(add: Add, net: Network, config: TrainConfig, ys, dE_dx) -> dict[str, Array]:
    """Eq (6) weight by weight; weights shared within an array, then tied arrays, as the sum
    (or mean) of their copies and uses."""
    grads = {name: np.zeros(w.shape[1:]) for name, w in net.params.items()}
    for g in net.groups:
        if g.is_input or g.name not in dE_dx:
            continue
        delta = dE_dx[g.name]
        for p in net.into[g.name]:
            y_src = ys[p.source]
            for j in range(g.size):
                for i in range(net.group(p.source).size):
                    if not connected(net, p, i, j):
                        continue
                    v = delta[j] * y_src[i]
                    grads[p.param][i, j] += v
                    add(Row("weight gradients", "(6)", "∂E/∂w", weight_name(p, i, j), float(v),
                            f"∂E/∂x_j · y_i = {term(delta[j])}·{term(y_src[i])}"
                            + (f" (one of {net.tie_counts[p.param]} uses of tied {p.param!r})"
                               if net.tie_counts[p.param] > 1 else "")))
        if g.bias:
            for j in range(g.size):
                grads[bias_param(g.name)][0, j] += delta[j]
                add(Row("weight gradients", "(6)", "∂E/∂b", f"{unit_name(g.name, j)} bias",
                        float(delta[j]), f"∂E/∂x_j · 1 = {number(delta[j])}"))
    shared_rows(add, net, config, grads)
    for name, count in net.tie_counts.items():
        if count > 1:
            if config.tie_rule == "mean":
                grads[name] /= count
            for (i, j), v in np.ndenumerate(grads[name]):
                if name in net.masks and not net.masks[name][0, i, j]:
                    continue
                add(Row("weight gradients", "(6)", "∂E/∂w", param_entry(net, name, i, j), float(v),
                        f"{config.tie_rule} over the {count} projections that share it"))
    return grads


# ----------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------


def format_text(t: Trace) -> str:
    """Aligned columns, one section after another."""
    lines = [t.title, *t.settings] if t.title else list(t.settings)
    width_q = max((len(r.quantity) for r in t.rows), default=0)
    width_u = max((len(r.unit) for r in t.rows), default=0)
    for section in SECTIONS:
        rows = [r for r in t.rows if r.section == section]
        if not rows:
            continue
        lines += ["", section]
        for r in rows:
            lines.append(
                f"  {r.equation:<5} {r.quantity:<{width_q}}  {r.unit:<{width_u}}  "
                f"{r.value + 0.0:>13.6g}   {r.working}"
            )
    return "\n".join(lines)


def format_markdown(t: Trace) -> str:
    """One Markdown table per section."""
    lines = [f"**{t.title}**" if t.title else "", *(f"{s}  " for s in t.settings)]
    for section in SECTIONS:
        rows = [r for r in t.rows if r.section == section]
        if not rows:
            continue
        lines += ["", f"### {section}", "", "| eq. | quantity | unit | value | working |",
                  "|---|---|---|---:|---|"]
        for r in rows:
            cells = [r.equation, r.quantity, r.unit, number(r.value), r.working]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines).strip("\n")


CSV_COLUMNS = ("section", "equation", "quantity", "unit", "value", "working")


def format_csv(t: Trace) -> str:
    """One row per number; ``value`` at full precision (``repr``) so it reads back exactly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in t.rows:
        writer.writerow([r.section, r.equation, r.quantity, r.unit, repr(r.value), r.working])
    return buf.getvalue().rstrip("\n")


FORMATS = {"text": format_text, "markdown": format_markdown, "csv": format_csv}
