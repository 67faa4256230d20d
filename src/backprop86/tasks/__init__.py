"""Pattern sets: the inputs, targets and names of the cases a network learns.

A task generator is a function ``name(**params) -> Task`` registered with
:func:`register` (:mod:`backprop86.tasks.base`); experiments name a generator and
its parameters (``[task] name = "parity"; bits = 4``). Importing this package
imports every generator module, so that each registers itself. Tasks are plain
arrays: they know nothing of networks.
"""

from __future__ import annotations

from backprop86.tasks import (
    arithmetic,
    boolean,
    digits,
    encoder,
    family,
    parity,
    points,
    sequence,
    shapes,
    shift,
    symmetry,
    table,
)
from backprop86.tasks.base import TASKS, Task, make_task, register, task_shape

__all__ = ["TASKS", "Task", "make_task", "register", "task_shape"]

#: The generator modules (imported for their registrations).
GENERATORS = (arithmetic, boolean, digits, encoder, family, parity, points, sequence, shapes,
              shift, symmetry, table)
