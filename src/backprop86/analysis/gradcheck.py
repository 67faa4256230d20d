"""Gradient checking: the backward pass (eqs. 5–7) against central differences of the error.

For every parameter array ``w`` (a projection's weights, a tied array, a bias)
and every replica ``r`` the checker compares the analytic gradient ``g = ∂E/∂w``
from :meth:`Network.backward` with the central difference

    ``n_k = (E(w + h e_k) − E(w − h e_k)) / 2h``

for every entry ``k`` that exists (masked-out connections are not parameters),
or, for arrays with more than ``max_entries`` entries, with the directional
derivative along ``K`` random unit directions ``v``,

    ``(E(w + h v) − E(w − h v)) / 2h``  against  ``g · v``.

The figure of merit per array and replica is the *relative error*

    ``max_k |g_k − n_k| / max(max_k (|g_k| + |n_k|), tiny)``,

which is scale-free and ≈ 1e-9 or less for a correct float64 backward pass of a
small smooth network; a wrong sign, a missing factor or a missing path gives a
value of order 1. An array passes when

    ``max_k |g_k − n_k| ≤ threshold · max_k (|g_k| + |n_k|) + noise``,

where ``noise = 100 · ε · |E| / h`` (``ε`` the float64 spacing at 1) allows for
the rounding of the two error values that are subtracted: the central
difference is exact to ``O(h²)``, but ``E`` itself carries a rounding error of a
few ``ε · |E|`` (more when it sums thousands of terms), and dividing by ``2h``
magnifies it. This matters for large tasks whose first-layer gradients are small
beside ``E`` (family trees: ``E ≈ 110``, gradients ≈ 3e-3, relative error ≈ 1e-5
from rounding alone at ``h = 1e-6``). The check always runs in float64,
whatever the network's dtype.

Replicas are independent, so one perturbation of entry ``k`` in every replica at
once gives all ``R`` central differences from two forward passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.functions import ErrorFunction, error_function
from backprop86.network import Activity, Network, slot_group, slot_label

#: Default pass mark for the relative error of a float64 check (see the module docstring).
THRESHOLD = 1e-6
#: Rounding allowance of a central difference, in units of ``ε · |E| / h``.
NOISE_FACTOR = 100.0
#: Arrays with more entries than this are checked along random directions by default.
MAX_ENTRIES = 200
#: "1 entry", "1 direction".
_SINGULAR = {"entries": "entry", "directions": "direction"}
#: Random directions per array when it is checked that way and ``directions`` is not given.
DEFAULT_DIRECTIONS = 16


@dataclass(frozen=True)
class GradcheckRow:
    """The check of one parameter array over all replicas.

    ``entries``: entries (or random directions) checked per replica; ``method``:
    ``"entries"`` or ``"directions"``. Per replica ``(R,)``: ``rel_err``, the
    relative error; ``abs_err``, ``max |analytic − numeric|``; ``scale``,
    ``max (|analytic| + |numeric|)``; ``noise``, the rounding allowance.
    """

    param: str
    kind: str
    entries: int
    method: str
    rel_err: Array
    abs_err: Array
    scale: Array
    noise: Array

    @property
    def max_rel_err(self) -> float:
        return float(np.max(self.rel_err))

    def passes(self, threshold: float) -> bool:
        """``abs_err ≤ threshold · scale + noise`` in every replica."""
        return bool(np.all(self.abs_err <= threshold * self.scale + self.noise))

    @property
    def worst_replica(self) -> int:
        return int(np.argmax(self.rel_err))


@dataclass
class GradcheckReport:
    """Rows per parameter array, the pass mark, and the verdict."""

    rows: list[GradcheckRow]
    threshold: float
    eps: float
    replicas: int
    tie_rule: str = "sum"
    notes: list[str] = field(default_factory=list)

    @property
    def max_rel_err(self) -> float:
        return max((row.max_rel_err for row in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        """Every array of every replica agrees within ``threshold`` (plus rounding noise)."""
        return all(row.passes(self.threshold) for row in self.rows)

    @property
    def failures(self) -> list[GradcheckRow]:
        return [row for row in self.rows if not row.passes(self.threshold)]

    @property
    def verdict(self) -> str:
        if self.passed:
            if self.max_rel_err <= self.threshold:
                how = f"max relative error {self.max_rel_err:.2e} <= {self.threshold:.0e}"
            else:
                how = (
                    f"max relative error {self.max_rel_err:.2e}, within the rounding noise "
                    "of the differences"
                )
            return f"PASS: every gradient agrees with central differences ({how})"
        names = ", ".join(row.param for row in self.failures)
        return (
            f"FAIL: the backward pass disagrees with central differences for {names} "
            f"(max relative error {self.max_rel_err:.2e} > {self.threshold:.0e})"
        )

    def format(self) -> str:
        """A table, one row per parameter array, then the notes and the verdict."""
        width = max([len("parameter"), *(len(row.param) for row in self.rows)])
        kind_w = max([len("kind"), *(len(row.kind) for row in self.rows)])
        header = (
            f"{'parameter':<{width}}  {'kind':<{kind_w}}  {'checked':>14}  "
            f"{'max rel err':>11}  {'max abs err':>11}  {'noise':>8}"
        )
        if self.replicas > 1:
            header += "  worst replica"  # counted from 1, as every output counts
        lines = [
            f"gradient check: central differences, h = {self.eps:g}, float64, "
            f"{self.replicas} replica{'s' if self.replicas > 1 else ''}, "
            f"tied weights: {self.tie_rule}",
            "",
            header,
        ]
        for row in self.rows:
            unit = row.method if row.entries != 1 else _SINGULAR[row.method]
            checked = f"{row.entries} {unit}"
            line = (
                f"{row.param:<{width}}  {row.kind:<{kind_w}}  {checked:>14}  "
                f"{row.max_rel_err:>11.2e}  {float(np.max(row.abs_err)):>11.2e}  "
                f"{float(np.max(row.noise)):>8.1e}"
            )
            if self.replicas > 1:
                line += f"  {row.worst_replica + 1:>13d}"  # replicas counted from 1
            if not row.passes(self.threshold):
                line += "  <-- wrong"
            lines.append(line)
        if self.notes:
            lines += ["", *(f"note: {n}" for n in self.notes)]
        lines += [
            "",
            f"threshold {self.threshold:.0e} (relative error), plus a rounding allowance "
            f"noise = {NOISE_FACTOR:g}·eps·|E|/h on the absolute error",
            self.verdict,
        ]
        return "\n".join(lines)


def _error_of(error: str | ErrorFunction) -> ErrorFunction:
    return error_function(error) if isinstance(error, str) else error


def _kind(net: Network, name: str) -> str:
    """``weights``, ``bias``, ``tied xK`` (K uses: projections, and steps of a recurrent net),
    ``masked``."""
    count = net.uses.get(name, 1)
    if name.startswith("b:"):
        return "bias" + (f", tied x{count}" if count > 1 else "") + (
            ", one shared" if name in net.shares else "")
    parts = []
    if count > 1:
        parts.append(f"tied x{count}")
    if name in net.shares:
        k = int(net.shares[name].max()) + 1
        parts.append(f"shared: {k} weight{'s' if k > 1 else ''}")
    elif name in net.masks:
        parts.append("masked")
    return ", ".join(parts) or "weights"


def numeric_gradient(
    net: Network,
    X: Array,
    D: Array,
    error: str | ErrorFunction = "sse",
    care: Array | None = None,
    *,
    eps: float = 1e-6,
) -> dict[str, Array]:
    """Central differences ``(E(w + h e_k) − E(w − h e_k)) / 2h`` for every parameter entry.

    Returns arrays shaped like ``net.params`` (``(R, …)``), in float64. Masked-out
    connections get 0 (they are not parameters). ``net`` is left unchanged.
    """
    work = net.copy(np.float64)
    err = _error_of(error)
    out: dict[str, Array] = {}
    for name, w in work.params.items():
        g = np.zeros_like(w)
        for where in _entries(w, work.masks.get(name), work.shares.get(name)):
            g[where] = _central(work, w, where, 1.0, X, D, err, care, eps)[:, None]
        out[name] = g
    return out


def _entries(w: Array, mask: Array | None, share: Array | None = None) -> Iterator[tuple]:
    """The index of every parameter of array ``w``, in all replicas at once: ``(:, [i], [j],
    …)`` for an entry that exists (masked-out connections are not parameters), or, for
    weights shared within the array, ``(:, rows, cols)`` picking every copy of one shared
    weight (so that a step moves them all, as the one parameter they are)."""
    if share is not None:
        for k in range(int(share.max()) + 1):
            yield (slice(None), *np.nonzero(share == k))
        return
    for k in np.ndindex(*w.shape[1:]):
        if mask is None or mask[(0, *k)]:
            yield (slice(None), *([i] for i in k))


def _central(
    net: Network,
    w: Array,
    where: tuple | None,
    v: float | Array,
    X: Array,
    D: Array,
    err: ErrorFunction,
    care: Array | None,
    eps: float,
) -> Array:
    """``(E(w + h v) − E(w − h v)) / 2h`` per replica; ``where`` picks entries (None: all)."""
    saved = w.copy()
    sel = slice(None) if where is None else where
    w[sel] = saved[sel] + eps * v
    plus = net.error(net.forward(X), D, err, care)
    w[sel] = saved[sel] - eps * v
    minus = net.error(net.forward(X), D, err, care)
    w[...] = saved
    return (plus - minus) / (2.0 * eps)


def gradcheck(
    net: Network,
    X: Array,
    D: Array,
    error: str | ErrorFunction = "sse",
    care: Array | None = None,
    *,
    eps: float = 1e-6,
    directions: int | None = None,
    seed: int = 0,
    tie_rule: str = "sum",
    threshold: float = THRESHOLD,
    max_entries: int = MAX_ENTRIES,
) -> GradcheckReport:
    """Check ``net``'s backward pass on the cases ``X, D`` (and ``care``) with central differences.

    Parameters
    ----------
    net:
        Any network, any number of replicas; it is not changed.
    X, D, care:
        Inputs ``(N, n_in)`` or ``(R, N, n_in)``, targets ``(N, n_out)`` or
        ``(R, N, n_out)``, optional 0/1 "care" mask shaped like ``D``.
    error:
        An error function or its name (``sse``, ``tss``, ``mse``,
        ``cross_entropy``, ``dead_zone``).
    eps:
        The step ``h`` of the central difference.
    directions:
        ``None``: every entry of arrays with at most ``max_entries`` entries,
        ``16`` random directions for larger ones. An integer ``K``: ``K`` random
        directions for every array with more than ``K`` entries (every entry
        otherwise).
    seed:
        Seed of the random directions.
    tie_rule:
        ``"sum"`` checks the true gradient of tied arrays; ``"mean"`` checks
        Nature's averaged rule, i.e. the true gradient divided by the array's
        uses (:attr:`Network.uses`: its projections, times the steps of a
        recurrent network).
    threshold:
        Pass mark for the relative error.
    """
    if not eps > 0:
        raise ConfigError(f"eps must be a number > 0, got {eps!r}")
    if directions is not None and (isinstance(directions, bool) or int(directions) < 1):
        raise ConfigError(f"directions must be a positive integer or None, got {directions!r}")
    if tie_rule not in ("sum", "mean"):
        raise ConfigError(f"tie_rule must be 'sum' or 'mean', got {tie_rule!r}")
    work = net.copy(np.float64)
    err = _error_of(error)
    activity = work.forward(X)
    E = np.abs(work.error(activity, D, err, care))  # (R,)
    analytic = work.backward(
        activity, work.output_deltas(activity, D, err, care), tie_rule=tie_rule
    )
    rng = np.random.default_rng(seed)
    R = work.replicas
    tiny = np.finfo(np.float64).tiny
    rows: list[GradcheckRow] = []
    for name, w in work.params.items():
        g = analytic[name]
        mask, share = work.masks.get(name), work.shares.get(name)
        n_entries = (int(np.prod(w.shape[1:])) if mask is None and share is None
                     else int(share.max()) + 1 if share is not None else int(mask.sum()))
        scale = 1.0 / work.uses.get(name, 1) if tie_rule == "mean" else 1.0
        limit = max_entries if directions is None else int(directions)
        a_list, n_list = [], []  # analytic and numeric derivatives, (R,) each
        if n_entries <= limit:
            method, count = "entries", n_entries
            for where in _entries(w, mask, share):
                # a shared weight's copies all carry its gradient (Σ over copies; the mean
                # rule divides by their number too): compare the first copy's
                copies = where[1].size if share is not None and tie_rule == "mean" else 1
                n_list.append(scale / copies
                              * _central(work, w, where, 1.0, X, D, err, care, eps))
                a_list.append(g[where][:, 0])
        else:
            method = "directions"
            count = DEFAULT_DIRECTIONS if directions is None else int(directions)
            for _ in range(count):
                if share is not None:  # a direction in the shared weights, spread to copies
                    u = rng.standard_normal((R, int(share.max()) + 1))
                    u /= np.sqrt(np.sum(u * u, axis=1, keepdims=True))
                    v = np.where(share >= 0, u[:, share], 0.0)
                    first = [np.flatnonzero(share.reshape(-1) == k)[0] for k in range(u.shape[1])]
                    copies = (np.bincount(share[share >= 0]) if tie_rule == "mean"
                              else np.ones(u.shape[1]))
                    n_list.append(scale * _central(work, w, None, v, X, D, err, care, eps))
                    a_list.append(np.sum(g.reshape(R, -1)[:, first] * u * copies, axis=1))
                    continue
                v = rng.standard_normal(w.shape)
                if mask is not None:
                    v *= mask
                v /= np.sqrt(np.sum(v * v, axis=tuple(range(1, v.ndim)), keepdims=True))
                n_list.append(scale * _central(work, w, None, v, X, D, err, care, eps))
                a_list.append(np.sum(g * v, axis=tuple(range(1, v.ndim))))
        a = np.stack(a_list, axis=1) if a_list else np.zeros((R, 0))  # (R, checked)
        n = np.stack(n_list, axis=1) if n_list else np.zeros((R, 0))
        diff = np.abs(a - n).max(axis=1, initial=0.0)
        size = (np.abs(a) + np.abs(n)).max(axis=1, initial=0.0)
        rel = diff / np.maximum(size, tiny)
        noise = scale * NOISE_FACTOR * np.finfo(np.float64).eps * E / eps
        rows.append(GradcheckRow(name, _kind(work, name), count, method, rel, diff, size, noise))
    return GradcheckReport(rows, threshold, eps, R, tie_rule, _kink_notes(work, activity, eps))


def _kink_notes(net: Network, activity: Activity, eps: float) -> list[str]:
    """Warn when a ReLU net input is so close to 0 that a central difference may cross the kink."""
    notes = []
    for slot, x in activity.x.items():  # every group (and step) that computed a net input
        if net.group(slot_group(slot)).activation == "relu":
            closest = float(np.min(np.abs(x))) if x.size else np.inf
            if closest < 100 * eps:
                notes.append(
                    f"{slot_label(slot)} (relu) has a net input {closest:.1e} from the kink "
                    "at 0; a central difference there is unreliable"
                )
    return notes


__all__ = ["GradcheckReport", "GradcheckRow", "gradcheck", "numeric_gradient"]
