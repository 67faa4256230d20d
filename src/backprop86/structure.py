"""Structure checks: does a trained network show the structure the 1986 papers describe?

Each check is a function ``check(net, task, **options) -> CheckResult`` that takes
*any* trained :class:`~backprop86.network.Network` (all ``R`` replicas at once)
and the :class:`~backprop86.tasks.Task` it learned, and decides per replica
whether the structure is there, with the numbers that decided it:

========================  ===================================================================
``mirror_antisymmetry``   symmetry (Nature Fig. 1, PDP Fig. 9): ``w_i = −w_{n+1−i}`` into each
                          hidden unit; residual ``max_i |w_i + w_{n+1−i}| / max_i |w_i|`` < 5 %
``ratio_124``             symmetry: the side magnitudes stand 1 : 2 : 4 (each within ±15 %)
``count_code``            parity (PDP Table 3): which hidden units are on depends only on the
                          number of on inputs, and the on-sets are nested, monotone in that count
``distinct_codes``        encoders (PDP Tables 5, 7): every pattern gets its own hidden code
``carry_units``           addition (PDP Fig. 10): hidden units that compute the carry bits
``local_minimum_11_11``   addition: every sum right except 11 + 11 (PDP's local minimum)
``three_xors``            negation (PDP Fig. 12): each output depends on the flag and its own
                          data bit only, i.e. three separate XORs
========================  ===================================================================

Experiments list the checks to run in ``analyses = [...]`` (a name, or an inline
table ``{check = "distinct_codes", group = "hidden1", min_distance = 0.1}``);
:func:`run_checks` runs them. Units count as *on* above 0.5, the logistic's
midpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.arithmetic import from_bits
from backprop86.tasks.base import Task

Array = np.ndarray

#: A unit is "on" above this activation.
ON = 0.5


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one structure check on every replica.

    ``passed``: ``(R,)`` booleans; ``numbers``: named per-replica arrays with a
    leading ``R`` axis (the quantities the rule looked at); ``among``: the
    replicas the check is meant for, ``"solved"`` (a structure of solutions) or
    ``"all"`` (e.g. a local minimum, found only in unsolved nets).
    """

    name: str
    title: str
    rule: str
    passed: Array
    numbers: dict[str, Array] = field(default_factory=dict)
    among: str = "solved"
    #: What the run table shows after the count (default: medians of the scalar numbers).
    detail: str = ""

    def count(self, solved: Array | None = None) -> tuple[int, int]:
        """``(passing, considered)``: among the solved replicas (``among="solved"``) or all."""
        if self.among == "solved" and solved is not None:
            mask = np.asarray(solved, dtype=bool)
            return int(self.passed[mask].sum()), int(mask.sum())
        return int(self.passed.sum()), int(self.passed.size)

    def line(self, solved: Array | None = None) -> str:
        """One line for the run table: title, how many replicas pass, the rule, key numbers."""
        k, n = self.count(solved)
        who = "solved replicas" if self.among == "solved" and solved is not None else "replicas"
        extra = self.detail or _numbers_text(self, solved)
        return f"{self.title}: {k}/{n} {who} pass — {self.rule}" + (f" ({extra})" if extra else "")

    def to_json(self, solved: Array | None = None) -> dict[str, Any]:
        k, n = self.count(solved)
        return {
            "title": self.title,
            "rule": self.rule,
            "among": self.among,
            "passed": k,
            "considered": n,
            "per_replica": self.passed.astype(bool).tolist(),
            "numbers": {key: np.asarray(v).tolist() for key, v in self.numbers.items()},
        }


Check = Callable[..., CheckResult]

#: The registered checks by name.
CHECKS: dict[str, Check] = {}


def register(name: str) -> Callable[[Check], Check]:
    """Decorator: make a check available to experiment files by ``name``."""

    def deco(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return deco


def run_checks(
    specs: Sequence[str | Mapping[str, Any]], net: Network, task: Task
) -> dict[str, CheckResult]:
    """Run the checks an experiment lists (``analyses``); keyed by name (or ``label``)."""
    out: dict[str, CheckResult] = {}
    for spec in specs:
        if isinstance(spec, str):
            name, options = spec, {}
        elif isinstance(spec, Mapping) and "check" in spec:
            options = {k: v for k, v in spec.items() if k not in ("check", "label")}
            name = spec["check"]
        else:
            raise ConfigError(
                f"an analyses entry must be a check name or a table with check = NAME, got {spec!r}"
            )
        if name not in CHECKS:
            known = ", ".join(sorted(CHECKS))
            raise ConfigError(f"unknown check {name!r}; expected one of {known}")
        label = spec.get("label", name) if isinstance(spec, Mapping) else name
        try:
            out[label] = CHECKS[name](net, task, **options)
        except TypeError as exc:
            raise ConfigError(f"check {name!r}: {exc}") from None
    return out


# ----------------------------------------------------------------------------
# Helpers: groups, weights and activities
# ----------------------------------------------------------------------------


def hidden_activity(net: Network, task: Task, groups: Sequence[str] | None = None) -> Array:
    """Hidden activations for every case, the groups side by side: ``(R, N, n_hidden)``."""
    names = list(groups) if groups is not None else net.hidden
    if not names:
        raise ConfigError("the network has no hidden units to examine")
    y = net.forward(task.inputs).y
    return np.concatenate([y[n] for n in names], axis=-1)


def weights(net: Network, source: str, target: str) -> Array:
    """The weights of projection ``source → target``: ``(R, n_src, n_tgt)``."""
    for p in net.projections:
        if p.source == source and p.target == target:
            return net.params[p.param]
    raise ConfigError(f"the network has no projection {source} -> {target}")


def _first_fed_by(net: Network, source: str) -> str:
    for p in net.projections:
        if p.source == source and p.target not in net.outputs:
            return p.target
    raise ConfigError(f"no hidden group receives from {source!r}")


def _numbers_text(result: CheckResult, solved: Array | None) -> str:
    """Medians of the scalar per-replica numbers over the replicas the check is for."""
    mask = np.ones(result.passed.shape, dtype=bool)
    if result.among == "solved" and solved is not None:
        mask = np.asarray(solved, dtype=bool)
    parts = []
    for key, value in result.numbers.items():
        v = np.asarray(value)
        if v.ndim != 1 or not np.issubdtype(v.dtype, np.number) or not mask.any():
            continue
        parts.append(f"median {key} {float(np.median(v[mask])):.3g}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------
# Symmetry (Nature Fig. 1; PDP Fig. 9)
# ----------------------------------------------------------------------------


@register("mirror_antisymmetry")
def mirror_antisymmetry(
    net: Network, task: Task, *, source: str = "input", group: str | None = None,
    max_residual: float = 0.05,
) -> CheckResult:
    """Weights placed symmetrically about the middle are equal and opposite.

    For hidden unit ``j`` with input weights ``w`` (``n`` inputs) the residual is
    ``max_i |w_i + w_{n−1−i}| / max_i |w_i|``; a replica passes when every hidden
    unit's residual is below ``max_residual`` (5 %). Then every palindrome gives
    the unit a net input of 0 from the inputs.
    """
    group = group or _first_fed_by(net, source)
    W = weights(net, source, group)  # (R, n, H)
    mirror = np.abs(W + W[:, ::-1, :]).max(axis=1)  # (R, H)
    scale = np.abs(W).max(axis=1)
    residual = (mirror / np.where(scale > 0, scale, np.inf)).max(axis=1)  # (R,)
    residual = np.where(scale.max(axis=1) > 0, residual, np.inf)
    return CheckResult(
        "mirror_antisymmetry", "mirror anti-symmetry",
        f"every {group} unit: max|w_i + w_mirror(i)| < {max_residual:.0%} of its largest weight",
        residual < max_residual, {"residual": residual},
    )


@register("ratio_124")
def ratio_124(
    net: Network, task: Task, *, source: str = "input", group: str | None = None,
    tolerance: float = 0.15,
) -> CheckResult:
    """The magnitudes on each side of the midpoint stand in the ratio 1 : 2 : 4 : ….

    Side magnitude ``m_k = (|w_k| + |w_{n−1−k}|) / 2`` for ``k < n/2``; sorted
    ascending and divided by the smallest, they must match ``1, 2, 4, …`` within
    ``tolerance`` (relative) in every hidden unit. Each of the ``2^(n/2)``
    half-patterns then sends a unique sum that only its mirror image cancels.
    """
    group = group or _first_fed_by(net, source)
    W = np.abs(weights(net, source, group))  # (R, n, H)
    half = W.shape[1] // 2
    if half < 2:
        raise ConfigError("ratio_124 needs at least 4 inputs (two magnitudes per side)")
    m = 0.5 * (W[:, :half, :] + W[:, ::-1, :][:, :half, :])  # (R, half, H)
    m = np.sort(m, axis=1)
    smallest = m[:, :1, :]
    ratios = m / np.where(smallest > 0, smallest, np.nan)  # (R, half, H)
    expected = (2.0 ** np.arange(half))[None, :, None]
    with np.errstate(invalid="ignore"):
        deviation = np.abs(ratios / expected - 1).max(axis=(1, 2))
    deviation = np.where(np.isfinite(deviation), deviation, np.inf)
    median_ratio = np.median(ratios, axis=2)  # (R, half)
    return CheckResult(
        "ratio_124", "1:2:4 ratio",
        f"sorted side magnitudes of every {group} unit within ±{tolerance:.0%} of "
        + ":".join(str(2**k) for k in range(half)),
        deviation <= tolerance,
        {"deviation": deviation, "ratio": median_ratio},
    )


# ----------------------------------------------------------------------------
# Parity (PDP Fig. 6, Table 3)
# ----------------------------------------------------------------------------


@register("count_code")
def count_code(net: Network, task: Task, *, group: str | None = None) -> CheckResult:
    """Which hidden units are on depends only on the number of on inputs, monotonically.

    With ``C_c`` the set of on units (activation > 0.5) for inputs with ``c`` bits
    on, a replica passes when (1) all inputs with the same count give the same
    set and (2) the sets are strictly nested in one direction,
    ``C_0 ⊂ C_1 ⊂ … ⊂ C_n`` (Fig. 6's thermometer) or ``C_0 ⊃ C_1 ⊃ … ⊃ C_n``
    (Table 3's mirror image: 1111, 1011, 1010, 0010, 0000).
    """
    H = hidden_activity(net, task, [group] if group else None) > ON  # (R, N, h)
    counts = task.inputs.sum(axis=1).round().astype(int)  # (N,)
    levels = np.unique(counts)
    first = np.array([np.flatnonzero(counts == c)[0] for c in levels])
    per_count = H[:, first, :]  # (R, n_levels, h)
    expected = per_count[:, np.searchsorted(levels, counts), :]  # (R, N, h)
    consistent = np.all(expected == H, axis=(1, 2))
    a, b = per_count[:, :-1, :], per_count[:, 1:, :]
    changes = np.any(a != b, axis=2).all(axis=1)  # every step changes the code
    up = np.all(a <= b, axis=(1, 2)) & changes  # C_c ⊆ C_{c+1}
    down = np.all(a >= b, axis=(1, 2)) & changes
    distinct = np.array([len({tuple(row) for row in r}) for r in per_count])
    return CheckResult(
        "count_code", "count code",
        "on-units depend only on the number of on inputs and are nested, monotone in it",
        consistent & (up | down),
        {"consistent": consistent, "monotone": up | down, "codes": distinct},
    )


# ----------------------------------------------------------------------------
# Encoders (PDP Tables 5 and 7; the handbook's 4-2-4)
# ----------------------------------------------------------------------------


@register("distinct_codes")
def distinct_codes(
    net: Network, task: Task, *, group: str | None = None, min_distance: float = 0.2,
) -> CheckResult:
    """Every pattern gets its own hidden code.

    The distance between two codes is the largest difference in any one unit
    (L∞); a replica passes when the closest pair of patterns is at least
    ``min_distance`` apart. ``levels`` counts the distinct codes after rounding
    each activation to 0, 0.5 or 1 (PDP Table 5 uses all three).
    """
    H = hidden_activity(net, task, [group] if group else None)  # (R, N, h)
    diff = np.abs(H[:, :, None, :] - H[:, None, :, :]).max(axis=-1)  # (R, N, N)
    n = H.shape[1]
    diff[:, np.arange(n), np.arange(n)] = np.inf
    closest = diff.min(axis=(1, 2))
    rounded = np.round(H * 2) / 2
    levels = np.array([len({tuple(row) for row in r}) for r in rounded])
    where = group or "hidden"
    return CheckResult(
        "distinct_codes", "distinct codes",
        f"the {n} patterns' {where} codes pairwise at least {min_distance:g} apart in some unit",
        closest >= min_distance,
        {"closest": closest, "rounded_codes": levels},
    )


# ----------------------------------------------------------------------------
# Binary addition (PDP Figs 10-11)
# ----------------------------------------------------------------------------


def _operands(task: Task) -> tuple[Array, Array, int]:
    """The two numbers of each addition case and their width in bits."""
    n = task.n_inputs
    if n % 2 or task.n_outputs != n // 2 + 1:
        raise ConfigError(
            f"task {task.name!r} is not an addition task (2·bits inputs, bits + 1 outputs)"
        )
    bits = n // 2
    return from_bits(task.inputs[:, :bits]), from_bits(task.inputs[:, bits:]), bits


def carries(task: Task) -> Array:
    """``(bits, N)``: carry out of bit ``k`` (0 = lowest) for every case of an addition task."""
    a, b, bits = _operands(task)
    return np.array([((a % (2 << k)) + (b % (2 << k))) >> (k + 1) & 1 for k in range(bits)])


@register("carry_units")
def carry_units(net: Network, task: Task) -> CheckResult:
    """Hidden units that carry the carry bits (PDP Fig. 10: "the hidden units are the carries").

    Hidden unit ``u`` (on/off, ``g_u``) carries carry ``k`` (``c_k``, 0/1 per case)
    when ``c_k`` is *exactly* a linear function of the inputs and ``g_u``:
    ``c_k = β + Σ_i γ_i x_i + α g_u`` on every case (least squares, residual
    below 1e-6). The carry itself, its inverse, and equivalents such as
    ``NOR(a0, b0)`` for ``c_0 = AND(a0, b0) = a0 + b0 − 1 + NOR(a0, b0)`` all
    qualify; no carry is linear in the inputs alone. A replica passes when every
    carry has its own unit.
    """
    H = (hidden_activity(net, task) > ON).astype(float)  # (R, N, h)
    C = carries(task).astype(float)  # (bits, N)
    base = np.column_stack([np.ones(task.n_cases), task.inputs])  # (N, 1 + n_in)
    R, _, h = H.shape
    M = np.zeros((R, C.shape[0], h), dtype=bool)
    for r in range(R):
        for u in range(h):
            A = np.column_stack([base, H[r, :, u]])
            coef, *_ = np.linalg.lstsq(A, C.T, rcond=None)  # (1 + n_in + 1, bits)
            M[r, :, u] = np.abs(A @ coef - C.T).max(axis=0) < 1e-6
    found = M.any(axis=2).sum(axis=1)
    distinct = np.array([_has_matching(m) for m in M])
    return CheckResult(
        "carry_units", "carry units",
        f"each of the {C.shape[0]} carries is exactly linear in the inputs and its own hidden unit",
        distinct, {"carries_found": found},
    )


def _has_matching(M: Array) -> bool:
    """Whether every row (carry) can be given a distinct column (unit) with ``M`` true."""
    rows, cols = M.shape
    owner = [-1] * cols

    def assign(r: int, seen: list[bool]) -> bool:
        for c in range(cols):
            if M[r, c] and not seen[c]:
                seen[c] = True
                if owner[c] < 0 or assign(owner[c], seen):
                    owner[c] = r
                    return True
        return False

    return all(assign(r, [False] * cols) for r in range(rows))


@register("local_minimum_11_11")
def local_minimum_11_11(net: Network, task: Task) -> CheckResult:
    """PDP's local minimum: every sum right except the one of the two largest numbers.

    A replica is in it when every output of every case is on the right side of
    0.5 except on the case 11 + 11 (all input bits on), where at least one output
    is wrong. ``answer`` is what it outputs there, as an integer (PDP: 100 = 4
    instead of 110 = 6).
    """
    _operands(task)
    Y = net.predict(task.inputs) > ON  # (R, N, n_out)
    D = task.targets > ON
    wrong = np.any(Y != D, axis=2)  # (R, N)
    last = np.flatnonzero(np.all(task.inputs > ON, axis=1))
    if last.size != 1:
        raise ConfigError(f"task {task.name!r} has no case with every input on")
    k = int(last[0])
    others = np.delete(wrong, k, axis=1)
    stuck = wrong[:, k] & ~others.any(axis=1)
    answer = from_bits(Y[:, k, :])  # (R,)
    width = Y.shape[2]
    seen = np.unique(answer[stuck], return_counts=True)
    detail = ", ".join(f"{int(a):0{width}b} ×{int(n)}" for a, n in zip(*seen, strict=True))
    return CheckResult(
        "local_minimum_11_11", "stuck at 11+11",
        f"every case right except {task.labels[k]} (the local minimum)",
        stuck, {"answer": answer, "wrong_cases": wrong.sum(axis=1)}, among="all",
        detail=f"answers there: {detail}" if detail else "",
    )


# ----------------------------------------------------------------------------
# Negation (PDP Fig. 12, Table 9)
# ----------------------------------------------------------------------------


def input_dependencies(net: Network, relative: float = 0.2) -> dict[str, Array]:
    """Which inputs reach each unit through significant weights: ``(R, n, n_inputs)`` per group.

    A connection is significant when ``|w| ≥ relative · max |w|`` over every
    weight into the same unit (biases excluded). Input unit ``i`` reaches a unit
    when a path of significant connections leads from it; inputs are numbered
    across the input groups in order.
    """
    R = net.replicas
    n_in = net.n_inputs
    reach: dict[str, Array] = {}
    start = 0
    for name in net.inputs:
        size = net.group(name).size
        r = np.zeros((R, size, n_in), dtype=bool)
        r[:, np.arange(size), start + np.arange(size)] = True
        reach[name] = r
        start += size
    for g in net.groups:
        if g.is_input:
            continue
        incoming = net.into[g.name]
        largest = np.zeros((R, g.size))
        for p in incoming:
            largest = np.maximum(largest, np.abs(net.params[p.param]).max(axis=1))
        out = np.zeros((R, g.size, n_in), dtype=bool)
        for p in incoming:
            sig = np.abs(net.params[p.param]) >= relative * largest[:, None, :]  # (R, n_src, n)
            sig &= np.abs(net.params[p.param]) > 0
            # unit j reached by input k if some significant source i is reached by k
            out |= np.einsum("rij,rik->rjk", sig.astype(float), reach[p.source].astype(float)) > 0
        reach[g.name] = out
    return reach


@register("three_xors")
def three_xors(net: Network, task: Task, *, relative: float = 0.2) -> CheckResult:
    """Negation reduces to separate XORs of the flag (input 0) with each data bit.

    Output ``k`` must be reached (:func:`input_dependencies`, connections of at
    least ``relative`` of the largest into a unit) by exactly two inputs: the
    flag and data bit ``k``. All other paths carry weights near zero ("the net
    set all other weights to zero").
    """
    n_out = task.n_outputs
    if task.n_inputs != n_out + 1:
        raise ConfigError(f"task {task.name!r} is not a negation task (1 flag + n data bits → n)")
    reach = input_dependencies(net, relative)
    out = np.concatenate([reach[n] for n in net.outputs], axis=1)  # (R, n_out, n_in)
    wanted = np.zeros((n_out, n_out + 1), dtype=bool)
    wanted[:, 0] = True
    wanted[np.arange(n_out), np.arange(n_out) + 1] = True
    exact = np.all(out == wanted[None], axis=2)  # (R, n_out)
    return CheckResult(
        "three_xors", f"{n_out} separate XORs",
        f"output k depends on the flag and data bit k only (connections ≥ {relative:.0%} of "
        "the largest into a unit)",
        exact.all(axis=1), {"separate_outputs": exact.sum(axis=1)},
    )


# Checks kept in their own modules register themselves on import.
from backprop86 import structure_family  # noqa: E402,F401  (family_units)
