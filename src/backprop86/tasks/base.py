"""The :class:`Task` container and its validation, and the registry of task generators.

A task generator is a function ``name(**params) -> Task`` registered with
:func:`register`; :func:`make_task` builds a task by name. The generators'
modules register themselves when :mod:`backprop86.tasks` imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError, DataError, ShapeError
from backprop86.resources import check, task_estimate


def _numbers(task: str, what: str, value: object) -> Array:
    """``value`` as a float64 array (a float32 array is kept as it is, so that a float32
    network trains on it without a copy), or one clear error saying why it is not numbers."""
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        reason = "rows of different lengths" if "inhomogeneous" in str(exc) else str(exc)
        raise DataError(f"task {task!r}: {what} must be a table of numbers ({reason})") from None


@dataclass(frozen=True, eq=False)
class Task:
    """``N`` cases: ``inputs`` ``(N, n_in)``, ``targets`` ``(N, n_out)`` and their names.

    ``care`` (optional, 0/1, ``(N, n_out)``) marks targets that count; a 0 is a
    "don't care" target that contributes no error.

    ``test`` (optional): the task's own held-out cases, a :class:`Task` with the
    same inputs and outputs, for data that come with a fixed test set (MNIST's
    ``t10k`` files); the network trains on this task and is scored on ``test``.
    ``image_shape`` (optional): the inputs are images, ``(rows, cols)`` pixels in
    row-major order, so that weights from them can be drawn as images.
    """

    name: str
    inputs: Array
    targets: Array
    labels: tuple[str, ...] = ()
    care: Array | None = field(default=None, repr=False)
    description: str = ""
    test: Task | None = field(default=None, repr=False)
    image_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        X = _numbers(self.name, "inputs", self.inputs)
        D = _numbers(self.name, "targets", self.targets)
        if X.ndim != 2 or D.ndim != 2:
            raise ShapeError(
                f"task {self.name!r}: inputs and targets must be 2-D (cases, units), "
                f"got {X.shape} and {D.shape}"
            )
        if X.shape[0] == 0:
            raise ShapeError(f"task {self.name!r} has no cases; expected at least one")
        if X.shape[0] != D.shape[0]:
            raise ShapeError(
                f"task {self.name!r}: {X.shape[0]} input cases but {D.shape[0]} target cases"
            )
        for what, a in (("inputs", X), ("targets", D)):
            if not np.all(np.isfinite(a)):
                bad = np.argwhere(~np.isfinite(a))[0]
                raise DataError(
                    f"task {self.name!r}: {what} hold a non-finite value at case {bad[0]}, "
                    f"unit {bad[1]}; expected finite numbers"
                )
        object.__setattr__(self, "inputs", X)
        object.__setattr__(self, "targets", D)
        if self.care is not None:
            C = _numbers(self.name, "care mask", self.care)
            if C.shape != D.shape:
                raise ShapeError(
                    f"task {self.name!r}: care mask has shape {C.shape}, expected the targets' "
                    f"{D.shape}"
                )
            if not np.isin(C, (0.0, 1.0)).all():
                raise DataError(f"task {self.name!r}: the care mask must hold only 0 and 1")
            object.__setattr__(self, "care", C)
        labels = tuple(self.labels) or tuple(
            "".join(f"{v:g}" for v in row) for row in X
        )
        if len(labels) != X.shape[0]:
            raise ShapeError(f"task {self.name!r}: {len(labels)} labels for {X.shape[0]} cases")
        object.__setattr__(self, "labels", labels)
        if self.test is not None and (self.test.n_inputs, self.test.n_outputs) != (
                X.shape[1], D.shape[1]):
            raise ShapeError(
                f"task {self.name!r}: its test cases have {self.test.n_inputs} inputs and "
                f"{self.test.n_outputs} outputs, expected {X.shape[1]} and {D.shape[1]}"
            )
        if self.image_shape is not None and int(np.prod(self.image_shape)) != X.shape[1]:
            raise ShapeError(f"task {self.name!r}: images of {self.image_shape} pixels, but "
                             f"{X.shape[1]} inputs")

    @property
    def n_cases(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.targets.shape[1]

    def subset(self, index: Array, name: str | None = None) -> Task:
        """The cases ``index`` as a new task."""
        index = np.asarray(index)
        return Task(
            name or self.name,
            self.inputs[index],
            self.targets[index],
            tuple(self.labels[i] for i in index),
            None if self.care is None else self.care[index],
            self.description,
            self.test,
            self.image_shape,
        )

    def coded(self, low: float, high: float) -> Task:
        """Targets recoded from {0, 1} to {low, high} (PDP's 0.1/0.9; the handbook's tmax)."""
        if (low, high) == (0.0, 1.0):
            return self
        D = np.where(self.targets >= 0.5, high, low)
        test = None if self.test is None else self.test.coded(low, high)
        return Task(self.name, self.inputs, D, self.labels, self.care, self.description, test,
                    self.image_shape)


# ----------------------------------------------------------------------------
# The registry of task generators
# ----------------------------------------------------------------------------

TASKS: dict[str, Callable[..., Task]] = {}

#: Each generator's sizes from its parameters, ``(cases, inputs, outputs)``, known before
#: the cases are made (generators that read files have none).
SHAPES: dict[str, Callable[..., tuple[int, int, int]]] = {}


def register(
    name: str, shape: Callable[..., tuple[int, int, int]] | None = None
) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Decorator: make a task generator available by ``name``; ``shape(**params)`` gives
    its ``(cases, inputs, outputs)`` without making the cases (checking the parameters as
    the generator does), so that a size too large is refused before anything is made."""

    def deco(fn: Callable[..., Task]) -> Callable[..., Task]:
        TASKS[name] = fn
        if shape is not None:
            SHAPES[name] = shape
        return fn

    return deco


def _generator(name: str) -> Callable[..., Task]:
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise ConfigError(f"unknown task {name!r}; expected one of {known}") from None


def task_shape(name: str, **params: object) -> tuple[int, int, int] | None:
    """``(cases, inputs, outputs)`` of the task ``name`` with ``params``, without making it;
    ``None`` when its generator reads them from files, or when ``params`` do not fit its
    signature (the generator then says so)."""
    _generator(name)
    if name not in SHAPES:
        return None
    try:
        return SHAPES[name](**params)
    except TypeError:
        return None


def make_task(name: str, **params: object) -> Task:
    """Build the task ``name`` with generator parameters ``params``; a task whose cases would
    not fit in memory is refused before they are made (:mod:`backprop86.resources`)."""
    generator = _generator(name)
    shape = task_shape(name, **params)
    if shape is not None:
        check(task_estimate(*shape), f"task {name!r} with {shape[0]:,} cases",
              {"cases": " or ".join(params) or "its parameters"})
    try:
        return generator(**params)
    except TypeError as exc:
        raise ConfigError(f"task {name!r}: {exc}") from None
