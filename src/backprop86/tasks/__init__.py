"""Pattern sets: the inputs, targets and names of the cases a network learns.

A task generator is a function ``name(**params) -> Task`` registered with
:func:`register`; experiments name a generator and its parameters
(``[task] name = "parity"; bits = 4``).
"""

from __future__ import annotations

from collections.abc import Callable

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task

__all__ = ["TASKS", "Task", "make_task", "register"]

TASKS: dict[str, Callable[..., Task]] = {}


def register(name: str) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Decorator: make a task generator available by ``name``."""

    def deco(fn: Callable[..., Task]) -> Callable[..., Task]:
        TASKS[name] = fn
        return fn

    return deco


def make_task(name: str, **params: object) -> Task:
    """Build the task ``name`` with generator parameters ``params``."""
    try:
        generator = TASKS[name]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise ConfigError(f"unknown task {name!r}; expected one of {known}") from None
    try:
        return generator(**params)
    except TypeError as exc:
        raise ConfigError(f"task {name!r}: {exc}") from None


# Generators register themselves on import.
from backprop86.tasks import (  # noqa: E402,F401
    arithmetic,
    boolean,
    encoder,
    family,
    parity,
    symmetry,
)
