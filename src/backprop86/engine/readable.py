"""The readable engine: a sweep as the paper writes it, one equation a line.

Each update of a sweep is :meth:`Network.propagate` (eqs. 1–2), the error and
its output deltas (eqs. 3–5), :meth:`Network.backward` (eqs. 5–7) and the
optimizer's step (eqs. 8–9), on the cases of that update. It serves every
network and every setting — recurrent networks too, unrolled through their
time steps by the same two calls; the faster engines (:mod:`backprop86.engine.select`)
must give its numbers. A learner can step through one sweep at a time::

    engine = Readable(trainer)              # any Trainer: its network, data and settings
    reported, solved = engine.sweep(0)      # sweep 0 trained; (R,) each

Its data were checked once, when the trainer was built, and are split into
per-group arrays once here: an update calls the equations and nothing else. It
trains blocks of up to :data:`~backprop86.engine.blocked.BLOCK` sweeps, so the
training loop keeps its books once per block (after every sweep they cost about
as much as the article's whole update); the loop replays a block from
:meth:`Readable.save` when a replica stops inside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Engine, Setup, chunks, finite_per_replica, gather, within
from backprop86.engine.blocked import BLOCK
from backprop86.network import Activity, Slot


class Readable(Engine):
    """Eqs. (1)–(9) through :class:`~backprop86.network.Network` and the optimizer, for any run.

    ``block`` sweeps at most per call (1: the loop's books after every sweep);
    ``net.params`` and the optimizer's ``Δw`` are trained in place.
    """

    name = "readable"

    def __init__(self, setup: Setup, block: int = BLOCK) -> None:
        super().__init__(setup)
        net, cfg = setup.net, setup.config
        self.block = max(1, min(block, cfg.max_sweeps))
        self.reported = np.empty((self.block, self.R), net.dtype)
        self.solved = np.empty((self.block, self.R), bool)
        self.after = np.empty((self.block, self.R), bool)  # within stop_margin after each sweep
        self.frozen: Array | None = None  # the active mask, None while every replica trains
        self.mse = setup.report.name == "mse"
        # the cases, split once per group (a recurrent net: per group and step): (1 or R, N, n)
        self.xs = net.split(setup.X, net.input_slots, "inputs")
        self.ds = net.split(setup.D, net.output_slots, "targets")
        self.cares = (None if setup.care is None
                      else net.split(setup.care, net.output_slots, "care"))
        self.in_order = setup.order_rngs is None and cfg.grain == "sweep"
        self.joined = (self._joined(self.ds), self._joined(self.cares))  # for "solved"
        #: The latest update's forward pass: a recurrent net's next pass writes its history
        #: over this one's (:meth:`Network.unroll`) instead of allocating it anew.
        self.activity: Activity | None = None

    def begin_block(self, active: Array) -> None:
        super().begin_block(active)
        self.frozen = None if active.all() else active

    def sweeps(self, s0: int, k: int, *, stop: Callable[[], bool] = lambda: False,
               until_nonfinite: bool = False) -> int:
        net = self.setup.net
        for j in range(k):
            self.reported[j], self.solved[j] = self.sweep(s0 + j)
            if self.setup.config.stop_margin is not None:
                out = net.output(net.propagate(self.xs))  # after the sweep, (R, N, n_out)
                self.after[j] = within(out, self.setup.D, self.setup.care,
                                       self.setup.config.stop_margin, self.setup.mid)
            if (until_nonfinite and not self.finite_params()[self.active].all()) or stop():
                return j + 1
        return k

    def sweep(self, s: int) -> tuple[Array, Array]:
        """Train sweep ``s``; return its reported error ``(R,)`` and solved flags ``(R,)``."""
        st, net, cfg = self.setup, self.setup.net, self.setup.config
        lr, momentum = st.lr(s), st.momentum(s)
        n = st.n_cases
        reported = solved = None  # (R,) each, over the sweep's updates
        parts = [None] if self.in_order else chunks(n, cfg, st.order_rngs)
        for idx in parts:
            xs, ds, cares = ((self.xs, self.ds, self.cares) if idx is None
                             else (self._cases(a, idx) for a in (self.xs, self.ds, self.cares)))
            B = n if idx is None else idx.shape[1]
            # eqs (1)-(2): x, y per group, (R, B, n)
            activity = self.activity = net.propagate(xs, out=self.activity)
            E = net.error(activity, ds, st.report, cares)  # the reported error, (R,)
            if self.mse:
                E = (B / n) * E  # a mean over the sweep's cases
            D, care = self.joined if idx is None else (self._joined(ds), self._joined(cares))
            ok = within(net.output(activity), D, care, cfg.solve_margin, st.mid)  # (R,)
            reported = E if reported is None else reported + E
            solved = ok if solved is None else solved & ok
            deltas = net.output_deltas(activity, ds, st.error, cares)  # eqs (3)-(5): dE/dx
            if cfg.reduction == "mean":
                for d in deltas.values():
                    d /= B
            grads = net.backward(activity, deltas, tie_rule=cfg.tie_rule)  # eqs (5)-(7)
            st.optimizer.step(net.params, grads, lr, momentum, self.frozen)  # eqs (8)-(9)
        assert reported is not None and solved is not None
        return reported, solved

    @staticmethod
    def _cases(a: dict[Slot, Array] | None, idx: Array) -> dict[Slot, Array] | None:
        """The cases ``idx`` ``(R or 1, B)`` of each group's array."""
        return None if a is None else {name: gather(v, idx) for name, v in a.items()}

    def _joined(self, a: dict[Slot, Array] | None) -> Array | None:
        """The output groups' columns side by side, ``(1 or R, B, n_out)`` (as ``net.output``)."""
        if a is None:
            return None
        return next(iter(a.values())) if len(a) == 1 else np.concatenate(list(a.values()), -1)

    def measures(self, k: int) -> tuple[Array, Array]:
        return self.reported[:k], self.solved[:k]

    def stopped_by_margin(self, k: int) -> Array:
        return self.after[:k]

    def finite_params(self) -> Array:
        return finite_per_replica(list(self.setup.net.params.values()), self.R)

    def save(self) -> object:
        st = self.setup
        return ({n: w.copy() for n, w in st.net.params.items()},
                {n: a.copy() for n, a in st.optimizer.state().items()},
                [rng.bit_generator.state for rng in st.order_rngs or []])

    def restore(self, saved: object) -> None:
        params, state, rngs = saved  # type: ignore[misc]
        st = self.setup
        for name, w in params.items():
            np.copyto(st.net.params[name], w)
        st.optimizer.load_state(state)
        for rng, s in zip(st.order_rngs or [], rngs, strict=True):
            rng.bit_generator.state = s
