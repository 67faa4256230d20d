"""The paper's network: groups of units, projections between them, and eqs. (1)–(7).

Rumelhart, Hinton & Williams (Nature 323, 1986) describe units that take weighted
input from any units below them, connections that may skip layers, and a backward
pass that sums error over every connection leaving a unit. We model exactly that
at the level of *groups* of units (DESIGN §1):

* :class:`Group` — ``n`` units sharing one activation and an optional bias;
  input groups have no activation.
* :class:`Projection` — a weight matrix from a source group to a target group,
  optionally with a fixed 0/1 ``mask``, optionally *tied* to other
  projections (they share one weight array), and optionally with weights
  *shared within it* (``share``: PDP's T–C net, where every hidden unit has a
  copy of one 3×3 receptive field).
* :class:`Network` — groups in topological order plus projections.

Every array carries a leading replica axis ``R`` (DESIGN §2): weights are
``(R, n_src, n_tgt)``, biases ``(R, 1, n_tgt)``, activations ``(R, N, n)``.
One code path serves one network (``R = 1``) and ten thousand.

Notation, used everywhere in the package (engines and compiled loops included):
``W[r, i, j]`` is the paper's ``w_ji``, the weight *from* unit ``i`` of the
source group *to* unit ``j`` of the target group, in replica ``r``; so eq. (1)'s
``x_j = Σ_i y_i w_ji`` is ``x = y @ W`` and eq. (7)'s ``Σ_j ∂E/∂x_j · w_ji`` is
``∂E/∂x @ Wᵀ``.

Recurrent (iterative) networks — Nature Fig. 5, PDP pp. 354–360 — are the same
groups and projections run synchronously for ``steps`` = ``T`` time steps
(DESIGN §6). A projection has a ``delay``: 0 carries activity *within* a step
(from an earlier group of the list to a later one, as in a feed-forward net), 1
from the *previous* step (any group to any non-input group, itself included: a
recurrent projection). At step 0 every group holds its initial activity: its
data where the group is *clamped* at step 0, else ``initial`` (non-input groups,
e.g. PDP's 0.2) or 0 (input groups). At each step ``t = 1 … T`` a clamped group
takes its data, an unclamped input group is off (0), and every other group
computes eqs. (1)–(2) from its sources at ``t`` (delay 0) or ``t − 1`` (delay 1).
Output groups have targets at chosen steps (``target_steps``; default the last)
and none elsewhere. Training unrolls the ``T`` steps into a layered net, one
layer per step (backpropagation through time): the history of every unit is
kept for the backward pass, and every weight array and bias is used once per
step, so the corresponding weights stay tied across steps — their gradients sum
over the steps (PDP p. 355) or, with ``tie_rule="mean"``, average over the uses
(Nature's rule).

The data of a recurrent network are *slots*, ``(group, step)`` pairs: inputs
hold the clamped slots side by side, step by step (``input_slots``, ``(N,
Σ size)``), targets the output slots (``output_slots``). A network with
``T = 1``, no delayed projection and its input groups clamped at step 1 is
feed-forward: its slots are its input and output group names, and it runs the
feed-forward pass exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import TypeAlias

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.functions import Activation, ErrorFunction, activation
from backprop86.resources import check, weights_estimate

#: Where a column of data belongs: an input or output group's name (feed-forward networks),
#: or a ``(group, step)`` pair (recurrent networks).
Slot: TypeAlias = str | tuple[str, int]


@dataclass(frozen=True)
class Group:
    """A named set of ``size`` units: one activation (``None`` for inputs), an optional bias."""

    name: str
    size: int
    activation: str | None = "logistic"
    bias: bool = True
    #: One bias shared by every unit of the group (the copies of one unit, as in PDP's T–C
    #: net): its gradient sums over the units and every copy changes by the total.
    bias_shared: bool = False

    @property
    def is_input(self) -> bool:
        return self.activation is None


@dataclass(frozen=True, eq=False)
class Projection:
    """Weights from group ``source`` to group ``target``: an ``(n_src, n_tgt)`` matrix per replica.

    ``mask`` (0/1, shape ``(n_src, n_tgt)``) marks the connections that exist;
    projections with the same ``tie`` name share one weight array. ``delay``: 0
    carries the source's activity within a time step, 1 from the previous step
    (a recurrent projection); ``None`` means 1 for a projection back to an
    earlier group or to itself, else 0.

    ``share`` (integers, shape ``(n_src, n_tgt)``, instead of ``mask``) shares
    weights *within* the projection: entry ``k ≥ 0`` means the connection is a
    copy of shared weight ``k``, ``−1`` that it does not exist. As in PDP's T–C
    simulation (p. 349), each copy's ``∂E/∂w`` is summed over the copies and
    every copy changes by the same total: ``∂E/∂w_k = Σ_{(i,j): share_ij = k}
    ∂E/∂w_ji``, the true gradient of the one shared weight.
    """

    source: str
    target: str
    mask: Array | None = field(default=None, repr=False)
    tie: str | None = None
    delay: int | None = None
    share: Array | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mask is not None:  # nested lists too: every reader indexes mask[i, j]
            object.__setattr__(self, "mask", np.asarray(self.mask))
        if self.share is not None:
            object.__setattr__(self, "share", np.asarray(self.share))

    @cached_property
    def param(self) -> str:
        """Name of the weight array this projection uses."""
        return self.tie if self.tie is not None else f"w:{self.source}->{self.target}"


def bias_param(group: str) -> str:
    """Name of a group's bias array."""
    return f"b:{group}"


def slot_group(slot: Slot) -> str:
    """The group a slot belongs to."""
    return slot if isinstance(slot, str) else slot[0]


def slot_label(slot: Slot) -> str:
    """A slot in words: ``group 'h'`` or ``group 'h' at step 3``."""
    return f"group {slot!r}" if isinstance(slot, str) else f"group {slot[0]!r} at step {slot[1]}"


@dataclass
class Activity:
    """The forward pass of a batch: net inputs ``x`` and outputs ``y``, ``(R, N, n)``.

    Keyed by group name (feed-forward), or by ``(group, step)`` for a recurrent
    network: its whole history, steps ``0 … T`` (``x`` only where eq. (1) computed
    the activity: not at step 0, not for clamped or input groups). Arrays of
    activity set from outside (inputs, clamps, initial values) may have a leading
    axis of 1 instead of ``R``."""

    x: dict[Slot, Array]
    y: dict[Slot, Array]


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
    steps:
        ``T``, the time steps a recurrent network runs (module docstring); 1 for
        a feed-forward network.
    clamp:
        ``{group: steps}``: the steps ``0 … T`` at which a group's activity is set
        from the data. Input groups default to every step ``1 … T``; a non-input
        group clamped at step 0 starts from the data (the shift register's
        units are its inputs).
    target_steps:
        ``{output group: steps}``: the steps ``1 … T`` at which it has a target
        (don't care at the others); default ``T`` only.
    initial:
        Activity of unclamped non-input units at step 0 (PDP's sequence
        completion: 0.2).
    """

    def __init__(
        self,
        groups: Sequence[Group],
        projections: Sequence[Projection],
        *,
        replicas: int = 1,
        outputs: Sequence[str] | None = None,
        dtype: np.dtype | type = np.float64,
        steps: int = 1,
        clamp: Mapping[str, Sequence[int]] | None = None,
        target_steps: Mapping[str, Sequence[int]] | None = None,
        initial: float = 0.0,
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
        #: ``T``: time steps a recurrent network runs (1: feed-forward).
        self.steps = _positive_int(steps, "steps (the time steps T)")
        try:
            self.initial = float(initial)
        except (TypeError, ValueError):
            raise ConfigError(f"initial activity must be a number, got {initial!r}") from None
        if not np.isfinite(self.initial):
            raise ConfigError(f"initial activity must be finite, got {initial!r}")
        #: Each projection's delay: 0 within a time step, 1 from the previous step.
        self.delays: dict[Projection, int] = {}
        self._validate()
        #: Steps at which each clamped group takes its activity from the data.
        self.clamped: dict[str, tuple[int, ...]] = self._clamps(clamp or {})
        #: Steps at which each output group has a target.
        self.target_steps: dict[str, tuple[int, ...]] = self._targets(target_steps or {})
        #: Run for several steps (or from a clamped initial state): backpropagation through time.
        self.recurrent: bool = (
            self.steps > 1 or any(self.delays.values())
            or self.clamped != {name: (1,) for name in self.inputs}
        )
        #: The data's columns, in order: input and output groups, or (group, step) slots.
        self.input_slots: tuple[Slot, ...] = self.inputs
        self.output_slots: tuple[Slot, ...] = self.outputs
        if self.recurrent:
            self.input_slots = tuple((g.name, t) for t in range(self.steps + 1)
                                     for g in self.groups if t in self.clamped.get(g.name, ()))
            self.output_slots = tuple((n, t) for t in range(1, self.steps + 1)
                                      for n in self.outputs if t in self.target_steps[n])
        self.functions: dict[str, Activation] = {
            g.name: activation(g.activation) for g in self.groups if not g.is_input
        }
        self.into: dict[str, list[Projection]] = {g.name: [] for g in self.groups}
        self.out_of: dict[str, list[Projection]] = {g.name: [] for g in self.groups}
        for p in self.projections:
            self.into[p.target].append(p)
            self.out_of[p.source].append(p)
        #: Weights shared within an array: its ``share`` map (``(n_src, n_tgt)`` integers,
        #: −1 for no connection), and bias arrays shared by a group's units (``(1, n)``, all 0).
        self.shares: dict[str, Array] = {
            p.param: p.share.astype(np.intp) for p in self.projections if p.share is not None
        }
        for g in self.groups:
            if g.bias and g.bias_shared and not g.is_input:
                self.shares[bias_param(g.name)] = np.zeros((1, g.size), dtype=np.intp)
        #: Per shared array, the flat indices of each shared weight's copies.
        self._copies: dict[str, list[Array]] = {
            name: [np.flatnonzero(share.reshape(-1) == k) for k in range(share.max() + 1)]
            for name, share in self.shares.items()
        }
        #: Fixed 0/1 masks per weight array (``(1, n_src, n_tgt)``), for masked projections
        #: (and for shared ones: their absent connections).
        self.masks: dict[str, Array] = {
            p.param: np.asarray(p.mask if p.share is None else p.share >= 0,
                                dtype=self.dtype)[None]
            for p in self.projections if p.mask is not None or p.share is not None
        }
        #: How many projections use each weight array (``> 1`` means tied).
        self.tie_counts: dict[str, int] = {}
        for p in self.projections:
            self.tie_counts[p.param] = self.tie_counts.get(p.param, 0) + 1
        #: How often each parameter is used in the (unrolled) net: the divisor of Nature's
        #: averaging rule for tied weights. Feed-forward: the tie counts; recurrent: every
        #: projection and bias once per step at which its group computes its activity.
        self.uses: dict[str, int] = dict(self.tie_counts)
        if self.recurrent:
            computed = {g.name: self.steps - sum(t >= 1 for t in self.clamped.get(g.name, ()))
                        for g in self.groups if not g.is_input}
            self.uses = {}
            for p in self.projections:
                self.uses[p.param] = self.uses.get(p.param, 0) + computed[p.target]
            for g in self.groups:
                if g.bias and not g.is_input:
                    self.uses[bias_param(g.name)] = computed[g.name]
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
            if g.bias_shared and (not g.bias or g.is_input):
                raise ConfigError(f"group {g.name!r}: a shared bias needs a non-input group "
                                  "with a bias")
            seen[g.name] = i
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
            backwards = seen[p.source] >= seen[p.target]
            delay = (1 if backwards else 0) if p.delay is None else p.delay
            if isinstance(delay, bool) or delay not in (0, 1):
                raise ConfigError(
                    f"projection {p.source}->{p.target}: delay must be 0 (within a time step) "
                    f"or 1 (from the previous step), got {p.delay!r}"
                )
            if backwards and delay == 0:
                raise ConfigError(
                    f"projection {p.source}->{p.target} goes backwards or to itself within a "
                    "time step; list groups in topological order, or give it delay = 1 "
                    "(a recurrent projection, from the previous step)"
                )
            self.delays[p] = int(delay)
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
            if p.share is not None:
                _check_share(p, shape)
            layout = p.mask if p.share is None else p.share
            if p.param in shapes:
                other_shape, other_layout = shapes[p.param]
                if other_shape != shape:
                    raise ShapeError(
                        f"tied projections {p.param!r} need one shape: {other_shape} and {shape}"
                    )
                same_layout = (other_layout is None and layout is None) or (
                    other_layout is not None
                    and layout is not None
                    and np.array_equal(other_layout, layout)
                )
                if not same_layout:
                    raise ConfigError(f"tied projections {p.param!r} need the same mask "
                                      "and the same shared weights")
            else:
                shapes[p.param] = (shape, layout)
        for g in self.groups:
            if not g.is_input and not any(p.target == g.name for p in self.projections):
                raise ConfigError(f"group {g.name!r} receives no projection")

    def _clamps(self, given: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, ...]]:
        """Steps at which each group is clamped: input groups at ``1 … T`` unless given."""
        T = self.steps
        out = {name: tuple(range(1, T + 1)) for name in self.inputs}
        for name, steps in given.items():
            if name not in self._by_name:
                raise ConfigError(f"clamp names no group {name!r}; groups are "
                                  f"{', '.join(g.name for g in self.groups)}")
            out[name] = _steps(steps, 0, T, f"clamp of group {name!r}")
            if not out[name]:
                if self._by_name[name].is_input:
                    raise ConfigError(f"input group {name!r} is clamped at no step "
                                      "(it would always be off)")
                del out[name]
        if not out:
            raise ConfigError("a network needs at least one input group (activation None) "
                              "or a clamped group")
        return out

    def _targets(self, given: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, ...]]:
        """Steps at which each output group has a target: ``T`` unless given."""
        T = self.steps
        out = {name: (T,) for name in self.outputs}
        for name, steps in given.items():
            if name not in out:
                raise ConfigError(f"target_steps names {name!r}, which is not an output group; "
                                  f"outputs are {', '.join(self.outputs)}")
            out[name] = _steps(steps, 1, T, f"target steps of group {name!r}")
            if not out[name]:
                raise ConfigError(f"output group {name!r} has a target at no step")
        for name, steps in out.items():
            both = sorted(set(steps) & set(self.clamped.get(name, ())))
            if both:
                raise ConfigError(f"group {name!r} is clamped at step {both[0]}, where it also "
                                  "has a target")
        return out

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
    def history_units(self) -> int:
        """Units whose activity a pass keeps per case: the non-input units of a feed-forward
        net; every unit at every step ``0 … T`` of a recurrent one (its history, for BPTT)."""
        if self.recurrent:
            return sum(g.size for g in self.groups) * (self.steps + 1)
        return sum(g.size for g in self.groups if not g.is_input)

    @property
    def n_inputs(self) -> int:
        """Columns of the inputs: every input slot's units (a recurrent net: every step's)."""
        return sum(self.slot_size(s) for s in self.input_slots)

    @property
    def n_outputs(self) -> int:
        """Columns of the targets: every output slot's units."""
        return sum(self.slot_size(s) for s in self.output_slots)

    def slot_size(self, slot: Slot) -> int:
        """Units of a slot's group."""
        return self._by_name[slot_group(slot)].size

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
            if name in self.shares:
                self._check_copies(name, np.broadcast_to(v, target.shape))
            target[...] = v
            if name in self.masks:
                target *= self.masks[name]

    def _check_copies(self, name: str, v: Array) -> None:
        """Refuse values (``(R, …)``) in which copies of one shared weight differ."""
        flat = self.shares[name].reshape(-1)
        w = v.reshape(v.shape[0], -1)
        for k in range(flat.max() + 1):
            copies = w[:, flat == k]
            if not np.array_equal(copies, np.broadcast_to(copies[:, :1], copies.shape)):
                raise DataError(f"parameter {name!r}: the copies of shared weight {k} differ; "
                                "weights shared within an array must be equal")

    def copy(self, dtype: np.dtype | type | None = None) -> Network:
        """A new network with the same structure and a copy of the parameters, in ``dtype``
        (default: this network's)."""
        twin = Network(
            self.groups, self.projections, replicas=self.replicas,
            outputs=self.outputs, dtype=self.dtype if dtype is None else dtype,
            steps=self.steps, clamp=self.clamped, target_steps=self.target_steps,
            initial=self.initial,
        )
        twin.set_params(self.params)
        return twin

    # ------------------------------------------------------------------ data

    def split(self, a: Array, names: Sequence[Slot], what: str) -> dict[Slot, Array]:
        """Split ``(N, n_total)`` or ``(R, N, n_total)`` columns into per-slot ``(·, N, n)``
        (``names``: groups, or ``(group, step)`` slots of a recurrent network)."""
        given = np.shape(a)
        a = np.asarray(a)
        total = sum(self.slot_size(n) for n in names)
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
        out: dict[Slot, Array] = {}
        start = 0
        for n in names:
            size = self.slot_size(n)
            out[n] = a[..., start:start + size]
            start += size
        return out

    # ------------------------------------------------------------------ the equations

    def forward(self, X: Array | Mapping[Slot, Array]) -> Activity:
        """Forward pass, eqs. (1)–(2), group by group in topological order (and step by step).

        ``X``: ``(N, n_in)`` (shared by all replicas) or ``(R, N, n_in)``, or a
        mapping from input slot (input-group name) to such arrays.
        """
        xs = (self._input_map(X) if isinstance(X, Mapping)
              else self.split(X, self.input_slots, "inputs"))
        return self.propagate(xs)

    def propagate(self, xs: Mapping[Slot, Array], out: Activity | None = None) -> Activity:
        """Eqs. (1)–(2) from inputs already split per input slot and checked (by
        :meth:`split` or :meth:`check_cases`): ``xs[slot]`` ``(1 or R, N, n)`` in the dtype.
        A recurrent network runs its ``T`` steps (:meth:`unroll`; ``out`` as it says)."""
        if self.recurrent:
            return self.unroll(xs, out)
        net: dict[Slot, Array] = {}
        y: dict[Slot, Array] = dict(xs)
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

    def unroll(self, xs: Mapping[Slot, Array], out: Activity | None = None) -> Activity:
        """Eqs. (1)–(2) of a recurrent network, synchronously for steps ``1 … T``.

        ``xs[(group, step)]`` ``(1 or R, N, n)``: the clamped slots' data. Returns
        the history of every group, keyed ``(group, t)`` for ``t = 0 … T``: the
        layers of the unrolled net, kept for the backward pass.

        ``out``: the history of an earlier pass of this network (a training loop's
        previous sweep), whose arrays of computed activity are written over and
        returned: the pass then allocates no history (for a few hundred replicas,
        fresh memory costs more to fault in than the equations cost to compute).
        """
        N = next(iter(xs.values())).shape[-2]
        x: dict[Slot, Array] = {} if out is None else out.x
        y: dict[Slot, Array] = {} if out is None else out.y
        for g in self.groups:  # step 0: data, else `initial` (input groups: off), (1,N,n)
            rest = 0.0 if g.is_input else self.initial
            y[g.name, 0] = xs.get((g.name, 0), np.full((1, N, g.size), rest, dtype=self.dtype))
        for t in range(1, self.steps + 1):
            for g in self.groups:
                now = (g.name, t)
                if now in xs:
                    y[now] = xs[now]  # clamped: the data, (1 or R, N, n)
                    continue
                if g.is_input:
                    y[now] = np.zeros((1, N, g.size), dtype=self.dtype)  # off
                    continue
                first, *more = self.into[g.name]
                # eq (1): x_j(t) = Σ_i y_i(t − delay) w_ji, (R,N,n_src)@(R,n_src,n) -> (R,N,n)
                s = np.matmul(y[first.source, t - self.delays[first]], self.params[first.param],
                              out=_same_shape(x.get(now), (self.replicas, N, g.size)))
                for p in more:
                    s += y[p.source, t - self.delays[p]] @ self.params[p.param]  # eq (1)
                if g.bias:
                    s += self.params[bias_param(g.name)]  # eq (1) bias, (R,1,n): same each step
                x[now] = s
                # eq (2): y(t) = f(x(t)), (R,N,n)
                y[now] = self.functions[g.name].forward(s, out=_same_shape(y.get(now), s.shape))
        return Activity(x, y)

    def _input_map(self, X: Mapping[Slot, Array]) -> dict[Slot, Array]:
        """Check a mapping ``{input slot: (N, n) or (R, N, n)}`` as :meth:`split` checks arrays."""
        if set(X) != set(self.input_slots):
            what = "slots (group, step)" if self.recurrent else "groups"
            raise ShapeError(
                f"inputs given for {what} {sorted(X)}, expected exactly the input {what} "
                f"{list(self.input_slots)}"
            )
        out = {name: self.split(X[name], [name], f"inputs of {slot_label(name)}")[name]
               for name in self.input_slots}
        cases = {a.shape[-2] for a in out.values()}
        if len(cases) > 1:
            raise ShapeError(f"input groups were given different numbers of cases: {sorted(cases)}")
        return out

    def check_cases(self, X: Array, D: Array | None = None, error: ErrorFunction | None = None,
                    care: Array | None = None) -> None:
        """Validate user data: shapes (via :meth:`split`), finite numbers, matching case
        counts and, for ``error``, targets in its range. One clear error for the first problem."""
        xs = (self._input_map(X) if isinstance(X, Mapping)
              else self.split(X, self.input_slots, "inputs"))
        for name, a in xs.items():
            _finite(a, f"inputs of {slot_label(name)}" if len(xs) > 1 else "inputs")
        if D is None:
            return
        n_cases = next(iter(xs.values())).shape[-2]
        ds = self.split(D, self.output_slots, "targets")
        d_cases = next(iter(ds.values())).shape[-2]
        if d_cases != n_cases:
            raise ShapeError(f"{n_cases} cases of inputs but {d_cases} cases of targets")
        for a in ds.values():
            _finite(a, "targets")
        cares = self.split(care, self.output_slots, "care mask") if care is not None else {}
        for a in cares.values():
            if a.shape[-2] != n_cases or not np.isin(a, (0, 1)).all():
                raise DataError(
                    f"the care mask must hold 0 or 1 for each of the {n_cases} cases, "
                    f"got shape {np.shape(care)}"
                )
        if error is not None:
            for name, a in ds.items():
                error.check_targets(a, cares.get(name))

    def _per_output(self, a: Array | Mapping[Slot, Array] | None, what: str
                    ) -> dict[Slot, Array]:
        """``a`` split per output slot (``{}`` for ``None``; a mapping is taken as split)."""
        if a is None:
            return {}
        return dict(a) if isinstance(a, Mapping) else self.split(a, self.output_slots, what)

    def output(self, activity: Activity) -> Array:
        """Output slots' activity side by side, ``(R, N, n_out)`` (a recurrent network: the
        output groups at their target steps, step by step)."""
        if len(self.output_slots) == 1:
            return activity.y[self.output_slots[0]]
        return np.concatenate([activity.y[n] for n in self.output_slots], axis=-1)

    def predict(self, X: Array) -> Array:
        """Outputs for inputs ``X``: ``(R, N, n_out)``. Inputs are checked (shape, finite)."""
        self.check_cases(X)
        return self.output(self.forward(X))

    def output_deltas(
        self,
        activity: Activity,
        D: Array | Mapping[Slot, Array],
        error: ErrorFunction,
        care: Array | Mapping[Slot, Array] | None = None,
    ) -> dict[Slot, Array]:
        """Eqs. (4)–(5) at the output slots: ``dE/dx`` per output slot, ``(R, N, n)``.

        ``D`` and ``care``: arrays with every output slot's columns, or (already split
        and checked) mappings from output slot to its columns."""
        ds, cares = self._per_output(D, "targets"), self._per_output(care, "care mask")
        return {
            n: error.dE_dx(activity.y[n], ds[n], activity.x[n], self.functions[slot_group(n)],
                           cares.get(n))
            for n in self.output_slots
        }

    def error(
        self, activity: Activity, D: Array | Mapping[Slot, Array], error: ErrorFunction,
        care: Array | Mapping[Slot, Array] | None = None,
    ) -> Array:
        """Eq. (3) (or another error function) per replica, summed over output slots (groups,
        and the steps with targets): ``(R,)``. ``D`` and ``care`` as in :meth:`output_deltas`."""
        ds, cares = self._per_output(D, "targets"), self._per_output(care, "care mask")
        total = np.zeros(self.replicas, dtype=self.dtype)
        for n in self.output_slots:
            total = total + error.value(
                activity.y[n], ds[n], activity.x[n], self.functions[slot_group(n)], cares.get(n)
            )
        return total

    def backward(
        self,
        activity: Activity,
        output_dE_dx: Mapping[Slot, Array],
        *,
        tie_rule: str = "sum",
    ) -> dict[str, Array]:
        """Backward pass, eqs. (5)–(7), in reverse topological order (a recurrent network:
        through time, :meth:`backward_through_time`).

        ``output_dE_dx``: ``dE/dx`` of each output slot, ``(R, N, n)``.
        Returns ``dE/dw`` for every parameter, summed over the ``N`` cases,
        shaped like the parameters. For tied weights the gradient is the sum over
        the projections that share them (``tie_rule="sum"``, PDP p. 355: the true
        gradient) or their mean (``"mean"``, Nature's averaging rule).
        """
        if tie_rule not in ("sum", "mean"):
            raise ConfigError(f"tie_rule must be 'sum' or 'mean', got {tie_rule!r}")
        if self.recurrent:
            return self.backward_through_time(activity, output_dE_dx, tie_rule=tie_rule)
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
        return self._tied(grads, tie_rule)

    def backward_through_time(
        self,
        activity: Activity,
        output_dE_dx: Mapping[Slot, Array],
        *,
        tie_rule: str = "sum",
    ) -> dict[str, Array]:
        """Eqs. (5)–(7) through the unrolled net: steps ``T … 1``, groups in reverse order.

        ``activity``: the history from :meth:`unroll`; ``output_dE_dx``: ``dE/dx`` of
        each output slot ``(group, t)``, ``(R, N, n)``. Error reaches a unit from the
        units it feeds at the same step (delay 0) and at the next step (delay 1);
        each weight's gradient sums eq. (6) over every step it is used at: the
        corresponding weights of the layered net are tied (Nature Fig. 5).
        """
        grads: dict[str, Array] = {}
        dE_dy: dict[Slot, Array] = {}  # error arriving at (group, t) from what it feeds
        for t in range(self.steps, 0, -1):
            for g in reversed(self.groups):
                now = (g.name, t)
                if now not in activity.x:
                    continue  # an input or a clamp: set from outside, no weights into it
                dE_dx = output_dE_dx.get(now)
                if now in dE_dy:
                    # eq (5): dE/dx(t) = dE/dy(t) · f'(x(t)), (R,N,n); error from later units …
                    from_later = self.functions[g.name].backward(
                        activity.x[now], activity.y[now], dE_dy.pop(now)
                    )
                    if dE_dx is not None:
                        from_later += dE_dx  # … plus its own targets' error
                    dE_dx = from_later
                if dE_dx is None:
                    continue  # nothing depends on this group at this step
                if g.bias:
                    # eq (6) for the bias (y_i = 1): Σ_c dE/dx_j(t), summed over steps, (R,1,n)
                    _accumulate(grads, bias_param(g.name), dE_dx.sum(axis=-2, keepdims=True))
                for p in self.into[g.name]:
                    src = (p.source, t - self.delays[p])
                    # eq (6): dE/dw_ji += Σ_c dE/dx_j(t) · y_i(t − delay), (R,n_src,N)@(R,N,n)
                    _accumulate(grads, p.param, activity.y[src].swapaxes(-1, -2) @ dE_dx)
                    if src in activity.x:
                        # eq (7): dE/dy_i(t − delay) += Σ_j dE/dx_j(t) · w_ji, (R,N,n)@(R,n,n_src)
                        _accumulate(dE_dy, src, dE_dx @ self.params[p.param].swapaxes(-1, -2))
        return self._tied(grads, tie_rule)

    def _tied(self, grads: dict[str, Array], tie_rule: str) -> dict[str, Array]:
        """Complete the gradients: zeros where nothing depends on a parameter, masks, and
        Nature's averaging over each parameter's uses (``tie_rule="mean"``)."""
        for name, w in self.params.items():
            if name not in grads:
                grads[name] = np.zeros_like(w)  # nothing depends on it
        for name, mask in self.masks.items():
            grads[name] *= mask  # absent connections have no gradient
        for name in self.shares:
            grads[name] = self.pooled(name, grads[name], mean=tie_rule == "mean")
        if tie_rule == "mean":
            for name, count in self.uses.items():
                if count > 1:
                    grads[name] /= count
        return grads

    def pooled(self, name: str, g: Array, *, mean: bool = False) -> Array:
        """Weights shared within array ``name``: every copy's entry of ``g`` (``(R, …)``)
        replaced by the sum over the copies of its shared weight, ``Σ_{share = k} g``
        (``mean``: divided by the number of copies, Nature's averaging); absent
        connections 0. Each replica's sums are its own (a sum along one row per shared
        weight), so they do not depend on how many replicas train together."""
        flat = g.reshape(g.shape[0], -1)
        total = np.stack([flat[:, ix].sum(axis=1) for ix in self._copies[name]], axis=1)  # (R,K)
        if mean:
            total = total / np.array([ix.size for ix in self._copies[name]])
        share = self.shares[name].reshape(-1)
        # (R, entries) → (R, …): each copy takes its shared weight's total
        out = np.where(share >= 0, total[:, share], 0.0).reshape(g.shape)
        return out.astype(g.dtype, copy=False)

    def spread_shared(self) -> None:
        """Make every copy of a shared weight equal to its first copy (after drawing the
        initial weights entry by entry): ``w_ij ← w_{first copy of share_ij}``."""
        for name, share in self.shares.items():
            flat = share.reshape(-1)
            first = np.array([np.flatnonzero(flat == k)[0] for k in range(flat.max() + 1)])
            w = self.params[name].reshape(self.replicas, -1)
            w[...] = np.where(flat >= 0, w[:, first[flat]], 0.0)

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
        if self.recurrent:
            lines.append(f"runs {self.steps} time step{'s' if self.steps > 1 else ''}, "
                         f"initial activity {self.initial:g}")
        for g in self.groups:
            bias = (" + one shared bias" if g.bias_shared else " + bias") if g.bias else ""
            kind = "input" if g.is_input else f"{g.activation}{bias}"
            lines.append(f"group {g.name}: {g.size} units, {kind}")
        for p in self.projections:
            extra = []
            if p.mask is not None:
                extra.append(f"mask {int(np.sum(p.mask))}/{np.size(p.mask)}")
            if p.share is not None:
                k = int(np.max(p.share)) + 1
                extra.append(f"{k} weight{'s' if k > 1 else ''} shared by "
                             f"{int(np.sum(p.share >= 0))} connections")
            if p.tie is not None:
                extra.append(f"tied as {p.tie!r}")
            if self.delays[p]:
                extra.append("from the previous step")
            detail = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"projection {p.source} -> {p.target}{detail}")
        if self.recurrent:
            for name, steps in self.clamped.items():
                lines.append(f"group {name} clamped at step{'s' if len(steps) > 1 else ''} "
                             f"{_ranges(steps)}")
            for name, steps in self.target_steps.items():
                lines.append(f"group {name} has targets at step{'s' if len(steps) > 1 else ''} "
                             f"{_ranges(steps)}")
        return "\n".join(lines)


def _same_shape(a: Array | None, shape: tuple[int, ...]) -> Array | None:
    """``a`` when it is an array of ``shape`` (to be written over), else ``None`` (a new one)."""
    return a if a is not None and a.shape == shape else None


def _accumulate(sums: dict, key: object, term: Array) -> None:
    """``sums[key] += term`` in place (``term`` itself the first time: a fresh array of ours)."""
    if key in sums:
        sums[key] += term
    else:
        sums[key] = term


def _check_share(p: Projection, shape: tuple[int, int]) -> None:
    """A projection's ``share`` map: integers ≥ −1 of the weight matrix's shape, no mask."""
    where = f"share of {p.source}->{p.target}"
    share = np.asarray(p.share)
    if p.mask is not None:
        raise ConfigError(f"projection {p.source}->{p.target} has a mask and a share; a share's "
                          "−1 entries are its absent connections, so give only the share")
    if share.shape != shape:
        raise ShapeError(f"{where} has shape {share.shape}, expected {shape}")
    if not (np.issubdtype(share.dtype, np.integer)
            or (np.issubdtype(share.dtype, np.floating) and np.all(share == np.round(share)))):
        raise ConfigError(f"{where} must hold integers (shared weight numbers, −1 for none)")
    if share.size and (share.min() < -1 or share.max() < 0):
        raise ConfigError(f"{where} must hold shared weight numbers ≥ 0 (and −1 for no "
                          f"connection), with at least one connection; got {share.min()} … "
                          f"{share.max()}")
    used = np.unique(share[share >= 0])
    if used.size != used.max() + 1:
        missing = sorted(set(range(int(used.max()) + 1)) - {int(u) for u in used})
        raise ConfigError(f"{where} numbers its shared weights 0 … {int(used.max())} but never "
                          f"uses {missing[0]}")


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


def size_of(groups: Sequence[Group], projections: Sequence[Projection],
            steps: object = 1) -> tuple[int, int]:
    """``(units, parameters)`` of one replica of a network of these groups and projections,
    counted without building it: its non-input units, and its weights (a tied array once)
    and biases. A recurrent network (``steps`` > 1, or a delayed projection) keeps the
    history of every unit, steps ``0 … T``: its units are counted once per step of it
    (:attr:`Network.history_units`). Sizes must be integers; the network's other rules are
    not checked here."""
    size = {g.name: _positive_int(g.size, f"size of group {g.name!r}") for g in groups}
    units = sum(n for g, n in zip(groups, size.values(), strict=True) if not g.is_input)
    T = _positive_int(steps, "steps (the time steps T)")
    order = {g.name: i for i, g in enumerate(groups)}
    if T > 1 or any(p.delay or (p.delay is None and order.get(p.source, 0) >= order.get(
            p.target, 0)) for p in projections):
        units = sum(size.values()) * (T + 1)
    shapes = {p.param: size.get(p.source, 0) * size.get(p.target, 0) for p in projections}
    biases = sum(size[g.name] for g in groups if g.bias and not g.is_input)
    return units, sum(shapes.values()) + biases


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _steps(given: object, low: int, high: int, what: str) -> tuple[int, ...]:
    """``given`` as sorted distinct integer steps within ``low … high``, or one clear error."""
    if isinstance(given, (int, np.integer)) and not isinstance(given, bool):
        given = [given]
    try:
        values = list(given)  # type: ignore[call-overload]
    except TypeError:
        raise ConfigError(f"{what} must be a list of steps, got {given!r}") from None
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ConfigError(f"{what} must be a list of integer steps, got {given!r}")
        if not low <= v <= high:
            raise ConfigError(f"{what}: step {v} is outside the network's steps {low} … {high}")
    return tuple(sorted({int(v) for v in values}))


def _ranges(steps: Sequence[int]) -> str:
    """``1, 2, 3, 5`` → ``"1-3, 5"``."""
    runs: list[list[int]] = []
    for v in steps:
        if runs and runs[-1][1] == v - 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def chain(names: Iterable[str]) -> list[Projection]:
    """Projections linking consecutive group names: ``a→b, b→c, …``."""
    return [Projection(a, b) for a, b in pairwise(names)]
