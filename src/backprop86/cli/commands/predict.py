"""``backprop86 predict MODEL DATA.csv [--out PRED.csv]``: apply a model that ``fit`` saved.

The CSV must hold the model's input columns (in any order); it may also hold
the model's target column, which is then ignored for the answers and used to
print the accuracy (classes) or R² (numbers). Any other column, or a missing
one, is one line naming it (exit 2): a table that differs from the one the
model learnt is refused rather than guessed at. Inputs are scaled as the model
records. The answers are every row's columns followed by ``predicted_TARGET``
and, for classes, ``p_CLASS`` (the outputs as probabilities,
:func:`backprop86.supervised.class_probabilities`), written to ``--out``
(atomically) or to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from backprop86 import data_files, supervised
from backprop86.errors import DataError
from backprop86.io import Output, atomic_write, check_outputs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="apply a model saved by fit to a CSV file",
                       description="Apply a model saved by `backprop86 fit` to the rows of a "
                                   "CSV file with the same input columns.")
    p.add_argument("model", type=Path, metavar="MODEL",
                   help="the model: MODEL.json and MODEL.npz (either name, or the stem)")
    p.add_argument("data", type=Path, metavar="DATA.csv", help="the rows to answer")
    p.add_argument("--out", type=Path, metavar="PRED.csv",
                   help="write the answers here (default: to stdout)")


def main(args: argparse.Namespace) -> int:
    check_outputs([Output("--out", args.out)],
                  [("DATA.csv", args.data), *(("MODEL", p) for p in supervised.model_paths(
                      args.model))])
    model = supervised.Model.load(args.model)
    table = data_files.read_csv(args.data)
    check_columns(table, model)
    X = data_files.numbers(table, model.inputs)
    answers, probabilities = model.predict(X)
    columns = [*table.columns, f"predicted_{model.target}"]
    if probabilities is not None:
        columns += [f"p_{c}" for c in model.classes]
    rows = []
    for i, row in enumerate(table.rows):
        if model.kind == "classification":
            extra = [str(answers[i]), *(f"{p:.6g}" for p in probabilities[i])]
        else:
            extra = [f"{float(v):.10g}" for v in np.atleast_1d(answers[i])]
        rows.append([*row, *extra])
    if args.out is None:
        data_files.write_csv(sys.stdout, columns, rows)
    else:
        with atomic_write(args.out) as fh:
            data_files.write_csv(fh, columns, rows)
        print(f"{len(rows)} predictions written to {args.out}")
    if model.target in table.columns:
        print(score_line(table, model, answers), file=sys.stderr if args.out is None else
              sys.stdout)
    return 0


def check_columns(table: data_files.Table, model: supervised.Model) -> None:
    """The table holds exactly the model's inputs, and perhaps its target: else one line."""
    missing = [c for c in model.inputs if c not in table.columns]
    if missing:
        raise DataError(
            f"{table.path} lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} that the model was trained on; expected the "
            f"model's inputs {', '.join(map(repr, model.inputs))}"
        )
    extra = [c for c in table.columns if c not in model.inputs and c != model.target]
    if extra:
        raise DataError(
            f"{table.path} has the column{'s' if len(extra) > 1 else ''} "
            f"{', '.join(map(repr, extra))} that the model does not know; expected its inputs "
            f"{', '.join(map(repr, model.inputs))} (and perhaps its target {model.target!r})"
        )


def score_line(table: data_files.Table, model: supervised.Model, answers: object) -> str:
    """Accuracy or R² against the table's own target column."""
    if model.kind == "classification":
        truth = data_files.labels(table, model.target)
        right = sum(a == t for a, t in zip(answers, truth, strict=True))  # type: ignore[call-overload]
        return (f"accuracy against column {model.target!r}: {right / len(truth):.3f} "
                f"({right}/{len(truth)} rows)")
    d = data_files.numbers(table, [model.target])
    r2 = float(supervised.r2(np.asarray(answers).reshape(1, len(d), -1), d)[0])
    return f"R² against column {model.target!r}: {r2:.3f} ({len(d)} rows)"
