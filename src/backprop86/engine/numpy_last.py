"""The NumPy replica-last engine: many tiny networks as ``(cases, units, R)`` arrays.

The replicas sit on the fast axis, so a projection is one ``np.einsum`` over all
replicas and the input layer one matrix product; see :class:`NumpyLast` for the
passes it saves. The sums run in another order than the readable engine's, so
the numbers agree to rounding (relative differences around 1e-15 per sweep).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Setup
from backprop86.engine.blocked import BlockEngine, Program, block_measures, run


class NumpyLast(BlockEngine):
    """Many tiny networks in the layout ``(cases, units, R)``: replicas on the fast axis.

    A projection ``x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]`` becomes one
    ``np.einsum`` over all replicas (one pass, products summed as they are
    made) instead of ``R`` tiny matrix products; from the input group, which
    every replica sees alike, it is one matrix product ``X (c, i) @ W (i, j·R)``.
    Cases come in order. The kernel keeps the weights and ``Δw`` in its own
    layout; :meth:`store` writes them back.

    An update here is a short list of NumPy calls, each over every replica, so
    it costs the calls' passes over memory; it makes as few as it can:

    * **−ε folded into the deltas.** The output deltas are multiplied by
      ``−ε`` (and by the error's constant factor and ``1/B`` for a mean), so
      eq. (6) yields ``−ε ∂E/∂w`` directly and eq. (8) is a single ``w += Δw``;
      without momentum ``Δw`` is the gradient buffer :attr:`G` itself.
    * **Logistic units from ``e = exp(−x)``**: ``y = 1/(1 + e)``; from the
      input group the product ``(−X) @ W`` gives ``−x`` at no cost (negation
      is exact).
    * **Zero input rows.** Without a bias on the first layer, a case whose
      inputs are all 0 (XOR's ``00``) gives that layer the net input 0 in
      every replica at every update: its activity is the constant ``f(0)``
      and it adds nothing to the first layer's gradient, so the first layer
      is computed for the other cases only. Such cases go first in their
      chunk (the sums over cases only change order).
    * **Bookkeeping in this layout**: outputs are recorded as ``(B, n, R)``
      and the block's error and solved flags summed over cases there.

    The sums run in another order than the readable path's, so the numbers
    agree to rounding (``tests/test_engine_numpy.py``).
    """

    unit_axis = 1

    name = "numpy-last"

    def __init__(self, setup: Setup, *, skip_zero_rows: bool = True) -> None:
        self.skip_zero_rows = skip_zero_rows  # read by the base class, through _target_records
        super().__init__(setup)
        net, R, dt = self.net, self.R, self.dtype
        order = {n: i for i, n in enumerate(net.params)}
        shapes = []
        for ly in self.layers:
            shapes.append((ly.weight, (ly.n_in, ly.n_out, R)))
            if ly.bias is not None:
                shapes.append((ly.bias, (ly.n_out, R)))
        shapes.sort(key=lambda item: order[item[0]])
        self.views = dict(zip([n for n, _ in shapes], self._flat(shapes, -1), strict=True))
        views = self.views
        self.W = [views[ly.weight][0] for ly in self.layers]
        self.gW = [views[ly.weight][2] for ly in self.layers]
        self.b = [None if ly.bias is None else views[ly.bias][0] for ly in self.layers]
        self.gb = [None if ly.bias is None else views[ly.bias][2] for ly in self.layers]
        self.load()
        # the rates, as 0-d arrays that the programs read
        self.l2_rate = np.zeros((), dt)  # −ε · decay
        self.scale = {s: np.zeros((), dt) for s in {self.B, self.tail} if s}  # −ε · factor
        self.one = np.ones((), dt)
        X = self.setup.X[self.order]
        D = self.setup.D[self.order][:, :, None]  # (N, n_out, 1)
        buffers = {size: self._buffers_last(size) for size in self.scale}
        n_chunks = self.full + (1 if self.tail else 0)
        shared = {size: (self.full if size == self.B else 0) + (size == self.tail) > 1
                  for size in buffers}  # buffers that several chunks use in turn
        self.programs: list[Program] = []
        #: ``records[k][c]``: copy chunk ``c``'s outputs to row ``k`` of the records
        self.records: list[list[Program]] = [[] for _ in range(self.record_y.shape[0])]
        for c in range(n_chunks):
            full = c < self.full
            size = self.B if full else self.tail
            cases = slice(c * self.B, c * self.B + size)
            bufs = buffers[size]
            self.programs.append(self._program(X[cases], D[cases], self.zeros[c], bufs,
                                               shared[size]))
            for k, row in enumerate(self.records):
                ops = [(np.copyto, (self.record_y[k, c] if full else self.tail_y[k],
                                    bufs[-1].y))]
                if self.record_x is not None:
                    ops.append((np.copyto, (self.record_x[k, c] if full else self.tail_x[k],
                                            bufs[-1].x)))
                row.append(ops)
        self.after: Program = []
        if self.cfg.stop_margin is not None:  # sweep grain: one chunk of all cases
            self._forward(self.after, X, self.zeros[0], buffers[self.B], shared[self.B])
        # bookkeeping scratch: residuals, flags for the side-of-mid test, per-sweep results
        self.residual = np.empty_like(self.record_y)
        self.tail_residual = np.empty_like(self.tail_y)
        self.flags = np.empty(self.record_y.shape, bool)
        self.tail_flags = np.empty(self.tail_y.shape, bool)
        self.high = self.record_d[:1] > setup.mid  # targets above the midpoint
        self.tail_high = self.tail_d[:1, None] > setup.mid
        rows = self.record_y.shape[0]
        self.reported, self.part = np.empty((rows, R), dt), np.empty((rows, R), dt)
        self.solved, self.ok = np.empty((rows, R), bool), np.empty((rows, R), bool)

    # ------------------------------------------------------------------ layout

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        return (size, n, self.R)

    def _record_shape(self, size: int) -> tuple[int, ...]:
        return (size, self.layers[-1].n_out, self.R)

    def _target_records(self, D: Array) -> tuple[Array, Array]:
        """Targets ``(…, B, n_out, 1)`` beside the records, cases in :attr:`order`."""
        self.order, self.zeros = self._zero_rows_first(self.setup.X)
        D = D[self.order][:, :, None]
        cut = self.full * self.B
        full = D[:cut].reshape(self.full, self.B, *D.shape[1:])
        rows = self.record_y.shape[0]
        return (np.broadcast_to(full, (rows, *full.shape)),
                np.broadcast_to(D[cut:], (rows, *D[cut:].shape)))

    def _zero_rows_first(self, X: Array) -> tuple[Array, list[int]]:
        """The case order (all-zero input rows first in each chunk) and their count per chunk.

        Only when the first layer has no bias and feeds a hidden group (see the
        class docstring) and :attr:`skip_zero_rows` is set (the ablation in
        ``benchmarks/run.py`` clears it); otherwise the cases stay in order and no row counts.
        """
        n_chunks = self.full + (1 if self.tail else 0)
        order = np.arange(self.N)
        if not self.skip_zero_rows or self.layers[0].bias is not None or len(self.layers) < 2:
            return order, [0] * n_chunks
        zero = ~X.any(axis=1)
        zeros = []
        for c in range(n_chunks):
            cases = order[c * self.B:(c + 1) * self.B]
            order[c * self.B:(c + 1) * self.B] = np.concatenate([cases[zero[cases]],
                                                                 cases[~zero[cases]]])
            zeros.append(int(zero[cases].sum()))
        return order, zeros

    def load(self) -> None:
        """Take the weights and ``Δw`` from the network and the optimizer."""
        steps = self.setup.optimizer.delta_w
        for name, (w, dw, _) in self.views.items():
            for dst, src in ((w, self.net.params[name]), (dw, steps[name])):
                np.copyto(dst, np.moveaxis(src[:, 0] if name.startswith("b:") else src, 0, -1))
        self.dw_in_G = False

    def store(self) -> None:
        steps = self.setup.optimizer.delta_w
        for name, (w, dw, g) in self.views.items():
            for src, dst in ((w, self.net.params[name]), (g if self.dw_in_G else dw, steps[name])):
                np.copyto(dst[:, 0] if name.startswith("b:") else dst, np.moveaxis(src, -1, 0))

    # ------------------------------------------------------------------ rates and eqs. (8)-(9)

    def _factor(self, size: int) -> float:
        """The constant of the output deltas: ``dE/dx = factor · (y − d) f'(x)``."""
        cfg, n_out = self.cfg, self.layers[-1].n_out
        factor = {"tss": 2.0, "mse": 2.0 / (size * n_out)}.get(cfg.error, 1.0)
        return factor / size if cfg.reduction == "mean" else factor

    def _rates_changed(self) -> None:
        assert self.rates is not None
        lr = float(self.rates[0])
        self.l2_rate[...] = -lr * self.cfg.decay
        for size, scale in self.scale.items():
            scale[...] = -lr * self._factor(size)
        self._build_step()

    def _build_step(self) -> None:
        """Eqs. (8)–(9) from ``G = −ε ∂E/∂w``, as a program: ``Δw = G (+ α Δw)``, ``w += Δw``."""
        if self.rates is None:
            return
        G, S = self.G, self.S
        ops: Program = []
        for w, g, tmp in self.l2:  # L2 decay: −ε (∂E/∂w + decay · w)
            ops += [(np.multiply, (w, self.l2_rate, tmp)), (np.add, (g, tmp, g))]
        dw = G  # eq (8)
        if self.rates[1] != 0.0:
            dw = S
            ops += [(np.multiply, (S, self.alpha, S)), (np.add, (S, G, S))]  # eq (9)
        self.step = ops + self._apply_step(dw)

    # ------------------------------------------------------------------ an update, as a program

    def _buffers_last(self, size: int) -> list[LastBuffers]:
        dt, R = self.dtype, self.R
        return [LastBuffers(size, ly.n_out, R, dt, self.one) for ly in self.layers]

    def _needs_x(self, i: int) -> bool:
        """Whether layer ``i``'s net input must be kept (recorded, or relu's derivative)."""
        last = i == len(self.layers) - 1
        return (last and self.record_x is not None) or self.layers[i].activation != "logistic"

    def _forward(self, ops: Program, X: Array, zeros: int, bufs: list[LastBuffers],
                 shared: bool) -> None:
        """Eqs. (1)–(2) for every replica at once; the first ``zeros`` cases have zero inputs.

        ``shared``: other chunks use the same buffers, so the constant activity of
        the zero-input cases is written at every update rather than once.
        """
        y_in = X
        for i, layer in enumerate(self.layers):
            W, b, buf = self.W[i], self.b[i], bufs[i]
            n_in, n_out, R = W.shape
            logistic = layer.activation == "logistic"
            rows = slice(zeros, None) if i == 0 else slice(None)
            if i == 0 and zeros:  # f(0) for the zero-input cases, whose net input is 0
                f = self.net.functions[self.net.groups[1].name]
                f0 = f.forward(np.zeros((), self.dtype)).astype(self.dtype)
                np.copyto(buf.y[:zeros], f0)
                if shared:
                    ops.append((np.copyto, (buf.y[:zeros], f0)))
            x = buf.e if logistic else buf.x  # logistic units compute e = exp(−x) in place
            if i == 0:  # the input group is shared: one matrix product for all replicas
                size = len(X) - zeros
                src = -X[rows] if logistic else X[rows]  # (−X) @ W = −x exactly
                ops.append((np.dot, (src, W.reshape(n_in, n_out * R),
                                     x[rows].reshape(size, n_out * R))))
                if b is not None:
                    ops.append((np.subtract if logistic else np.add, (x, b, x)))
                if logistic and self._needs_x(i):
                    ops.append((np.negative, (x, buf.x)))
            else:
                if n_in == 1:  # one source unit: nothing to sum
                    ops.append((np.multiply, (y_in, W[0], buf.x)))
                else:  # eq (1): x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]
                    ops.append((einsum("cir,ijr->cjr", buf.x), (y_in, W)))
                if b is not None:
                    ops.append((np.add, (buf.x, b, buf.x)))
                if logistic:
                    ops.append((np.negative, (buf.x, x)))
            if logistic:  # eq (2): y = 1 / (1 + e^-x)
                ops += [(np.exp, (x[rows], x[rows])), (np.add, (x[rows], self.one, buf.y[rows])),
                        (np.divide, (self.one, buf.y[rows], buf.y[rows]))]
            else:
                self._activate(ops, layer.activation, buf.x[rows], buf.y[rows], buf)
            y_in = buf.y

    def _program(self, X: Array, D: Array, zeros: int, bufs: list[LastBuffers],
                 shared: bool) -> Program:
        """One update on a chunk: forward, eqs. (3)–(7) backward, eqs. (8)–(9)."""
        ops: Program = []
        self._forward(ops, X, zeros, bufs, shared)
        layers, size = self.layers, len(X)
        last = len(layers) - 1
        out = bufs[last]
        if out.y.nbytes <= 1 << 20:  # targets for every replica: a plain subtraction
            D = np.ascontiguousarray(np.broadcast_to(D, out.y.shape))
        delta = out.delta
        ops.append((np.subtract, (out.y, D, delta)))  # eq (4): y - d
        if self.cfg.error != "cross_entropy":  # eq (5); cross-entropy: dE/dx = y - d
            delta = self._through_unit(ops, layers[last].activation, out.x, out.y, delta,
                                       delta, out)
        ops.append((np.multiply, (delta, self.scale[size], delta)))  # × −ε · factor
        for i in range(last, -1, -1):
            W = self.W[i]
            n_in, n_out, R = W.shape
            if self.gb[i] is not None:  # eq (6) for the bias, y_i = 1
                ops.append((partial(np.add.reduce, axis=0, out=self.gb[i]), (delta,)))
            if i == 0:  # eq (6) from the shared input: one matrix product
                live = slice(zeros if self.layers[0].bias is None else 0, None)
                ops.append((np.dot, (X[live].T, delta[live].reshape(-1, n_out * R),
                                     self.gW[0].reshape(n_in, n_out * R))))
                break
            below = bufs[i - 1]
            ops.append((einsum("cir,cjr->ijr", self.gW[i]), (below.y, delta)))  # eq (6)
            rows = slice(zeros, None) if i == 1 else slice(None)  # zero-input cases: no need
            d, back = delta[rows], below.back[rows]
            if n_out == 1:  # eq (7) with one target unit: nothing to sum
                ops.append((np.multiply, (d, W[:, 0], back)))
            else:  # eq (7): dE/dy_i = Σ_j dE/dx_j w_ji
                ops.append((einsum("cjr,ijr->cir", back), (d, W)))
            self._through_unit(ops, layers[i - 1].activation, below.x[rows], below.y[rows],
                               back, below.delta[rows], below.sliced(rows))
            delta = below.delta
        return ops

    def sweep(self, k: int) -> None:
        for program, record in zip(self.programs, self.records[k], strict=True):
            run(program)
            run(record)
            run(self.step)  # eqs (8)-(9)
        self.dw_in_G = self.rates[1] == 0.0

    def outputs_after(self, k: int) -> None:
        run(self.after)
        run(self.records[k][0])

    # ------------------------------------------------------------------ bookkeeping

    def measures(self, k: int) -> tuple[Array, Array]:
        """The block's error and solved flags summed over cases in this layout.

        The squared-error reports are ``factor · Σ (y − d)²`` over a sweep's cases
        and units; the others go through :func:`block_measures` on a transposed copy.
        """
        report = self.setup.report.name
        parts = [(self.record_y[:k], self.record_d[:k], self.high, self.residual[:k],
                  self.flags[:k])]
        if self.tail:
            parts.append((self.tail_y[:k, None], self.tail_d[:k, None], self.tail_high,
                          self.tail_residual[:k, None], self.tail_flags[:k, None]))
        if report not in ("sse", "tss", "mse"):  # (k, chunks, B, n, R) → (k, chunks, R, B, n)
            xs = [None, None] if self.record_x is None else [self.record_x[:k],
                                                              self.tail_x[:k, None]]
            return block_measures(self.setup, [
                (np.moveaxis(y, -1, 2), None if x is None else np.moveaxis(x, -1, 2),
                 np.moveaxis(np.broadcast_to(d, y.shape), -1, 2))
                for (y, d, _, _, _), x in zip(parts, xs, strict=False)])
        factor = {"sse": 0.5, "tss": 1.0, "mse": 1.0 / (self.N * self.layers[-1].n_out)}[report]
        reported, solved = self.reported[:k], self.solved[:k]
        for j, (y, d, high, r, flags) in enumerate(parts):
            np.subtract(y, d, out=r)
            self._on_target(y, high, r, flags, self.cfg.solve_margin,
                            solved if j == 0 else self.ok[:k])
            r = r.reshape(k, -1, self.R)
            np.einsum("kmr,kmr->kr", r, r, out=reported if j == 0 else self.part[:k])
            if j:
                solved &= self.ok[:k]
                reported += self.part[:k]
        reported *= factor
        return reported, solved

    def stopped_by_margin(self, k: int) -> Array:
        self.outputs_after(k)
        y, d = self.record_y[1:k + 1, :1], self.record_d[1:k + 1, :1]
        r, flags = self.residual[:k, :1], self.flags[:k, :1]
        np.subtract(y, d, out=r)
        return self._on_target(y, self.high, r, flags, self.cfg.stop_margin, self.ok[:k])

    def _on_target(self, y: Array, high: Array, r: Array, flags: Array,
                   margin: float | None, out: Array) -> Array:
        """``out`` ``(k, R)``: :func:`~backprop86.engine.base.on_target` for every case and
        unit of a sweep.

        ``y`` and ``r = y − d`` are ``(k, chunks, B, n, R)``, ``high = d > mid``;
        ``|r|`` replaces ``r`` when ``margin`` is given (all ``|r| < margin`` ⇔
        ``max |r| < margin``, NaN included).
        """
        k, R = out.shape
        if margin is None:
            np.greater(y, self.setup.mid, out=flags)
            np.equal(flags, high, out=flags)
            return np.logical_and.reduce(flags.reshape(k, -1, R), axis=1, out=out)
        np.abs(r, out=r)
        largest = np.maximum.reduce(r.reshape(k, -1, R), axis=1, out=self.part[:k])
        return np.less(largest, margin, out=out)


def einsum(subscripts: str, out: Array) -> Callable[..., Array]:
    """``np.einsum(subscripts, *operands, out=out)``: one pass for a product summed over an axis."""
    return partial(np.einsum, subscripts, out=out, optimize=False)


class LastBuffers:
    """One layer's arrays ``(B, n, R)`` for one update of :class:`NumpyLast`.

    ``e`` holds the logistic's ``exp(−x)``.
    """

    def __init__(self, size: int, n: int, R: int, dtype: np.dtype, one: Array) -> None:
        shape = (size, n, R)
        self.x, self.e, self.y, self.t, self.delta, self.back = (np.empty(shape, dtype)
                                                                 for _ in range(6))
        self.one = one  # 0-d
        self.zeros = np.zeros(shape, dtype)
        self.mask = np.empty(shape, bool)
        self.row = np.empty((size, 1, R), dtype)

    def sliced(self, rows: slice) -> LastBuffers:
        """The buffers ``_through_unit`` uses (``t``, ``mask``, ``one``) for the cases ``rows``."""
        view = object.__new__(LastBuffers)
        view.t, view.mask, view.one = self.t[rows], self.mask[rows], self.one
        return view


