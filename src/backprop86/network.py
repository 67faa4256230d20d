"""The paper's network: groups of units, projections between them, and eqs. (1)–(7).

Rumelhart, Hinton & Williams (Nature 323, 1986) describe units that take weighted
input from any units below them, connections that may skip layers, and a backward
pass that sums error over every connection leaving a unit. We model exactly that
at the level of *groups* of units (DESIGN §1):

* :class:`Group` — ``n`` units sharing one activation and an optional bias;
  input groups have no activation.
* :class:`Projection` — a weight matrix from a source group to a target group,
  optionally with a fixed 0/1 ``mask`` and optionally *tied* to other
  projections (they share one weight array).
* :class:`Network` — groups in topological order plus projections.

Every array carries a leading replica axis ``R`` (DESIGN §2): weights are
``(R, n_src, n_tgt)``, biases ``(R, 1, n_tgt)``, activations ``(R, N, n)``.
One code path serves one network (``R = 1``) and ten thousand.

Notation, used everywhere in the package (engines and compiled loops included):
``W[r, i, j]`` is the paper's ``w_ji``, the weight *from* unit ``i`` of the
source group *to* unit ``j`` of the target group, in replica ``r``; so eq. (1)'s
``x_j = Σ_i y_i w_ji`` is ``x = y @ W`` and eq. (7)'s ``Σ_j ∂E/∂x_j · w_ji`` is
``∂E/∂x @ Wᵀ``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.functions import Activation, ErrorFunction, activation
from backprop86.resources import check, weights_estimate


@dataclass(frozen=True)
class Group:
    """A named set of ``size`` units: one activation (``None`` for inputs), an optional bias."""

    name: str
    size: int
    activation: str | None = "logistic"
    bias: bool = True

    @property
    def is_input(self) -> bool:
        return self.activation is None


@dataclass(frozen=True, eq=False)
class Projection:
    """Weights from group ``source`` to group ``target``: an ``(n_src, n_tgt)`` matrix per replica.

    ``mask`` (0/1, shape ``(n_src, n_tgt)``) marks the connections that exist;
    projections with the same ``tie`` name share one weight array.
    """

    source: str
    target: str
    mask: Array | None = field(default=None, repr=False)
    tie: str | None = None

    def __post_init__(self) -> None:
        if self.mask is not None:  # nested lists too: every reader indexes mask[i, j]
            object.__setattr__(self, "mask", np.asarray(self.mask))

    @cached_property
    def param(self) -> str:
        """Name of the weight array this projection uses."""
        return self.tie if self.tie is not None else f"w:{self.source}->{self.target}"


def bias_param(group: str) -> str:
    """Name of a group's bias array."""
    return f"b:{group}"


@dataclass
class Activity:
    """The forward pass of a batch: net inputs ``x`` and outputs ``y`` per group, ``(R, N, n)``."""

    x: dict[str, Array]
    y: dict[str, Array]


class Network:
    """Groups in topological order, projections between them, and ``R`` replicas of the weights.

    Parameters
    ----------
    groups:
        Groups in topological order (every projection goes from an earlier group
        to a later one). Groups without activation are inputs.
    projections:
        The weight matrices. Several may share one array through ``tie``.
    replicas:
        ``R``, the number of independent networks held in the same arrays.
    outputs:
        Names of the groups whose activity is compared with targets; default:
        the last group.
    dtype:
        ``float64`` (default) or ``float32``.
    """

    def __init__(
        self,
        groups: Sequence[Group],
        projections: Sequence[Projection],
        *,
        replicas: int = 1,
        outputs: Sequence[str] | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.groups: tuple[Group, ...] = tuple(groups)
        self.projections: tuple[Projection, ...] = tuple(projections)
        self.replicas = _positive_int(replicas, "replicas")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ConfigError(f"dtype must be float64 or float32, got {self.dtype}")
        self._by_name = {g.name: g for g in self.groups}
        self.inputs: tuple[str, ...] = tuple(g.name for g in self.groups if g.is_input)
        default = (self.groups[-1].name,) if self.groups else ()
        self.outputs: tuple[str, ...] = tuple(outputs) if outputs is not None else default
        self._validate()
        self.functions: dict[str, Activation] = {
            g.name: activation(g.activation) for g in self.groups if not g.is_input
        }
        self.into: dict[str, list[Projection]] = {g.name: [] for g in self.groups}
        self.out_of: dict[str, list[Projection]] = {g.name: [] for g in self.groups}
        for p in self.projections:
            self.into[p.target].append(p)
            self.out_of[p.source].append(p)
        #: Fixed 0/1 masks per weight array (``(1, n_src, n_tgt)``), for masked projections.
        self.masks: dict[str, Array] = {
            p.param: np.asarray(p.mask, dtype=self.dtype)[None] for p in self.projections
            if p.mask is not None
        }
        #: How many projections use each weight array (``> 1`` means tied).
        self.tie_counts: dict[str, int] = {}
        for p in self.projections:
            self.tie_counts[p.param] = self.tie_counts.get(p.param, 0) + 1
        shapes = self.param_shapes()
        check(weights_estimate(self.replicas, sum(int(np.prod(s)) for s in shapes.values()),
                               self.dtype.name),
              f"a network of {self.replicas:,} replicas", {"replicas": "replicas"})
        self.params: dict[str, Array] = {
            name: np.zeros((self.replicas, *shape), dtype=self.dtype)
            for name, shape in shapes.items()
        }

    # ------------------------------------------------------------------ building

    @classmethod
    def mlp(
        cls,
        sizes: Sequence[int],
        *,
        activation: str = "logistic",
        output_activation: str | None = None,
        bias: bool = True,
        replicas: int = 1,
        dtype: np.dtype | type = np.float64,
    ) -> Network:
        """A plain chain ``sizes[0] → sizes[1] → … → sizes[-1]``.

        Groups are named ``input``, ``hidden1``, ``hidden2``, …, ``output``.
        ``Network.mlp([2, 4, 1], bias=False)`` is the article's network.
        """
        groups = mlp_groups(sizes, activation=activation, output_activation=output_activation,
                            bias=bias)
        return cls(groups, chain(g.name for g in groups), replicas=replicas, dtype=dtype)

    def _validate(self) -> None:
        if not self.groups:
            raise ConfigError("a network needs at least one group")
        seen: dict[str, int] = {}
        for i, g in enumerate(self.groups):
            if g.name in seen:
                raise ConfigError(f"group name {g.name!r} is used twice")
            _positive_int(g.size, f"size of group {g.name!r}")
            seen[g.name] = i
        if not self.inputs:
            raise ConfigError("a network needs at least one input group (activation None)")
        for name in self.outputs:
            if name not in seen:
                raise ConfigError(f"output group {name!r} is not a group of this network")
            if self._by_name[name].is_input:
                raise ConfigError(f"output group {name!r} is an input group")
        shapes: dict[str, tuple[tuple[int, int], Array | None]] = {}
        for p in self.projections:
            for end in (p.source, p.target):
                if end not in seen:
                    raise ConfigError(f"projection {p.source}->{p.target}: no group {end!r}")
            if seen[p.source] >= seen[p.target]:
                raise ConfigError(
                    f"projection {p.source}->{p.target} goes backwards or to itself; "
                    "groups must be listed in topological order (unroll recurrent nets)"
                )
            if self._by_name[p.target].is_input:
                raise ConfigError(f"projection {p.source}->{p.target} feeds an input group")
            shape = (self._by_name[p.source].size, self._by_name[p.target].size)
            if p.mask is not None:
                m = np.asarray(p.mask)
                if m.shape != shape:
                    raise ShapeError(
                        f"mask of {p.source}->{p.target} has shape {m.shape}, expected {shape}"
                    )
                if not np.isin(m, (0, 1)).all():
                    raise ConfigError(f"mask of {p.source}->{p.target} must hold only 0 and 1")
            if p.param in shapes:
                other_shape, other_mask = shapes[p.param]
                if other_shape != shape:
                    raise ShapeError(
                        f"tied projections {p.param!r} need one shape: {other_shape} and {shape}"
                    )
                same_mask = (other_mask is None and p.mask is None) or (
                    other_mask is not None
                    and p.mask is not None
                    and np.array_equal(other_mask, p.mask)
                )
                if not same_mask:
                    raise ConfigError(f"tied projections {p.param!r} need the same mask")
            else:
                shapes[p.param] = (shape, p.mask)
        for g in self.groups:
            if not g.is_input and not any(p.target == g.name for p in self.projections):
                raise ConfigError(f"group {g.name!r} receives no projection")

    # ------------------------------------------------------------------ parameters

    def group(self, name: str) -> Group:
        return self._by_name[name]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape (without the replica axis) of every parameter, weights first, then biases."""
        shapes: dict[str, tuple[int, ...]] = {}
        for p in self.projections:
            shapes.setdefault(p.param, (self._by_name[p.source].size, self._by_name[p.target].size))
        for g in self.groups:
            if g.bias and not g.is_input:
                shapes[bias_param(g.name)] = (1, g.size)
        return shapes

    @property
    def hidden(self) -> tuple[str, ...]:
        """Groups that are neither inputs nor outputs, in topological order."""
        return tuple(g.name for g in self.groups if not g.is_input and g.name not in self.outputs)

    @property
    def n_inputs(self) -> int:
        return sum(self._by_name[n].size for n in self.inputs)

    @property
    def n_outputs(self) -> int:
        return sum(self._by_name[n].size for n in self.outputs)

    def set_params(self, values: Mapping[str, Array]) -> None:
        """Replace parameters (broadcast over replicas); masked connections are forced to 0."""
        for name, value in values.items():
            if name not in self.params:
                raise ConfigError(
                    f"unknown parameter {name!r}; this network has {', '.join(self.params)}"
                )
            target = self.params[name]
            try:
                v = np.asarray(value, dtype=self.dtype)
            except (TypeError, ValueError):
                raise DataError(f"parameter {name!r} must hold numbers, got {value!r}") from None
            if not np.all(np.isfinite(v)):
                raise DataError(f"parameter {name!r} holds a non-finite value (NaN or inf)")
            if v.shape != target.shape[1:] and v.shape != target.shape:
                raise ShapeError(
                    f"parameter {name!r} has shape {v.shape}, expected {target.shape[1:]} "
                    f"or {target.shape}"
                )
            target[...] = v
            if name in self.masks:
                target *= self.masks[name]

    def copy(self, dtype: np.dtype | type | None = None) -> Network:
        """A new network with the same structure and a copy of the parameters, in ``dtype``
        (default: this network's)."""
        twin = Network(
            self.groups, self.projections, replicas=self.replicas,
            outputs=self.outputs, dtype=self.dtype if dtype is None else dtype,
        )
        twin.set_params(self.params)
        return twin

    # ------------------------------------------------------------------ data

    def split(self, a: Array, names: Sequence[str], what: str) -> dict[str, Array]:
        """Split ``(N, n_total)`` or ``(R, N, n_total)`` columns into per-group ``(·, N, n)``."""
        given = np.shape(a)
        a = np.asarray(a)
        total = sum(self._by_name[n].size for n in names)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[-1] != total or a.shape[0] not in (1, self.replicas):
            raise ShapeError(
                f"{what} have shape {given}, "
                f"expected (cases, {total}) or ({self.replicas}, cases, {total})"
            )
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise DataError(f"{what} must be real numbers, got dtype {a.dtype}")
        a = a.astype(self.dtype, copy=False)
        out: dict[str, Array] = {}
        start = 0
        for n in names:
            size = self._by_name[n].size
            out[n] = a[..., start:start + size]
            start += size
        return out

    # ------------------------------------------------------------------ the equations

    def forward(self, X: Array | Mapping[str, Array]) -> Activity:
        """Forward pass, eqs. (1)–(2), group by group in topological order.

        ``X``: ``(N, n_in)`` (shared by all replicas) or ``(R, N, n_in)``, or a
        mapping from input-group name to such arrays.
        """
        xs = self._input_map(X) if isinstance(X, Mapping) else self.split(X, self.inputs, "inputs")
        return self.propagate(xs)

    def propagate(self, xs: Mapping[str, Array]) -> Activity:
        """Eqs. (1)–(2) from inputs already split per input group and checked (by
        :meth:`split` or :meth:`check_cases`): ``xs[name]`` ``(1 or R, N, n)`` in the dtype."""
        net: dict[str, Array] = {}
        y: dict[str, Array] = dict(xs)
        for g in self.groups:
            if g.is_input:
                continue
            first, *more = self.into[g.name]
            x = y[first.source] @ self.params[first.param]  # eq (1): (R,N,n_src)@(R,n_src,n)
            for p in more:
                x += y[p.source] @ self.params[p.param]  # eq (1), more sources: skip links
            if g.bias:
                x += self.params[bias_param(g.name)]  # eq (1) bias: (R,1,n) broadcast over cases
            net[g.name] = x
            y[g.name] = self.functions[g.name].forward(x)  # eq (2): y = f(x), (R,N,n)
        return Activity(net, y)

    def _input_map(self, X: Mapping[str, Array]) -> dict[str, Array]:
        """Check a mapping ``{input group: (N, n) or (R, N, n)}`` as :meth:`split` checks arrays."""
        if set(X) != set(self.inputs):
            raise ShapeError(
                f"inputs given for groups {sorted(X)}, expected exactly the input groups "
                f"{list(self.inputs)}"
            )
        out = {name: self.split(X[name], [name], f"inputs of group {name!r}")[name]
               for name in self.inputs}
        cases = {a.shape[-2] for a in out.values()}
        if len(cases) > 1:
            raise ShapeError(f"input groups were given different numbers of cases: {sorted(cases)}")
        return out

    def check_cases(self, X: Array, D: Array | None = None, error: ErrorFunction | None = None,
                    care: Array | None = None) -> None:
        """Validate user data: shapes (via :meth:`split`), finite numbers, matching case
        counts and, for ``error``, targets in its range. One clear error for the first problem."""
        xs = self._input_map(X) if isinstance(X, Mapping) else self.split(X, self.inputs, "inputs")
        for name, a in xs.items():
            _finite(a, f"inputs of group {name!r}" if len(xs) > 1 else "inputs")
        if D is None:
            return
        n_cases = next(iter(xs.values())).shape[-2]
        ds = self.split(D, self.outputs, "targets")
        d_cases = next(iter(ds.values())).shape[-2]
        if d_cases != n_cases:
            raise ShapeError(f"{n_cases} cases of inputs but {d_cases} cases of targets")
        for a in ds.values():
            _finite(a, "targets")
        cares = self.split(care, self.outputs, "care mask") if care is not None else {}
        for a in cares.values():
            if a.shape[-2] != n_cases or not np.isin(a, (0, 1)).all():
                raise DataError(
                    f"the care mask must hold 0 or 1 for each of the {n_cases} cases, "
                    f"got shape {np.shape(care)}"
                )
        if error is not None:
            for name, a in ds.items():
                error.check_targets(a, cares.get(name))

    def _per_output(self, a: Array | Mapping[str, Array] | None, what: str) -> dict[str, Array]:
        """``a`` split per output group (``{}`` for ``None``; a mapping is taken as split)."""
        if a is None:
            return {}
        return dict(a) if isinstance(a, Mapping) else self.split(a, self.outputs, what)

    def output(self, activity: Activity) -> Array:
        """Output groups' activity side by side, ``(R, N, n_out)``."""
        if len(self.outputs) == 1:
            return activity.y[self.outputs[0]]
        return np.concatenate([activity.y[n] for n in self.outputs], axis=-1)

    def predict(self, X: Array) -> Array:
        """Outputs for inputs ``X``: ``(R, N, n_out)``. Inputs are checked (shape, finite)."""
        self.check_cases(X)
        return self.output(self.forward(X))

    def output_deltas(
        self,
        activity: Activity,
        D: Array | Mapping[str, Array],
        error: ErrorFunction,
        care: Array | Mapping[str, Array] | None = None,
    ) -> dict[str, Array]:
        """Eqs. (4)–(5) at the output groups: ``dE/dx`` per output group, ``(R, N, n)``.

        ``D`` and ``care``: arrays with every output group's columns, or (already split
        and checked) mappings from output group to its columns."""
        ds, cares = self._per_output(D, "targets"), self._per_output(care, "care mask")
        return {
            n: error.dE_dx(activity.y[n], ds[n], activity.x[n], self.functions[n], cares.get(n))
            for n in self.outputs
        }

    def error(
        self, activity: Activity, D: Array | Mapping[str, Array], error: ErrorFunction,
        care: Array | Mapping[str, Array] | None = None,
    ) -> Array:
        """Eq. (3) (or another error function) per replica, summed over output groups: ``(R,)``.

        ``D`` and ``care`` as in :meth:`output_deltas`."""
        ds, cares = self._per_output(D, "targets"), self._per_output(care, "care mask")
        total = np.zeros(self.replicas, dtype=self.dtype)
        for n in self.outputs:
            total = total + error.value(
                activity.y[n], ds[n], activity.x[n], self.functions[n], cares.get(n)
            )
        return total

    def backward(
        self,
        activity: Activity,
        output_dE_dx: Mapping[str, Array],
        *,
        tie_rule: str = "sum",
    ) -> dict[str, Array]:
        """Backward pass, eqs. (5)–(7), in reverse topological order.

        ``output_dE_dx``: ``dE/dx`` of each output group, ``(R, N, n)``.
        Returns ``dE/dw`` for every parameter, summed over the ``N`` cases,
        shaped like the parameters. For tied weights the gradient is the sum over
        the projections that share them (``tie_rule="sum"``, PDP p. 355: the true
        gradient) or their mean (``"mean"``, Nature's averaging rule).
        """
        if tie_rule not in ("sum", "mean"):
            raise ConfigError(f"tie_rule must be 'sum' or 'mean', got {tie_rule!r}")
        grads: dict[str, Array] = {}
        dE_dy: dict[str, Array] = {}
        for g in reversed(self.groups):
            if g.is_input:
                continue
            dE_dx = output_dE_dx.get(g.name)
            if g.name in dE_dy:
                # eq (5): dE/dx = dE/dy · f'(x), (R,N,n); error from above (eq 7) …
                from_above = self.functions[g.name].backward(
                    activity.x[g.name], activity.y[g.name], dE_dy.pop(g.name)
                )
                dE_dx = from_above if dE_dx is None else dE_dx + from_above  # … plus own targets
            if dE_dx is None:
                continue  # nothing depends on this group
            if g.bias:
                # eq (6) for the bias (y_i = 1): Σ_c dE/dx_j, (R,1,n)
                grads[bias_param(g.name)] = dE_dx.sum(axis=-2, keepdims=True)
            for p in self.into[g.name]:
                y_src = activity.y[p.source]
                W = self.params[p.param]
                # eq (6): dE/dw_ji = Σ_c dE/dx_j · y_i, (R,n_src,N)@(R,N,n) -> (R,n_src,n)
                dE_dw = y_src.swapaxes(-1, -2) @ dE_dx
                grads[p.param] = grads[p.param] + dE_dw if p.param in grads else dE_dw  # ties: Σ
                if not self._by_name[p.source].is_input:
                    # eq (7): dE/dy_i = Σ_j dE/dx_j · w_ji, (R,N,n)@(R,n,n_src)
                    back = dE_dx @ W.swapaxes(-1, -2)
                    if p.source in dE_dy:
                        dE_dy[p.source] += back
                    else:
                        dE_dy[p.source] = back
        for name, w in self.params.items():
            if name not in grads:
                grads[name] = np.zeros_like(w)  # nothing depends on it
        for name, mask in self.masks.items():
            grads[name] *= mask  # absent connections have no gradient
        if tie_rule == "mean":
            for name, count in self.tie_counts.items():
                if count > 1:
                    grads[name] /= count
        return grads

    def gradients(
        self,
        X: Array,
        D: Array,
        error: ErrorFunction,
        care: Array | None = None,
        *,
        tie_rule: str = "sum",
    ) -> tuple[Array, dict[str, Array]]:
        """``E`` per replica ``(R,)`` and ``dE/dw`` for every parameter, for the cases ``X, D``.

        The data are checked first (:meth:`check_cases`): shapes, finite numbers,
        targets in the error function's range.
        """
        self.check_cases(X, D, error, care)
        activity = self.forward(X)
        E = self.error(activity, D, error, care)
        deltas = self.output_deltas(activity, D, error, care)
        grads = self.backward(activity, deltas, tie_rule=tie_rule)
        return E, grads

    # ------------------------------------------------------------------ description

    def describe(self) -> str:
        """One line per group and projection, for people."""
        lines = []
        for g in self.groups:
            kind = "input" if g.is_input else f"{g.activation}{' + bias' if g.bias else ''}"
            lines.append(f"group {g.name}: {g.size} units, {kind}")
        for p in self.projections:
            extra = []
            if p.mask is not None:
                extra.append(f"mask {int(np.sum(p.mask))}/{np.size(p.mask)}")
            if p.tie is not None:
                extra.append(f"tied as {p.tie!r}")
            detail = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"projection {p.source} -> {p.target}{detail}")
        return "\n".join(lines)


def _finite(a: Array, what: str) -> None:
    if not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise DataError(f"{what} hold a non-finite value (NaN or inf) at index {bad}")


def mlp_groups(sizes: Sequence[int], *, activation: str = "logistic",
               output_activation: str | None = None, bias: bool = True) -> list[Group]:
    """The groups of :meth:`Network.mlp`: ``input``, ``hidden1``, …, ``output``."""
    if len(sizes) < 2:
        raise ConfigError(f"an MLP needs at least 2 layer sizes, got {list(sizes)}")
    names = ["input"] + [f"hidden{i}" for i in range(1, len(sizes) - 1)] + ["output"]
    groups = [Group("input", _positive_int(sizes[0], "input size"), None, False)]
    for i, (name, n) in enumerate(zip(names[1:], sizes[1:], strict=True), start=1):
        last = i == len(sizes) - 1
        act = (output_activation or activation) if last else activation
        groups.append(Group(name, _positive_int(n, f"size of {name}"), act, bias))
    return groups


def size_of(groups: Sequence[Group], projections: Sequence[Projection]) -> tuple[int, int]:
    """``(units, parameters)`` of one replica of a network of these groups and projections,
    counted without building it: its non-input units, and its weights (a tied array once)
    and biases. Sizes must be integers; the network's other rules are not checked here."""
    size = {g.name: _positive_int(g.size, f"size of group {g.name!r}") for g in groups}
    units = sum(n for g, n in zip(groups, size.values(), strict=True) if not g.is_input)
    shapes = {p.param: size.get(p.source, 0) * size.get(p.target, 0) for p in projections}
    biases = sum(size[g.name] for g in groups if g.bias and not g.is_input)
    return units, sum(shapes.values()) + biases


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def chain(names: Iterable[str]) -> list[Projection]:
    """Projections linking consecutive group names: ``a→b, b→c, …``."""
    return [Projection(a, b) for a, b in pairwise(names)]
