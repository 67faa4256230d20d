"""The NumPy replica-first engine: the readable layout ``(R, cases, units)``, bit for bit.

It performs the readable engine's floating-point operations in the same order,
so its numbers are the readable engine's **bit for bit** — except that the
logistic of a net input below ``−log(max float) + 1`` (−708 in float64, −87 in
float32) is ``1/(1 + e^{−x})`` (or 0) rather than the readable path's correctly
rounded ``e^x``: both are below 1e-307 (1e-38). Used for one network and for
large layers (``tests/test_engine_numpy.py``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Setup, chunks
from backprop86.engine.blocked import BlockEngine, Buffers, Program, run


class NumpyFirst(BlockEngine):
    """The readable engine's layout ``(R, cases, units)`` and its exact sequence of operations.

    For one network (``R = 1``) the replica axis is dropped and ``np.dot`` used,
    which for 2-D arrays calls the same BLAS routine as ``@`` with less overhead.
    ``net.params`` and the optimizer's ``Δw`` become views of the flat arrays.
    """

    name = "numpy-first"

    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        net, R, dt = self.net, self.R, self.dtype
        self.mm = np.dot if R == 1 else np.matmul
        steps = setup.optimizer.delta_w
        names = list(net.params)
        views = self._flat([(n, net.params[n].shape) for n in names], 0)
        for name, (w, dw, _) in zip(names, views, strict=True):
            np.copyto(w, net.params[name])
            np.copyto(dw, steps[name])
            net.params[name], steps[name] = w, dw  # the network trains in place
        by_name = dict(zip(names, views, strict=True))
        sq = self.squeeze
        self.W = [sq(by_name[ly.weight][0]) for ly in self.layers]
        self.gW = [sq(by_name[ly.weight][2]) for ly in self.layers]
        self.b = [None if ly.bias is None else sq(by_name[ly.bias][0]) for ly in self.layers]
        self.gb = [None if ly.bias is None else sq(by_name[ly.bias][2]) for ly in self.layers]
        buffers = {size: self._buffers(size) for size in {self.B, self.tail} if size}
        X = setup.X
        X3 = X[None] if X.ndim == 2 else X  # (1 or R, N, n_in)
        self.gathered: dict[int, tuple[Array, Array]] = {}
        if self.cfg.order != "sequential":  # gathered cases of one chunk, (R, size, n)
            self.gathered = {size: (np.empty((R, size, X.shape[-1]), dt),
                                    np.empty((R, size, setup.D.shape[-1]), dt))
                             for size in buffers}
        self.programs: list[list[Program]] = []
        for k in range(self.block):
            row = []
            for c in range(self.full + (1 if self.tail else 0)):
                full = c < self.full
                size = self.B if full else self.tail
                if self.gathered:
                    y_in = self.gathered[size][0]
                else:
                    y_in = X3[:, c * self.B:c * self.B + size]
                rec_x = (None if self.record_x is None else
                         self.record_x[k, c] if full else self.tail_x[k])
                row.append(self._program(
                    sq(y_in), buffers[size],
                    buffers[size][-1].x if rec_x is None else sq(rec_x),
                    sq(self.record_y[k, c] if full else self.tail_y[k]),
                    sq(self.record_d[k, c] if full else self.tail_d[k]), size))
            self.programs.append(row)
        self.after: list[Program] = []
        if self.cfg.stop_margin is not None:
            for k in range(self.block + 1):
                ops: Program = []
                self._forward(ops, sq(X3), buffers[self.B], buffers[self.B][-1].x,
                              sq(self.record_y[k, 0]))
                self.after.append(ops)

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        return (size, n) if self.R == 1 else (self.R, size, n)

    def squeeze(self, a: Array) -> Array:
        """Drop the replica axis of one network's arrays."""
        return a[0] if self.R == 1 else a

    def _forward(self, ops: Program, y_in: Array, bufs: list[Buffers], x_out: Array,
                 y_out: Array) -> None:
        """Eqs. (1)–(2) layer by layer; the output group's ``x, y`` go to ``x_out, y_out``."""
        last = len(self.layers) - 1
        for i, buf in enumerate(bufs):
            x, y = (x_out, y_out) if i == last else (buf.x, buf.y)
            ops.append((self.mm, (y_in, self.W[i], x)))  # eq (1): x = y_in @ W
            self._bias_activate(ops, i, x, y, buf)
            y_in = y

    def _bias_activate(self, ops: Program, i: int, x: Array, y: Array, buf: Buffers) -> None:
        """Eq. (1)'s bias, ``x += b``, then eq. (2), ``y = f(x)``, for layer ``i``."""
        if self.b[i] is not None:
            ops.append((np.add, (x, self.b[i], x)))
        self._activate(ops, self.layers[i].activation, x, y, buf)

    def _program(self, y_in: Array, bufs: list[Buffers], x_out: Array, y_out: Array,
                 d: Array, size: int) -> Program:
        """Forward, eqs. (3)–(7) backward, and eqs. (8)–(9) for one chunk of ``size`` cases."""
        ops: Program = []
        self._forward(ops, y_in, bufs, x_out, y_out)
        mm, layers = self.mm, self.layers
        last = len(layers) - 1
        delta = self._output_delta_and_bias(ops, x_out, y_out, d, bufs[last], size,
                                            self.gb[last])
        for i in range(last, -1, -1):
            y_src = y_in if i == 0 else bufs[i - 1].y
            ops.append((mm, (y_src.swapaxes(-1, -2), delta, self.gW[i])))  # eq (6)
            if i == 0:
                break
            # eq (7): dE/dy_i = Σ_j dE/dx_j w_ji
            ops.append((mm, (delta, self.W[i].swapaxes(-1, -2), bufs[i - 1].back)))
            delta = self._hidden_delta_and_bias(ops, i - 1, bufs[i - 1], self.gb[i - 1])
        return ops

    def _output_delta_and_bias(self, ops: Program, x: Array, y: Array, d: Array, buf: Buffers,
                               size: int, gb: Array | None) -> Array:
        """Eqs. (4)–(5) at the output group, then eq. (6) for its bias (``y_i = 1``)."""
        delta = self._output_delta(ops, x, y, d, buf, size)
        self._bias_gradient(ops, delta, gb)
        return delta

    def _hidden_delta_and_bias(self, ops: Program, i: int, buf: Buffers,
                               gb: Array | None) -> Array:
        """Eq. (5) into layer ``i``'s units from ``buf.back`` (eq. 7), then its bias's eq. (6)."""
        delta = self._through_unit(ops, self.layers[i].activation, buf.x, buf.y, buf.back,
                                   buf.delta, buf)
        self._bias_gradient(ops, delta, gb)
        return delta

    def _bias_gradient(self, ops: Program, delta: Array, gb: Array | None) -> None:
        """Eq. (6) for a bias: ``∂E/∂b = Σ_cases δ``."""
        if gb is not None:
            ops.append((partial(np.add.reduce, axis=-2, keepdims=True, out=gb), (delta,)))

    def sweep(self, k: int) -> None:
        if not self.gathered:
            for program in self.programs[k]:
                run(program)
                run(self.step)  # eqs (8)-(9)
        else:
            st = self.setup
            order, X, D = chunks(st.n_cases, self.cfg, st.order_rngs), st.X, st.D
            for c, program in enumerate(self.programs[k]):
                size = order[c].shape[1]
                x_in, d_in = self.gathered[size]
                np.take(X, order[c], axis=0, out=x_in)  # this chunk's cases, shuffled
                np.take(D, order[c], axis=0, out=d_in)
                np.copyto(self.record_d[k, c] if c < self.full else self.tail_d[k], d_in)
                run(program)
                run(self.step)
        self.dw_in_G = self.rates[1] == 0.0

    def outputs_after(self, k: int) -> None:
        run(self.after[k])


