"""Checks of negation nets (PDP Fig. 12, Table 9).

``three_xors``: each output depends on the flag and its own data bit only, i.e.
three separate XORs.
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import CheckResult, register
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task


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
