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

Each :class:`Row` carries the equation, the quantity, the unit (or the weight
``target[j] ← source[i]``), the value and the arithmetic with the numbers put in.
:func:`format_text`, :func:`format_markdown` and :func:`format_csv` print them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.functions import CrossEntropy, Logistic, Softmax
from backprop86.network import Network, Projection, bias_param
from backprop86.optim import Schedule, make_optimizer
from backprop86.train import check_error_fits, make_error

#: Sections in the order they are printed.
SECTIONS = ("forward pass", "error", "backward pass", "weight gradients", "weight changes")
#: At most this many terms are written out in a sum; longer sums are summarised.
MAX_TERMS = 6

_F_TEXT = {
    "logistic": "1/(1+e^−x)",
    "tanh": "tanh(x)",
    "relu": "max(0, x)",
    "linear": "x",
    "softmax": "e^x_j / Σ_k e^x_k",
}
_DERIV_TEXT = {
    "logistic": "y(1−y)",
    "tanh": "1−y²",
    "relu": "[x>0]",
    "linear": "1",
}


@dataclass(frozen=True)
class Row:
    """One number of the trace: ``equation`` like ``"(5)"``, ``quantity`` like ``"∂E/∂x"``."""

    section: str
    equation: str
    quantity: str
    unit: str
    value: float
    working: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))  # a Python float, never np.float64


@dataclass
class Trace:
    """The rows of one traced update and what they were computed for."""

    title: str
    settings: list[str]
    rows: list[Row] = field(default_factory=list)

    def where(self, equation: str) -> list[Row]:
        return [r for r in self.rows if r.equation == equation]


def _g(v: float) -> str:
    """A number for people: 6 significant digits, negative numbers in brackets inside sums."""
    return f"{v + 0.0:.6g}"  # + 0.0 turns −0 into 0


def _term(v: float) -> str:
    s = _g(v)
    return f"({s})" if v < 0 else s


def _sum_text(terms: Sequence[str]) -> str:
    if not terms:
        return "0"
    if len(terms) > MAX_TERMS:
        return " + ".join(terms[:3]) + f" + … ({len(terms)} terms)"
    return " + ".join(terms)


def unit_name(group: str, k: int) -> str:
    """Unit ``k`` (0-based array index) of ``group`` as every output names it, counting from 1
    as the paper does: ``hidden1[1]`` is the first unit."""
    return f"{group}[{k + 1}]"


def weight_name(p: Projection, i: int, j: int) -> str:
    return f"{unit_name(p.target, j)} ← {unit_name(p.source, i)}"


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

    ``x``: ``(n_in,)`` inputs (all input groups side by side); ``d``: ``(n_out,)``
    targets, already in the run's coding; ``care``: optional ``(n_out,)`` 0/1.
    The error function, ε, α, decay and optimizer come from ``config`` (at sweep 0).
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
    W = {name: np.asarray(w[replica], dtype=np.float64) for name, w in net.params.items()}
    error = make_error(config.error, config)
    check_error_fits(net, error)
    lr = Schedule(config.lr, config.lr_schedule)(0)
    momentum = Schedule(config.momentum, config.momentum_schedule)(0)
    out = Trace(title, [
        f"error {error.name}, ε = {_g(lr)}"
        + (f", α = {_g(momentum)}" if config.optimizer == "sgd" else ", optimizer adam")
        + (f", decay {_g(config.decay)} ({config.decay_mode})" if config.decay else "")
        + (f", tied weights: {config.tie_rule} of their gradients" if any(
            c > 1 for c in net.tie_counts.values()) else ""),
        "engine: readable (eqs. 1–9 unit by unit; the run's own engine gives these numbers: "
        "tests/test_trace.py, tests/test_engine_*.py)",
    ])
    add = out.rows.append
    xs, ys = _forward_rows(add, net, W, x)
    targets = _by_output(net, d)
    cares = _by_output(net, care)
    _error_row(add, net, error, xs, ys, targets, cares)
    dE_dx = _backward_rows(add, net, error, W, xs, ys, targets, cares)
    grads = _gradient_rows(add, net, config, ys, dE_dx)
    _update_rows(add, net, config, W, grads, lr, momentum)
    return out


Add = Callable[[Row], None]


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
                    if p.mask is not None and not p.mask[i, j]:
                        continue
                    w = W[p.param][i, j]
                    total += ys[p.source][i] * w
                    terms.append(f"{_term(ys[p.source][i])}·{_term(w)}")
            if g.bias:
                b = W[bias_param(g.name)][0, j]
                total += b
                terms.append(f"{_term(b)} (bias)")
            net_in[j] = total
            add(Row("forward pass", "(1)", "x", unit_name(g.name, j), total,
                    f"Σ_i y_i w_ji = {_sum_text(terms)}"))
        y = net.functions[g.name].forward(net_in[None, None])[0, 0]
        xs[g.name], ys[g.name] = net_in, y
        for j in range(g.size):
            add(Row("forward pass", "(2)", "y", unit_name(g.name, j), float(y[j]),
                    f"f(x) = {_F_TEXT[g.activation]} with x = {_g(net_in[j])}"))
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


def _as3(v: Array | None) -> Array | None:
    """``(n,)`` as ``(1, 1, n)``: one replica, one case, for the vectorised functions."""
    return None if v is None else v[None, None]


def _error_row(add: Add, net: Network, error, xs, ys, targets, cares) -> None:
    """Eq (3): the error of this case, summed over the output groups."""
    E = 0.0
    for name in net.outputs:
        E += float(error.value(_as3(ys[name]), _as3(targets[name]), _as3(xs[name]),
                               net.functions[name], _as3(cares[name]))[0])
    add(Row("error", "(3)", "E", "this case", E, _error_text(error.name)))


def _backward_rows(add: Add, net: Network, error, W, xs, ys, targets, cares) -> dict[str, Array]:
    """Eqs (4), (5) and (7) in reverse topological order; returns ``∂E/∂x`` per group."""
    dE_dx: dict[str, Array] = {}
    dE_dy_above: dict[str, Array] = {}
    for g in reversed(net.groups):
        if g.is_input:
            continue
        own = above = None  # dE/dx from the group's own targets and from the groups above
        if g.name in net.outputs:
            own = _output_rows(add, g, net, error, xs, ys, targets, cares)
        if g.name in dE_dy_above:
            dy = dE_dy_above.pop(g.name)
            above = net.functions[g.name].backward(_as3(xs[g.name]), _as3(ys[g.name]),
                                                   _as3(dy))[0, 0]
            _eq5_rows(add, g.name, g.activation, xs[g.name], ys[g.name], dy, above, "")
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
                    if p.mask is not None and not p.mask[i, j]:
                        continue
                    acc[i] += total[j] * W[p.param][i, j]
                    terms.append(f"{_term(total[j])}·{_term(W[p.param][i, j])}")
                add(Row("backward pass", "(7)", "∂E/∂y", unit_name(src.name, i), float(acc[i]),
                        f"Σ_j ∂E/∂x_j w_ji over {g.name} = {_sum_text(terms)}"
                        + (" (running total over every group it feeds)"
                           if len(net.out_of[p.source]) > 1 else "")))
    return dE_dx


def _output_rows(add: Add, g, net: Network, error, xs, ys, targets, cares) -> Array:
    """Eqs (4)–(5) at an output group (fused for cross-entropy): its own ``∂E/∂x``."""
    f = net.functions[g.name]
    y, t, c = ys[g.name], targets[g.name], _as3(cares[g.name])
    if isinstance(error, CrossEntropy) and isinstance(f, (Logistic, Softmax)):
        own = error.dE_dx(_as3(y), _as3(t), _as3(xs[g.name]), f, c)[0, 0]
        counted = t if c is None else t * c[0, 0]
        for j in range(g.size):
            if isinstance(f, Logistic):
                how = f"y − d = {_g(y[j])} − {_term(counted[j])}"
            else:
                how = f"y·Σd − d = {_g(y[j])}·{_term(counted.sum())} − {_term(counted[j])}"
            add(Row("backward pass", "(5)", "∂E/∂x", unit_name(g.name, j), float(own[j]),
                    how + " (cross-entropy: eqs. 4–5 fused)"))
        return own
    dy = error.dE_dy(_as3(y), _as3(t), c)[0, 0]
    for j in range(g.size):
        add(Row("backward pass", "(4)", "∂E/∂y", unit_name(g.name, j), float(dy[j]),
                _dEdy_text(error.name, y[j], t[j], c is None or bool(c[0, 0, j]),
                           g.size if c is None else int(c.sum()))))
    own = f.backward(_as3(xs[g.name]), _as3(y), _as3(dy))[0, 0]
    _eq5_rows(add, g.name, g.activation, xs[g.name], y, dy, own, "at the output")
    return own


def _gradient_rows(add: Add, net: Network, config: TrainConfig, ys, dE_dx) -> dict[str, Array]:
    """Eq (6) weight by weight; tied arrays then as the sum (or mean) of their uses."""
    grads = {name: np.zeros(w.shape[1:]) for name, w in net.params.items()}
    for g in net.groups:
        if g.is_input or g.name not in dE_dx:
            continue
        delta = dE_dx[g.name]
        for p in net.into[g.name]:
            y_src = ys[p.source]
            for j in range(g.size):
                for i in range(net.group(p.source).size):
                    if p.mask is not None and not p.mask[i, j]:
                        continue
                    v = delta[j] * y_src[i]
                    grads[p.param][i, j] += v
                    add(Row("weight gradients", "(6)", "∂E/∂w", weight_name(p, i, j), float(v),
                            f"∂E/∂x_j · y_i = {_term(delta[j])}·{_term(y_src[i])}"
                            + (f" (one of {net.tie_counts[p.param]} uses of tied {p.param!r})"
                               if net.tie_counts[p.param] > 1 else "")))
        if g.bias:
            for j in range(g.size):
                grads[bias_param(g.name)][0, j] += delta[j]
                add(Row("weight gradients", "(6)", "∂E/∂b", f"{unit_name(g.name, j)} bias",
                        float(delta[j]), f"∂E/∂x_j · 1 = {_g(delta[j])}"))
    for name, count in net.tie_counts.items():
        if count > 1:
            if config.tie_rule == "mean":
                grads[name] /= count
            for (i, j), v in np.ndenumerate(grads[name]):
                if name in net.masks and not net.masks[name][0, i, j]:
                    continue
                add(Row("weight gradients", "(6)", "∂E/∂w", f"{name}[{i},{j}]", float(v),
                        f"{config.tie_rule} over the {count} projections that share it"))
    return grads


def _update_rows(add: Add, net: Network, config: TrainConfig, W, grads, lr: float,
                 momentum: float) -> None:
    """Eqs (8)–(9): the change the configured optimizer makes, weight by weight."""
    before = {n: w[None].copy() for n, w in W.items()}
    after = {n: w.copy() for n, w in before.items()}
    optimizer = make_optimizer(
        config.optimizer, after, decay=config.decay, decay_mode=config.decay_mode,
        decay_biases=config.decay_biases,
        adam=(config.adam_beta1, config.adam_beta2, config.adam_eps),
    )
    optimizer.step(after, {n: g[None].copy() for n, g in grads.items()}, lr, momentum)
    for name in W:
        change = (after[name] - before[name])[0]
        for j in range(change.shape[1]):  # receiving unit by receiving unit, as in eq. (6)
            for i in range(change.shape[0]):
                if name in net.masks and not net.masks[name][0, i, j]:
                    continue
                eq, how = _update_text(config, lr, momentum, float(grads[name][i, j]), name)
                add(Row("weight changes", eq, "Δw", _param_entry(net, name, i, j),
                        float(change[i, j]), how))


def _param_entry(net: Network, name: str, i: int, j: int) -> str:
    if name.startswith("b:"):
        return f"{unit_name(name[2:], j)} bias"
    users = [p for p in net.projections if p.param == name]
    if len(users) == 1:
        return weight_name(users[0], i, j)
    return f"{name}[{i + 1},{j + 1}]"


def _eq5_rows(add: Add, group: str, act: str, x: Array, y: Array, dy: Array, dx: Array,
              where: str) -> None:
    for j in range(len(x)):
        if act == "softmax":
            how = "y_j (∂E/∂y_j − Σ_k ∂E/∂y_k y_k)"
        else:
            fprime = {"logistic": y[j] * (1 - y[j]), "tanh": 1 - y[j] ** 2,
                      "relu": float(x[j] > 0), "linear": 1.0}[act]
            how = f"∂E/∂y · {_DERIV_TEXT[act]} = {_term(dy[j])}·{_term(fprime)}"
        add(Row("backward pass", "(5)", "∂E/∂x", unit_name(group, j), float(dx[j]),
                how + (f" {where}" if where else "")))


def _error_text(name: str) -> str:
    return {
        "sse": "½ Σ_j (y_j − d_j)²",
        "tss": "Σ_j (y_j − d_j)² (the handbook's tss: eq. 3 without ½)",
        "mse": "mean_j (y_j − d_j)² over this case's outputs",
        "cross_entropy": (
            "−Σ_j [d_j log y_j + (1 − d_j) log(1 − y_j)] (cross-entropy in place of eq. 3; "
            "softmax: −Σ_j d_j log y_j)"
        ),
        "dead_zone": "½ Σ_j r_j², r = shortfall beyond the dead-zone margins",
    }[name]


def _dEdy_text(name: str, y: float, d: float, counted: bool, n: int) -> str:
    if not counted:
        return "0: a \"don't care\" target"
    diff = f"{_g(y)} − {_term(d)}"
    return {
        "sse": f"y − d = {diff}",
        "tss": f"2(y − d) = 2·({diff})",
        "mse": f"2(y − d)/n = 2·({diff})/{n}",
        "cross_entropy": "(y − d) / (y(1 − y))",
        "dead_zone": "r: shortfall beyond the margin",
    }[name]


def _update_text(config: TrainConfig, lr: float, momentum: float, g: float,
                 name: str) -> tuple[str, str]:
    decayed = config.decay and (config.decay_biases or not name.startswith("b:"))
    extra = ""
    if decayed:
        if config.decay_mode == "shrink":
            extra = f", then w ← (1 − {_g(config.decay)})·w (weight decay)"
        else:
            extra = f", with {_g(config.decay)}·w added to ∂E/∂w (L2 decay)"
    if config.optimizer == "adam":
        return "Adam", f"−ε m̂/(√v̂ + δ) at step 1, ∂E/∂w = {_g(g)}{extra}"
    if momentum:
        return "(9)", f"−ε ∂E/∂w + α Δw(t−1) = −{_g(lr)}·{_term(g)} + {_g(momentum)}·0{extra}"
    return "(8)", f"−ε ∂E/∂w = −{_g(lr)}·{_term(g)}{extra}"


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
            cells = [r.equation, r.quantity, r.unit, _g(r.value), r.working]
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
