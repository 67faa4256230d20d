"""The rows of a traced update, the numbers in words, and the rows every kind of net shares.

:mod:`.trace` traces feed-forward nets and :mod:`.trace_time` recurrent nets
step by step; both write :class:`Row` s with the helpers here: numbers as people
read them, unit and weight names counted from 1, eqs. (4)–(5) at an output
group, eq. (5) from the error sent back, and eqs. (8)–(9), the change the
configured optimizer makes (with the ``bias_max`` constraint, as training
applies it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.functions import CrossEntropy, Logistic, Softmax
from backprop86.network import Group, Network, Projection
from backprop86.optim import make_optimizer

#: Sections in the order they are printed.
SECTIONS = ("forward pass", "error", "backward pass", "weight gradients", "weight changes")
#: At most this many terms are written out in a sum; longer sums are summarised.
MAX_TERMS = 6

F_TEXT = {
    "logistic": "1/(1+e^−x)",
    "tanh": "tanh(x)",
    "relu": "max(0, x)",
    "linear": "x",
    "softmax": "e^x_j / Σ_k e^x_k",
}
DERIV_TEXT = {
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


Add = Callable[[Row], None]


def number(v: float) -> str:
    """A number for people: 6 significant digits."""
    return f"{v + 0.0:.6g}"  # + 0.0 turns −0 into 0


def term(v: float) -> str:
    """A number inside a sum: negative numbers in brackets."""
    s = number(v)
    return f"({s})" if v < 0 else s


def sum_text(terms: Sequence[str]) -> str:
    """Terms joined by ``+``; more than :data:`MAX_TERMS` are summarised by the first three."""
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


def connected(net: Network, p: Projection, i: int, j: int) -> bool:
    """Whether projection ``p`` connects source unit ``i`` to target unit ``j`` (its mask,
    or its map of weights shared within it, says which connections exist)."""
    mask = net.masks.get(p.param)
    return mask is None or bool(mask[0, i, j])


def shared_rows(add: Add, net: Network, config: TrainConfig, grads: dict[str, Array]) -> None:
    """Weights shared within an array (``Network.shares``: PDP's T–C net): each shared
    weight's ``∂E/∂w`` is the sum of its copies' (``tie_rule = "mean"``: their mean), and
    every copy takes it. ``grads`` (one replica, per parameter) is pooled in place."""
    mean = config.tie_rule == "mean"
    for name, share in net.shares.items():
        g = grads[name]
        for k in range(int(share.max()) + 1):
            copies = np.argwhere(share == k)
            total = sum(float(g[i, j]) for i, j in copies)
            terms = [term(g[i, j]) for i, j in copies]
            what = "bias" if name.startswith("b:") else "weight"
            add(Row("weight gradients", "(6)", "∂E/∂w", f"{name} shared {what} {k + 1}",
                    total / len(copies) if mean else total,
                    f"{'mean' if mean else 'sum'} over its {len(copies)} copies: "
                    + (f"({sum_text(terms)})/{len(copies)}" if mean else sum_text(terms))))
        grads[name] = net.pooled(name, g[None], mean=mean)[0]


def as3(v: Array | None) -> Array | None:
    """``(n,)`` as ``(1, 1, n)``: one replica, one case, for the vectorised functions."""
    return None if v is None else v[None, None]


def output_rows(add: Add, g: Group, net: Network, error, x: Array, y: Array, d: Array,
                care: Array | None) -> Array:
    """Eqs (4)–(5) at an output group (fused for cross-entropy) from its net input ``x``,
    output ``y``, targets ``d`` and care mask, each ``(n,)``: its own ``∂E/∂x``."""
    f = net.functions[g.name]
    c = as3(care)
    if isinstance(error, CrossEntropy) and isinstance(f, (Logistic, Softmax)):
        own = error.dE_dx(as3(y), as3(d), as3(x), f, c)[0, 0]
        counted = d if c is None else d * c[0, 0]
        for j in range(g.size):
            if isinstance(f, Logistic):
                how = f"y − d = {number(y[j])} − {term(counted[j])}"
            else:
                how = f"y·Σd − d = {number(y[j])}·{term(counted.sum())} − {term(counted[j])}"
            add(Row("backward pass", "(5)", "∂E/∂x", unit_name(g.name, j), float(own[j]),
                    how + " (cross-entropy: eqs. 4–5 fused)"))
        return own
    dy = error.dE_dy(as3(y), as3(d), c)[0, 0]
    for j in range(g.size):
        add(Row("backward pass", "(4)", "∂E/∂y", unit_name(g.name, j), float(dy[j]),
                dEdy_text(error.name, y[j], d[j], c is None or bool(c[0, 0, j]),
                          g.size if c is None else int(c.sum()))))
    own = f.backward(as3(x), as3(y), as3(dy))[0, 0]
    eq5_rows(add, g.name, g.activation, x, y, dy, own, "at the output")
    return own


def eq5_rows(add: Add, group: str, act: str, x: Array, y: Array, dy: Array, dx: Array,
             where: str) -> None:
    """Eq (5), ``∂E/∂x = ∂E/∂y · f′(x)``, unit by unit."""
    for j in range(len(x)):
        if act == "softmax":
            how = "y_j (∂E/∂y_j − Σ_k ∂E/∂y_k y_k)"
        else:
            fprime = {"logistic": y[j] * (1 - y[j]), "tanh": 1 - y[j] ** 2,
                      "relu": float(x[j] > 0), "linear": 1.0}[act]
            how = f"∂E/∂y · {DERIV_TEXT[act]} = {term(dy[j])}·{term(fprime)}"
        add(Row("backward pass", "(5)", "∂E/∂x", unit_name(group, j), float(dx[j]),
                how + (f" {where}" if where else "")))


def update_rows(add: Add, net: Network, config: TrainConfig, W: dict[str, Array],
                grads: dict[str, Array], lr: float, momentum: float) -> None:
    """Eqs (8)–(9): the change the configured optimizer makes, weight by weight (then the
    ``bias_max`` constraint, as training applies it)."""
    before = {n: w[None].copy() for n, w in W.items()}
    after = {n: w.copy() for n, w in before.items()}
    optimizer = make_optimizer(
        config.optimizer, after, decay=config.decay, decay_mode=config.decay_mode,
        decay_biases=config.decay_biases,
        adam=(config.adam_beta1, config.adam_beta2, config.adam_eps),
        bias_max=config.bias_max,
    )
    optimizer.step(after, {n: g[None].copy() for n, g in grads.items()}, lr, momentum)
    for name in W:
        change = (after[name] - before[name])[0]
        for j in range(change.shape[1]):  # receiving unit by receiving unit, as in eq. (6)
            for i in range(change.shape[0]):
                if name in net.masks and not net.masks[name][0, i, j]:
                    continue
                eq, how = update_text(config, lr, momentum, float(grads[name][i, j]), name)
                if config.bias_max is not None and name.startswith("b:"):
                    b, step = float(before[name][0, i, j]), float(optimizer.delta_w[name][0, i, j])
                    how += (f"; the constraint b ≤ {number(config.bias_max)}: "
                            f"min({number(b)} + {term(step)}, {number(config.bias_max)}) − "
                            f"{term(b)}")
                add(Row("weight changes", eq, "Δw", param_entry(net, name, i, j),
                        float(change[i, j]), how))


def param_entry(net: Network, name: str, i: int, j: int) -> str:
    """Entry ``[i, j]`` of a parameter: ``target[j] ← source[i]``, ``group[j] bias``, or
    ``name[i,j]`` (counted from 1) for an array that several projections share."""
    if name.startswith("b:"):
        return f"{unit_name(name[2:], j)} bias"
    users = [p for p in net.projections if p.param == name]
    if len(users) == 1:
        return weight_name(users[0], i, j)
    return f"{name}[{i + 1},{j + 1}]"


def error_text(name: str) -> str:
    """Eq (3), or the error function in its place, in words."""
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


def dEdy_text(name: str, y: float, d: float, counted: bool, n: int) -> str:
    """Eq (4) with the numbers in."""
    if not counted:
        return "0: a \"don't care\" target"
    diff = f"{number(y)} − {term(d)}"
    return {
        "sse": f"y − d = {diff}",
        "tss": f"2(y − d) = 2·({diff})",
        "mse": f"2(y − d)/n = 2·({diff})/{n}",
        "cross_entropy": "(y − d) / (y(1 − y))",
        "dead_zone": "r: shortfall beyond the margin",
    }[name]


def update_text(config: TrainConfig, lr: float, momentum: float, g: float,
                name: str) -> tuple[str, str]:
    """The equation of a weight's change, (8), (9) or Adam, with the numbers in."""
    decayed = config.decay and (config.decay_biases or not name.startswith("b:"))
    extra = ""
    if decayed:
        if config.decay_mode == "shrink":
            extra = f", then w ← (1 − {number(config.decay)})·w (weight decay)"
        else:
            extra = f", with {number(config.decay)}·w added to ∂E/∂w (L2 decay)"
    if config.optimizer == "adam":
        return "Adam", f"−ε m̂/(√v̂ + δ) at step 1, ∂E/∂w = {number(g)}{extra}"
    if momentum:
        return "(9)", (f"−ε ∂E/∂w + α Δw(t−1) = −{number(lr)}·{term(g)} + "
                       f"{number(momentum)}·0{extra}")
    return "(8)", f"−ε ∂E/∂w = −{number(lr)}·{term(g)}{extra}"
