"""Forward values and every gradient against PyTorch autograd, on random networks.

Hypothesis draws random DAGs of groups — skip connections, 0/1 masks, tied
projections, several output groups, every activation, every error function,
"don't care" targets, ``R`` ≥ 1 replicas — and the same graph is rebuilt in
PyTorch from the Network's groups, projections and parameters (float64). PyTorch
is an independent implementation of the chain rule, so agreement to rounding
error checks eqs. (1)–(7) as the library writes them.

Recurrent networks (:func:`recurrent_cases`) get the same treatment: random
groups with projections from earlier groups, later groups and themselves, delays
of 0 and 1, clamps at random steps (input and non-input groups), targets at
random steps, run for ``T`` = 1–4 steps; the reference unrolls them in PyTorch
from the declared structure alone (``steps``, ``clamped``, ``target_steps``,
``initial``, ``delays``), with its own column layout and its own count of uses
for Nature's averaging rule.

Tolerance: both sides compute the same float64 expressions in a different
order; the normwise relative error ``max|ours − torch| / max|torch|`` of such
small nets (≤ 6 groups of ≤ 4 units, weights ≤ 1.5, inputs ≤ 2) is a few ulp,
≈ 1e-15. ``1e-10`` leaves five orders of magnitude for the growth of rounding
through the layers, while a wrong sign, factor or path gives errors of order 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86.switches import env_flag

if env_flag("BACKPROP86_REQUIRE_TORCH", False):  # CI: the cross-check must run, not skip
    import torch
else:
    torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop86.functions import ACTIVATIONS, ERRORS, DeadZone, error_function
from backprop86.network import Group, Network, Projection, bias_param

TOLERANCE = 1e-10
EXAMPLES = 1000

ERROR_NAMES = sorted(ERRORS)
ACTIVATION_NAMES = sorted(ACTIVATIONS)


# ----------------------------------------------------------------------------
# Random networks
# ----------------------------------------------------------------------------


@st.composite
def cases(draw):
    """A random network, its parameters, inputs, targets, care mask and error function."""
    error_name = draw(st.sampled_from(ERROR_NAMES))
    n_in = draw(st.integers(1, 2))
    n_hidden = draw(st.integers(0, 3))
    n_out = draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, 4)) for _ in range(n_in + n_hidden + n_out)]
    # Equal sizes make tied projections possible; draw a few repeated sizes.
    if draw(st.booleans()):
        sizes = [sizes[0] if draw(st.booleans()) else s for s in sizes]
    names = (
        [f"in{i}" for i in range(n_in)]
        + [f"h{i}" for i in range(n_hidden)]
        + [f"out{i}" for i in range(n_out)]
    )
    outputs = names[n_in + n_hidden:]
    groups = []
    for k, (name, size) in enumerate(zip(names, sizes, strict=True)):
        if k < n_in:
            groups.append(Group(name, size, None, False))
            continue
        act = draw(st.sampled_from(ACTIVATION_NAMES))
        if name in outputs and error_name == "cross_entropy":
            act = draw(st.sampled_from(["logistic", "softmax"]))
        groups.append(Group(name, size, act, draw(st.booleans())))
    # Every non-input group gets one projection from an earlier group, plus random skips.
    edges: list[tuple[int, int]] = []
    for t in range(n_in, len(names)):
        earlier = list(range(t))
        first = draw(st.sampled_from(earlier))
        edges.append((first, t))
        for s in earlier:
            if s != first and draw(st.integers(0, 3)) == 0:
                edges.append((s, t))
    masks = {}
    for e in edges:
        if draw(st.integers(0, 3)) == 0:
            shape = (sizes[e[0]], sizes[e[1]])
            bits = draw(st.lists(st.integers(0, 1), min_size=shape[0] * shape[1],
                                 max_size=shape[0] * shape[1]))
            masks[e] = np.array(bits, dtype=float).reshape(shape)
    # Tie some projections of equal shape (they must share the mask too).
    ties: dict[tuple[int, int], str] = {}
    by_shape: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for e in edges:
        by_shape.setdefault((sizes[e[0]], sizes[e[1]]), []).append(e)
    for shape, members in by_shape.items():
        if len(members) > 1 and draw(st.booleans()):
            tied = members[: draw(st.integers(2, len(members)))]
            for e in tied:
                ties[e] = f"tie{shape[0]}x{shape[1]}"
                if tied[0] in masks:
                    masks[e] = masks[tied[0]]
                else:
                    masks.pop(e, None)
    projections = [
        Projection(names[s], names[t], masks.get((s, t)), ties.get((s, t))) for s, t in edges
    ]
    R = draw(st.integers(1, 3))
    net = Network(groups, projections, replicas=R, outputs=outputs)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    net.set_params({k: rng.uniform(-1.5, 1.5, size=v.shape) for k, v in net.params.items()})
    N = draw(st.integers(1, 4))
    shared = draw(st.booleans())
    X = rng.uniform(-2, 2, size=(N, net.n_inputs) if shared else (R, N, net.n_inputs))
    if error_name == "cross_entropy":
        D = rng.uniform(0, 1, size=(R, N, net.n_outputs))
        if draw(st.booleans()):
            D = np.round(D)
    else:
        D = rng.uniform(-1, 2, size=(R, N, net.n_outputs))
    care = None
    if draw(st.booleans()):
        care = (rng.uniform(size=(N, net.n_outputs)) < 0.7).astype(float)
    tie_rule = draw(st.sampled_from(["sum", "mean"]))
    return net, X, D, care, error_name, tie_rule


# ----------------------------------------------------------------------------
# The same graph in PyTorch, built only from groups, projections and params
# ----------------------------------------------------------------------------


def _torch_act(name, x):
    return {
        "logistic": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "linear": lambda v: v,
        "softmax": lambda v: torch.softmax(v, dim=-1),
    }[name](x)


def _torch_error(name, group_act, x, y, d, c):
    """Error per replica ``(R,)`` of one output group, written from the definitions."""
    if name == "sse":
        return 0.5 * ((c * (y - d)) ** 2).sum(dim=(-2, -1))
    if name == "tss":
        return ((c * (y - d)) ** 2).sum(dim=(-2, -1))
    if name == "mse":
        # the mean over the counted targets; with none counted E = 0
        count = (c.sum(dim=(-2, -1)).clamp(min=1.0) if c.dim() == 3
                 else torch.tensor(float(y.shape[-2] * y.shape[-1])))
        return ((c * (y - d)) ** 2).sum(dim=(-2, -1)) / count
    if name == "cross_entropy":
        if group_act == "softmax":
            e = -d * torch.log_softmax(x, dim=-1)
        else:
            logsig = torch.nn.functional.logsigmoid
            e = -(d * logsig(x) + (1 - d) * logsig(-x))
        return (c * e).sum(dim=(-2, -1))
    if name == "dead_zone":
        dz = DeadZone()
        on, off = torch.clamp(y - dz.high, max=0.0), torch.clamp(y - dz.low, min=0.0)
        r = torch.where(d >= 0.5, on, off)
        return 0.5 * ((c * r) ** 2).sum(dim=(-2, -1))
    raise AssertionError(name)


def torch_reference(net, X, D, care, error_name):
    """Net inputs, outputs, E per replica and dE/dw for every parameter, from torch autograd."""
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.params.items()
    }
    X = np.asarray(X)
    Xt = torch.tensor(X if X.ndim == 3 else X[None], dtype=torch.float64)
    ys, xs, start = {}, {}, 0
    for g in net.groups:
        if g.activation is None:
            ys[g.name] = Xt[..., start:start + g.size]
            start += g.size
    for g in net.groups:
        if g.activation is None:
            continue
        total = 0
        for p in net.projections:
            if p.target != g.name:
                continue
            W = params[p.param]
            if p.mask is not None:
                W = W * torch.tensor(p.mask, dtype=torch.float64)
            total = total + ys[p.source] @ W
        if g.bias:
            total = total + params[bias_param(g.name)]
        xs[g.name] = total
        ys[g.name] = _torch_act(g.activation, total)
    Dt = torch.tensor(D, dtype=torch.float64)
    Ct = None if care is None else torch.tensor(care, dtype=torch.float64)[None]
    E, start = 0, 0
    for name in net.outputs:
        size = net.group(name).size
        d = Dt[..., start:start + size]
        c = torch.ones(1) if Ct is None else Ct[..., start:start + size]
        E = E + _torch_error(error_name, net.group(name).activation, xs[name], ys[name], d, c)
        start += size
    E.sum().backward()
    # A parameter nothing downstream depends on has no .grad: its gradient is 0.
    grads = {k: np.zeros(v.shape) if v.grad is None else v.grad.numpy() for k, v in params.items()}
    return (
        {k: v.detach().numpy() for k, v in xs.items()},
        {k: v.detach().numpy() for k, v in ys.items()},
        E.detach().numpy(),
        grads,
    )


def relative_error(ours, ref) -> float:
    """Normwise ``max|ours − ref| / max|ref|``; 0 when both are exactly zero."""
    ours, ref = np.broadcast_arrays(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float))
    diff = np.max(np.abs(ours - ref), initial=0.0)
    scale = np.max(np.abs(ref), initial=0.0)
    if scale == 0.0:
        return 0.0 if diff == 0.0 else np.inf
    return float(diff / scale)


# ----------------------------------------------------------------------------
# The test
# ----------------------------------------------------------------------------


def test_random_networks_match_torch_autograd():
    """Hypothesis draws EXAMPLES random networks; every value and gradient agrees with torch."""
    stats = {"networks": 0, "replicas": 0, "max_rel": 0.0, "errors": set(), "activations": set(),
             "tied": 0, "masked": 0, "skips": 0, "multi_output": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(cases())
    def check(case):
        net, X, D, care, error_name, tie_rule = case
        err = error_function(error_name)
        activity = net.forward(X)
        E = net.error(activity, D, err, care)
        grads = net.backward(activity, net.output_deltas(activity, D, err, care), tie_rule=tie_rule)
        xs, ys, E_ref, g_ref = torch_reference(net, X, D, care, error_name)
        worst = relative_error(E, E_ref)
        for name in xs:
            worst = max(worst, relative_error(activity.x[name], xs[name]))
            worst = max(worst, relative_error(activity.y[name], ys[name]))
        for name, g in g_ref.items():
            if tie_rule == "mean":
                g = g / net.tie_counts.get(name, 1)
            worst = max(worst, relative_error(grads[name], g))
        assert worst <= TOLERANCE, (worst, net.describe(), error_name, tie_rule)
        stats["networks"] += 1
        stats["replicas"] += net.replicas
        stats["max_rel"] = max(stats["max_rel"], worst)
        stats["errors"].add(error_name)
        stats["activations"].update(g.activation for g in net.groups if g.activation)
        stats["tied"] += any(c > 1 for c in net.tie_counts.values())
        stats["masked"] += bool(net.masks)
        stats["skips"] += any(len(v) > 1 for v in net.into.values())
        stats["multi_output"] += len(net.outputs) > 1

    check()
    print(
        f"\ntorch cross-check: {stats['networks']} random networks "
        f"({stats['replicas']} replicas; {stats['tied']} with tied, {stats['masked']} with masked, "
        f"{stats['skips']} with skip projections, {stats['multi_output']} with 2 output groups); "
        f"largest relative error {stats['max_rel']:.3g}"
    )
    # The generator must really have covered every error function and activation.
    assert stats["errors"] == set(ERROR_NAMES)
    assert stats["activations"] == set(ACTIVATION_NAMES)
    assert min(stats["tied"], stats["masked"], stats["skips"], stats["multi_output"]) > 0
    assert stats["networks"] == EXAMPLES


# ----------------------------------------------------------------------------
# Recurrent networks, unrolled in PyTorch
# ----------------------------------------------------------------------------

RECURRENT_EXAMPLES = 300


@st.composite
def recurrent_cases(draw):
    """A random recurrent network run for T steps, its parameters and data."""
    error_name = draw(st.sampled_from(ERROR_NAMES))
    T = draw(st.integers(1, 4))
    n_in, n_hidden = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    n_out = draw(st.integers(1, 2))
    size = draw(st.integers(1, 3))
    sizes = [draw(st.sampled_from([size, draw(st.integers(1, 3))]))
             for _ in range(n_in + n_hidden + n_out)]
    names = ([f"in{i}" for i in range(n_in)] + [f"h{i}" for i in range(n_hidden)]
             + [f"out{i}" for i in range(n_out)])
    outputs = names[n_in + n_hidden:]
    groups = []
    for k, (name, n) in enumerate(zip(names, sizes, strict=True)):
        if k < n_in:
            groups.append(Group(name, n, None, False))
            continue
        act = draw(st.sampled_from(ACTIVATION_NAMES))
        if name in outputs and error_name == "cross_entropy":
            act = draw(st.sampled_from(["logistic", "softmax"]))
        groups.append(Group(name, n, act, draw(st.booleans())))
    edges: dict[tuple[int, int], int] = {}  # (source, target) -> delay
    for t in range(n_in, len(names)):  # from earlier groups, later ones, itself
        sources = [s for s in range(len(names)) if draw(st.integers(0, 3)) == 0]
        for s in sources or [draw(st.integers(0, len(names) - 1))]:
            edges[s, t] = 1 if s >= t else draw(st.integers(0, 1))  # within a step: forwards
    by_shape: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for e in edges:
        by_shape.setdefault((sizes[e[0]], sizes[e[1]]), []).append(e)
    ties = {}
    for shape, members in by_shape.items():
        if len(members) > 1 and draw(st.booleans()):
            for e in members:
                ties[e] = f"tie{shape[0]}x{shape[1]}"
    mask = None
    first = next(iter(edges))
    if first not in ties and draw(st.booleans()):
        shape = (sizes[first[0]], sizes[first[1]])
        mask = np.array(draw(st.lists(st.integers(0, 1), min_size=shape[0] * shape[1],
                                      max_size=shape[0] * shape[1])), float).reshape(shape)
    projections = [Projection(names[s], names[t], mask if e == first else None, ties.get(e), d)
                   for e, d in edges.items() for s, t in [e]]
    steps = list(range(T + 1))
    targets = {n: draw(st.lists(st.sampled_from(steps[1:]), min_size=1, unique=True))
               for n in outputs}
    clamp = {}
    for k, name in enumerate(names):
        free = [t for t in steps if t not in targets.get(name, [])]
        if k < n_in:
            clamp[name] = draw(st.lists(st.sampled_from(steps), min_size=1, unique=True))
        elif draw(st.integers(0, 2)) == 0:
            clamp[name] = draw(st.lists(st.sampled_from(free), unique=True))
    if n_in == 0 and not any(clamp.values()):
        clamp[names[0]] = [0]
    R = draw(st.integers(1, 3))
    net = Network(groups, projections, replicas=R, outputs=outputs, steps=T, clamp=clamp,
                  target_steps=targets, initial=draw(st.floats(-1, 1)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    net.set_params({k: rng.uniform(-1.2, 1.2, size=v.shape) for k, v in net.params.items()})
    N = draw(st.integers(1, 3))
    X = rng.uniform(-2, 2, size=(N, net.n_inputs) if draw(st.booleans()) else (R, N, net.n_inputs))
    if error_name == "cross_entropy":
        D = rng.uniform(0, 1, size=(R, N, net.n_outputs))
    else:
        D = rng.uniform(-1, 2, size=(R, N, net.n_outputs))
    care = None
    if draw(st.booleans()):
        care = (rng.uniform(size=(N, net.n_outputs)) < 0.7).astype(float)
    return net, X, D, care, error_name, draw(st.sampled_from(["sum", "mean"]))


def torch_unrolled(net, X, D, care, error_name):
    """The recurrent net unrolled in torch from its declared structure: x, y per (group, t),
    E per replica, dE/dw, and the uses of each parameter (the divisor of the mean rule)."""
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.params.items()
    }
    X = np.asarray(X)
    Xt = torch.tensor(X if X.ndim == 3 else X[None], dtype=torch.float64)
    N, T = Xt.shape[-2], net.steps
    ys, xs, col = {}, {}, 0
    uses: dict[str, int] = {}
    for t in range(T + 1):
        for g in net.groups:
            if t in net.clamped.get(g.name, ()):
                ys[g.name, t] = Xt[..., col:col + g.size]
                col += g.size
            elif t == 0 or g.activation is None:
                rest = 0.0 if g.activation is None else net.initial
                ys[g.name, t] = torch.full((1, N, g.size), rest, dtype=torch.float64)
            else:
                total = 0
                for p in net.projections:
                    if p.target == g.name:
                        W = params[p.param]
                        if p.mask is not None:
                            W = W * torch.tensor(p.mask, dtype=torch.float64)
                        total = total + ys[p.source, t - net.delays[p]] @ W
                        uses[p.param] = uses.get(p.param, 0) + 1
                if g.bias:
                    total = total + params[bias_param(g.name)]
                    uses[bias_param(g.name)] = uses.get(bias_param(g.name), 0) + 1
                xs[g.name, t] = total
                ys[g.name, t] = _torch_act(g.activation, total)
    Dt = torch.tensor(D, dtype=torch.float64)
    Ct = None if care is None else torch.tensor(care, dtype=torch.float64)[None]
    E, col = 0, 0
    for t in range(1, T + 1):
        for name in net.outputs:
            if t not in net.target_steps[name]:
                continue
            size = net.group(name).size
            d = Dt[..., col:col + size]
            c = torch.ones(1) if Ct is None else Ct[..., col:col + size]
            E = E + _torch_error(error_name, net.group(name).activation, xs[name, t],
                                 ys[name, t], d, c)
            col += size
    E.sum().backward()
    grads = {k: np.zeros(v.shape) if v.grad is None else v.grad.numpy() for k, v in params.items()}
    return ({k: v.detach().numpy() for k, v in xs.items()},
            {k: v.detach().numpy() for k, v in ys.items()}, E.detach().numpy(), grads, uses)


def test_random_recurrent_networks_match_torch_unrolled():
    """RECURRENT_EXAMPLES random recurrent nets: every value and gradient agrees with torch."""
    stats = {"networks": 0, "max_rel": 0.0, "steps": set(), "delay0": 0, "delay1": 0,
             "self": 0, "clamped_hidden": 0, "tied": 0, "mean": 0, "errors": set()}

    @settings(max_examples=RECURRENT_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(recurrent_cases())
    def check(case):
        net, X, D, care, error_name, tie_rule = case
        err = error_function(error_name)
        activity = net.forward(X)
        E = net.error(activity, D, err, care)
        grads = net.backward(activity, net.output_deltas(activity, D, err, care), tie_rule=tie_rule)
        xs, ys, E_ref, g_ref, uses = torch_unrolled(net, X, D, care, error_name)
        worst = relative_error(E, E_ref)
        ax, ay = activity.x, activity.y
        if not net.recurrent:  # one step, its slots are the groups
            ax, ay = ({(k, 1): v for k, v in a.items()} for a in (ax, ay))
        assert set(ax) == set(xs)
        for key in xs:
            worst = max(worst, relative_error(ax[key], xs[key]))
        for key in set(ys) & set(ay):
            worst = max(worst, relative_error(ay[key], ys[key]))
        for name, g in g_ref.items():
            if tie_rule == "mean" and uses.get(name, 1) > 1:
                g = g / uses[name]
            worst = max(worst, relative_error(grads[name], g))
        assert worst <= TOLERANCE, (worst, net.describe(), error_name, tie_rule)
        stats["networks"] += 1
        stats["max_rel"] = max(stats["max_rel"], worst)
        stats["steps"].add(net.steps)
        stats["errors"].add(error_name)
        stats["delay0"] += 0 in net.delays.values()
        stats["delay1"] += 1 in net.delays.values()
        stats["self"] += any(p.source == p.target for p in net.projections)
        stats["clamped_hidden"] += any(not net.group(g).is_input for g in net.clamped)
        stats["tied"] += any(c > 1 for c in net.tie_counts.values())
        stats["mean"] += tie_rule == "mean"

    check()
    print(f"\ntorch cross-check, recurrent: {stats['networks']} random networks, T in "
          f"{sorted(stats['steps'])}; largest relative error {stats['max_rel']:.3g}")
    assert stats["networks"] == RECURRENT_EXAMPLES
    assert stats["steps"] == {1, 2, 3, 4} and stats["errors"] == set(ERROR_NAMES)
    assert min(stats["delay0"], stats["delay1"], stats["self"], stats["clamped_hidden"],
               stats["tied"], stats["mean"]) > 0


def test_torch_reference_detects_a_wrong_gradient():
    """The comparison is not vacuous: a gradient off by one part in 1e6 fails it."""
    net = Network.mlp([2, 3, 1])
    rng = np.random.default_rng(1)
    net.set_params({k: rng.uniform(-1, 1, size=v.shape) for k, v in net.params.items()})
    X = rng.uniform(-1, 1, size=(4, 2))
    D = rng.uniform(0, 1, size=(4, 1))
    err = error_function("sse")
    _, grads = net.gradients(X, D, err)
    _, _, _, g_ref = torch_reference(net, X, D, None, "sse")
    name = "w:input->hidden1"
    assert relative_error(grads[name], g_ref[name]) < TOLERANCE
    assert relative_error(grads[name] * (1 + 1e-6), g_ref[name]) > TOLERANCE


# ----------------------------------------------------------------------------
# Weights shared within an array (PDP's T–C net), in PyTorch as one parameter each
# ----------------------------------------------------------------------------

SHARED_EXAMPLES = 200


@st.composite
def shared_cases(draw):
    """A chain in → hidden → out whose first projection (and maybe the second, and the hidden
    bias) holds copies of a few shared weights: a random share map, −1 for no connection."""
    n_in, n_h = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    K = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    K = min(K, n_in * n_h)
    share = rng.integers(-1, K, size=(n_in, n_h))
    share.flat[rng.permutation(share.size)[:K]] = np.arange(K)  # every shared weight used
    out_shared = draw(st.booleans())
    R = draw(st.integers(1, 3))
    act = draw(st.sampled_from(ACTIVATION_NAMES))
    net = Network([Group("in", n_in, None, False),
                   Group("h", n_h, act if act != "softmax" else "logistic",
                         bias_shared=draw(st.booleans())),
                   Group("out", 1)],
                  [Projection("in", "h", share=share),
                   Projection("h", "out", share=np.zeros((n_h, 1), int) if out_shared else None)],
                  replicas=R)
    values = {}
    for name, w in net.params.items():
        v = rng.uniform(-1.5, 1.5, size=w.shape)
        if name in net.shares:
            s = net.shares[name]
            v = np.where(s >= 0, rng.uniform(-1.5, 1.5, size=(R, int(s.max()) + 1))[:, s], 0.0)
        values[name] = v
    net.set_params(values)
    N = draw(st.integers(1, 4))
    X = rng.uniform(-2, 2, size=(N, n_in))
    D = rng.uniform(0.05, 0.95, size=(N, 1))
    return net, X, D, draw(st.sampled_from(["sum", "mean"]))


def test_random_shared_networks_match_torch():
    """SHARED_EXAMPLES random nets with weights shared within arrays: E and the gradient of
    every shared weight (one torch parameter each) agree with PyTorch autograd."""
    stats = {"networks": 0, "mean": 0, "absent": 0, "max_rel": 0.0}

    @settings(max_examples=SHARED_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(shared_cases())
    def check(case):
        net, X, D, tie_rule = case
        err = error_function("sse")
        activity = net.forward(X)
        E = net.error(activity, D, err)
        grads = net.backward(activity, net.output_deltas(activity, D, err), tie_rule=tie_rule)
        # torch: a shared array is its K weights; the layer's matrix gathers them per entry
        params, firsts = {}, {}
        for name, w in net.params.items():
            if name in net.shares:
                s = net.shares[name].reshape(-1)
                firsts[name] = [int(np.flatnonzero(s == k)[0]) for k in range(s.max() + 1)]
                params[name] = torch.tensor(w.reshape(net.replicas, -1)[:, firsts[name]],
                                            requires_grad=True)
            else:
                params[name] = torch.tensor(w, requires_grad=True)

        def matrix(name):
            if name not in net.shares:
                return params[name]
            s = torch.tensor(net.shares[name])
            gathered = params[name][:, s.clamp(min=0).reshape(-1)].reshape(
                net.replicas, *s.shape)
            return gathered * (s >= 0)

        y = torch.tensor(X)[None]
        for layer, group in (("w:in->h", "h"), ("w:h->out", "out")):
            x = y @ matrix(layer) + matrix(f"b:{group}")
            y = _torch_act(net.group(group).activation, x)
        E_ref = 0.5 * ((y - torch.tensor(D)) ** 2).sum(dim=(1, 2))
        E_ref.sum().backward()
        worst = relative_error(E, E_ref.detach().numpy())
        for name, p in params.items():
            g_ref = p.grad.numpy()
            ours = grads[name].reshape(net.replicas, -1)
            if name in net.shares:
                s = net.shares[name].reshape(-1)
                if tie_rule == "mean":
                    g_ref = g_ref / np.bincount(s[s >= 0])
                worst = max(worst, relative_error(ours[:, firsts[name]], g_ref))
                assert np.all(ours[:, s < 0] == 0)
            else:
                worst = max(worst, relative_error(grads[name], g_ref))
        assert worst <= TOLERANCE, (worst, net.describe(), tie_rule)
        stats["networks"] += 1
        stats["mean"] += tie_rule == "mean"
        stats["absent"] += bool((net.shares["w:in->h"] < 0).any())
        stats["max_rel"] = max(stats["max_rel"], worst)

    check()
    print(f"\ntorch cross-check, shared weights: {stats['networks']} random networks; largest "
          f"relative error {stats['max_rel']:.3g}")
    assert stats["networks"] == SHARED_EXAMPLES
    assert min(stats["mean"], stats["absent"]) > 0
