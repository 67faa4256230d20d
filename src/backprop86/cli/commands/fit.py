"""``backprop86 fit DATA.csv --target COLUMN --out MODEL``: the 1986 network on your own table.

Reads the CSV (:func:`backprop86.data_files.read_csv`), takes every column but
the target as an input, holds ``--test-fraction`` of the rows out (stratified
by class), standardises the inputs on the training rows (``z = (v − mean) /
std``; for regression the target too), trains ``--seeds`` networks as one batch
(:func:`backprop86.supervised.fit_best`) and prints the training and test
scores, with the confusion matrix of the test rows for classes. The model is
saved as ``MODEL.npz`` (weights, no pickle) and ``MODEL.json`` (network,
settings, column names, scaling, class labels, scores); ``backprop86 predict``
applies it.

Classification or regression: ``--task``, or, by default, from the target
column: text in it, or at most :data:`MAX_INTEGER_CLASSES` distinct integers,
means classes; other numbers mean regression. The line ``task: …`` says which
and why. Every problem with the data or the destination is found before
training and reported in one line (exit 2); an existing model is replaced only
when the new one is complete: Ctrl-C saves the partly trained model as
``MODEL.partial.npz`` and ``MODEL.partial.json`` (and ``--json`` as
``PATH.partial.json``), never over a complete one, and exits 130.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from backprop86 import data_files, fmt, supervised
from backprop86.cli.args import UsageError, positive_int
from backprop86.cli.commands.common import add_json_arg
from backprop86.cli.interrupted import INTERRUPTED, output_path, say_partial
from backprop86.cli.progress import sweep_bar
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError, DataError
from backprop86.experiments.runner import engine_line
from backprop86.io import Output, check_outputs, save_json, versions
from backprop86.resources import SizeError, whole_number
from backprop86.tasks.table import class_order

PROG = "backprop86 fit"
#: A numeric target with at most this many distinct values, all integers, is taken as classes.
MAX_INTEGER_CLASSES = 10


def hidden_sizes(text: str) -> tuple[int, ...]:
    """argparse type: ``"8"`` or ``"8,4"`` (one size per hidden group), ``"0"`` for none."""
    parts = text.replace(" ", "").split(",")
    if not all(parts):  # "4," or ",4": a size left out
        raise argparse.ArgumentTypeError(
            f"expected hidden-unit counts like 8 or 8,4 (0 for no hidden layer), with every "
            f"count given, got {text!r}")
    try:
        sizes = tuple(whole_number("--hidden", p, 0) for p in parts)
    except SizeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ConfigError:
        sizes = (-1,)
    if not sizes or any(s < 0 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected hidden-unit counts like 8 or 8,4 (0 for no hidden layer), got {text!r}")
    return tuple(s for s in sizes if s > 0)


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="train on a CSV file and save the model",
                       description="Train the 1986 network on a CSV table (a header row, one "
                                   "row per case) and save the model for `backprop86 predict`.")
    p.add_argument("data", type=Path, metavar="DATA.csv", help="the table to learn")
    p.add_argument("--target", required=True, metavar="COLUMN",
                   help="the column to predict; every other column is an input")
    p.add_argument("--out", required=True, type=Path, metavar="MODEL",
                   help="save the model as MODEL.npz (weights) and MODEL.json (the rest)")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="classes or numbers (default: decided from the target column)")
    p.add_argument("--hidden", type=hidden_sizes, default=(16,), metavar="H[,H2…]",
                   help="hidden units per hidden group (default 16; 0: none)")
    p.add_argument("--activation", default="logistic",
                   help="hidden units: logistic (default, 1986), tanh, relu or linear")
    p.add_argument("--output", choices=supervised.CLASS_OUTPUTS, default="logistic",
                   help="classes: one logistic unit per class (default, 1986) or softmax with "
                        "the cross-entropy error")
    p.add_argument("--test-fraction", type=fraction, default=0.2, metavar="F",
                   help="fraction of rows held out and scored (default 0.2; 0: none)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                   help="train K seeds as one batch and keep the best on a validation split "
                        "of the training rows (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="the first seed (default 0): weights, pattern order and the splits")
    p.add_argument("--validation-fraction", type=fraction, default=0.2, metavar="F",
                   help="fraction of the training rows held out to choose among --seeds "
                        "(default 0.2)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="a training setting (TrainConfig), e.g. --set lr=0.1 --set max_sweeps=500")
    add_json_arg(p)


def main(args: argparse.Namespace) -> int:
    weights, meta = supervised.model_paths(args.out)
    check_outputs([Output("--out (weights)", weights), Output("--out (model)", meta),
                   Output("--json", args.json)], [("DATA.csv", args.data)])  # before training
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer ≥ 0, got {args.seed}", PROG)
    table = data_files.read_csv(args.data)
    table.index(args.target)  # an unknown target column: one line naming the columns
    inputs = [c for c in table.columns if c != args.target]
    if not inputs:
        raise DataError(f"{table.path} has only the target column {args.target!r}; expected "
                        "at least one input column beside it")
    X = data_files.numbers(table, inputs)
    kind, why = decide_kind(table, args.target, args.task)
    base = supervised.TABLE_CONFIG
    if kind == "regression":
        base = base.replace(lr=supervised.REGRESSION_LR)
    elif args.output == "softmax":
        base = base.replace(error="cross_entropy", report="cross_entropy")
    config = base.override(args.settings)
    if kind == "classification":
        cells = data_files.labels(table, args.target)
        classes = class_order(cells)
        if len(classes) < 2:
            raise DataError(f"{table.path}, column {args.target!r}: every row holds the class "
                            f"{classes[0]!r}; a classifier needs at least 2 classes")
        index = np.array([classes.index(c) for c in cells])
        D = supervised.class_targets(index, len(classes), args.output)
        output = args.output
    else:
        classes, index = [], None
        D = data_files.numbers(table, [args.target])
        output = "linear"
    supervised.check_size(len(X), X.shape[1], args.hidden, D.shape[1], args.seeds, config,
                          {"replicas": "--seeds", "units": "--hidden", "cases": "the rows"})
    seeds = list(range(args.seed, args.seed + args.seeds))
    if args.test_fraction > 0:
        train, test = supervised.validation_split(len(X), args.test_fraction, args.seed, index)
    else:
        train, test = np.arange(len(X)), np.arange(0)
    if args.seeds > 1 and len(train) < 2:
        raise DataError(f"{table.path}: {len(train)} training row; --seeds {args.seeds} needs at "
                        "least 2 to hold some out for validation")
    x_scale = supervised.Scaling.of(X[train])
    d_scale = supervised.Scaling.of(D[train]) if kind == "regression" else None
    Dt = D if d_scale is None else d_scale.apply(D)
    work = len(seeds) * config.max_sweeps * len(train)
    with sweep_bar(config.max_sweeps, PROG, work) as progress:
        fit = supervised.fit_best(
            x_scale.apply(X[train]), Dt[train], kind=kind, hidden=args.hidden,
            activation=args.activation, output=output, config=config, seeds=seeds,
            validation_fraction=args.validation_fraction, progress=progress,
        )
    complete = not fit.result.interrupted
    model = supervised.Model(kind, inputs, args.target, classes, x_scale, d_scale, fit.net, {})
    print(f"{table.path}: {len(X)} rows, {len(inputs)} inputs ({', '.join(inputs)}), "
          f"target {args.target!r}")
    print(f"task: {kind} ({why})")
    sizes = "-".join(str(g.size) for g in fit.net.groups)
    print(f"network {sizes}: {args.activation} hidden units, "
          + ("linear output" if kind == "regression" else
             "softmax outputs" if output == "softmax" else
             "one logistic output unit" + (" per class" if len(classes) > 2 else ""))
          + f"; {len(train)} rows trained, {len(test)} held out for testing")
    record = training_lines(fit, seeds, config)
    scores = report_scores(model, X, D, index, train, test)
    model.record = {"data": str(args.data), "rows": {"train": len(train), "test": len(test)},
                    "config": config.to_dict(), "seeds": seeds, **record, "scores": scores,
                    "versions": versions()}
    if not complete:
        model.record["interrupted_at"] = fit.trainer.sweep
    out = args.out if complete else weights.with_name(f"{weights.stem}.partial")
    saved_weights, saved_meta = model.save(out)
    print(f"model: {saved_meta} and {saved_weights}")
    json_path = None if args.json is None else output_path(args.json, complete=complete)
    if json_path is not None:
        save_json(json_path, {"model": str(saved_meta), **model.record})
    if complete:
        return 0
    print(f"\ninterrupted at sweep {fit.trainer.sweep:,}: the model is only partly trained")
    say_partial(PROG, [(meta, saved_meta), (weights, saved_weights),
                       *([(args.json, json_path)] if json_path is not None else [])])
    return INTERRUPTED


def decide_kind(table: data_files.Table, target: str, task: str) -> tuple[str, str]:
    """``classification`` or ``regression`` for ``--task``, and the reason in words."""
    cells = table.column(target)
    if task != "auto":
        if task == "regression":
            data_files.numbers(table, [target])  # every target a number, or one clear line
        return task, f"--task {task}"
    values = [data_files.parse_number(c) for c in cells]
    text = [c for c, v in zip(cells, values, strict=True) if v is None and c]
    if text:
        return "classification", f"column {target!r} holds text, e.g. {text[0]!r}"
    if any(not c for c in cells):
        data_files.labels(table, target)  # the first empty cell, in one line
    distinct = set(values)
    if all(float(v).is_integer() for v in distinct) and len(distinct) <= MAX_INTEGER_CLASSES:
        return "classification", (f"column {target!r} holds {len(distinct)} distinct integers; "
                                  "--task regression to predict them as numbers")
    return "regression", (f"column {target!r} holds numbers, {len(distinct)} distinct; "
                          "--task classification to treat them as classes")


def training_lines(fit: supervised.Fit, seeds: list[int], config: TrainConfig) -> dict:
    """Print how training went; return its record for the model file."""
    r = fit.best
    result = fit.result
    which = (f"{len(seeds)} seeds ({seeds[0]}–{seeds[-1]}) as one batch" if len(seeds) > 1
             else f"seed {seeds[0]}")
    line = f"trained: {which}, {int(result.sweeps[r]):,} sweeps of {config.grain} updates"
    print(line)
    if len(seeds) > 1:
        scores = ", ".join(f"{s}: {'diverged' if not np.isfinite(v) else f'{v:.3f}'}"
                           for s, v in zip(seeds, fit.scores, strict=True))
        print(f"validation score per seed ({len(fit.held_out)} rows held out of training): "
              f"{scores}; kept seed {seeds[r]}")
    print(engine_line(result.engine, result.why_not))
    return {"best_seed": seeds[r], "seed_scores": [None if not np.isfinite(v) else float(v)
                                                   for v in fit.scores],
            "sweeps": int(result.sweeps[r]), "engine": result.engine}


def report_scores(model: supervised.Model, X: np.ndarray, D: np.ndarray, index: np.ndarray | None,
                  train: np.ndarray, test: np.ndarray) -> dict:
    """Print the training and test scores (and the confusion matrix); return them."""
    print()
    out: dict = {}
    parts = [("train", train)] + ([("test", test)] if len(test) else [])
    if model.kind == "classification":
        assert index is not None
        rows = []
        for name, rows_idx in parts:
            given = supervised.class_index(model.outputs(X[rows_idx]))
            right = int(np.sum(given == index[rows_idx]))
            n = len(rows_idx)
            out[name] = {"accuracy": right / n, "correct": right, "rows": n}
            rows.append((name, f"{right / n:.3f}", f"{right}/{n}"))
        print("\n".join(fmt.table([("", "accuracy", "rows right"), *rows], "<>>")))
        name, rows_idx = parts[-1]
        given = supervised.class_index(model.outputs(X[rows_idx]))
        matrix = supervised.confusion(index[rows_idx], given, len(model.classes))
        out["confusion"] = {"rows": name, "matrix": matrix.tolist()}
        print(f"\nconfusion matrix ({name} rows; row: true class, column: class given)")
        header = ("", *model.classes)
        body = [(c, *map(str, matrix[i])) for i, c in enumerate(model.classes)]
        print("\n".join(fmt.table([header, *body], "<" + ">" * len(model.classes))))
    else:
        rows = []
        for name, rows_idx in parts:
            y = model.predict(X[rows_idx])[0]
            d = D[rows_idx]
            rmse = float(np.sqrt(np.mean((y - d) ** 2)))
            r2 = float(supervised.r2(np.asarray(y)[None], d)[0])
            out[name] = {"r2": r2, "rmse": rmse, "rows": len(rows_idx)}
            rows.append((name, f"{r2:.3f}", f"{rmse:.4g}", str(len(rows_idx))))
        print("\n".join(fmt.table([("", "R²", "RMSE", "rows"), *rows], "<>>>")))
    print()
    return out

