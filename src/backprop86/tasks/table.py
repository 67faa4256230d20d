"""A CSV table as a task: one column's classes predicted from the other columns' numbers.

``[task] name = "csv"; path = "data.csv"; target = "label"`` reads the file with
:func:`backprop86.data_files.read_csv` (the reader ``backprop86 fit`` uses, with its
one-line errors naming the line, row and column), so a file the page accepts is a
file ``backprop86 run`` accepts. Every column but ``target`` is an input and must hold
numbers; ``target`` holds class labels (text or numbers), at least two and at most
:data:`MAX_CLASSES` distinct ones, in numeric order when all are numbers, else
alphabetical. Two classes make one output unit (the second class is 1); more make one
unit per class (1 for the row's class, 0 for the others).

``standardize`` (default true) rescales each input column to mean 0 and standard
deviation 1 over the training rows, so that raw units (metres, euros) do not saturate
logistic units. ``test`` is the fraction of rows held out as the task's
:attr:`~backprop86.tasks.base.Task.test` cases, drawn by ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np

from backprop86 import data_files
from backprop86.errors import ConfigError, DataError
from backprop86.tasks.base import Task, register

#: The most distinct target classes a CSV task may have.
MAX_CLASSES = 20


def class_order(cells: list[str]) -> list[str]:
    """The distinct labels, in numeric order when all are numbers, else alphabetical."""
    distinct = sorted(set(cells))
    values = [data_files.parse_number(c) for c in distinct]
    if all(v is not None for v in values):
        return [c for _, c in sorted(zip(values, distinct, strict=True))]
    return distinct


@register("csv")
def csv(path: str, target: str, test: float = 0.0, seed: int = 0,
        standardize: bool = True) -> Task:
    """The rows of the CSV file ``path``: inputs from every other column, the class of
    ``target`` as the output (see the module)."""
    if not isinstance(path, str) or not isinstance(target, str):
        raise ConfigError(f"task csv needs path and target as text, got {path!r}, {target!r}")
    ok = not isinstance(test, bool) and isinstance(test, (int, float)) and 0 <= test < 0.9
    if not ok:
        raise ConfigError(f"test must be a fraction from 0 to 0.9 (exclusive), got {test!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an integer ≥ 0, got {seed!r}")
    table = data_files.read_csv(path)
    table.index(target)  # a missing column: one line naming the file's columns
    inputs = [c for c in table.columns if c != target]
    if not inputs:
        raise DataError(f"{table.path} has only the column {target!r}; expected at least one "
                        "input column besides the target")
    X = data_files.numbers(table, inputs)
    cells = data_files.labels(table, target)
    classes = class_order(cells)
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise DataError(f"{table.path}: column {target!r} holds {len(classes)} distinct "
                        f"value{'s' * (len(classes) != 1)}; expected 2 to {MAX_CLASSES} classes")
    index = np.array([classes.index(c) for c in cells])
    two = len(classes) == 2  # one output unit, else one per class
    D = index[:, None].astype(np.float64) if two else np.eye(len(classes))[index]
    n = X.shape[0]
    held = round(n * float(test))
    if n - held < 2:
        raise ConfigError(f"test = {test} leaves fewer than 2 of the {n} rows to train on")
    order = np.random.default_rng(seed).permutation(n) if held else np.arange(n)
    train_rows, test_rows = order[held:], order[:held]
    if standardize:
        mean, sd = X[train_rows].mean(axis=0), X[train_rows].std(axis=0)
        X = (X - mean) / np.where(sd > 0, sd, 1.0)
    labels = tuple(f"row {i + 1}: {cells[i]}" for i in range(n))
    name = f"csv:{target}"
    description = f"{target!r} ({', '.join(classes)}) from {', '.join(inputs)}"

    def rows(which: np.ndarray, label: str) -> Task:
        return Task(label, X[which], D[which], tuple(labels[i] for i in which),
                    description=description)

    test_task = rows(test_rows, f"{name}-test") if held else None
    train = rows(train_rows, name)
    return Task(train.name, train.inputs, train.targets, train.labels,
                description=description, test=test_task)
