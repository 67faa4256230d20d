"""What a page asks to train, checked, and turned into an experiment table.

A page's *setup* is one flat JSON object (it is also the page's URL state)::

    {"task": "spirals",            # an experiment (`backprop86 list`), a point set
                                   # (xor_points, circle, spirals, blobs) or "csv:ID"
     "n": 200, "noise": 0.1, "test": 0.2, "data_seed": 0,   # point sets
     "target": "label",            # an uploaded CSV: the column to predict
     "hidden": [8, 8],             # hidden group sizes of a chain network
     "activation": "tanh", "bias": true,
     "lr": 0.03, "momentum": 0.9, "grain": "pattern", "error": "cross_entropy",
     "seed": 0, "max_sweeps": 2000}

Only ``task`` is required; a key left out keeps the experiment's own value (or, for a
point set or a CSV, the default below). :func:`table` turns a setup into an experiment
table — the very document ``backprop86 run`` reads from a TOML file — and
:func:`experiment` into an :class:`~backprop86.experiments.Experiment`, so the page
trains exactly what its exported TOML file runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backprop86 import experiments
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError
from backprop86.experiments import Experiment
from backprop86.serve.limits import LIMITS, Limits
from backprop86.serve.toml_text import dumps
from backprop86.tasks.points import SETS
from backprop86.version import __version__

#: The settings of a setup and what each must be, in words.
KEYS = {
    "task": "an experiment's name, a point set or csv:ID",
    "n": "the number of points, an integer",
    "noise": "a number from 0 to 1",
    "test": "a fraction from 0 to 0.9",
    "data_seed": "an integer ≥ 0",
    "target": "a column name",
    "hidden": "a list of hidden group sizes",
    "activation": "logistic, tanh, relu or linear",
    "bias": "true or false",
    "lr": "a number > 0",
    "momentum": "a number in [0, 1)",
    "grain": "sweep, pattern or minibatch",
    "error": "sse, tss, mse, cross_entropy or dead_zone",
    "seed": "an integer ≥ 0",
    "max_sweeps": "an integer ≥ 1",
}

ACTIVATIONS = ("logistic", "tanh", "relu", "linear")
#: The training settings a page may change, and the TrainConfig field each sets.
TRAIN_KEYS = ("lr", "momentum", "grain", "error", "max_sweeps")

#: A point set's training settings when the page gives none.
POINT_DEFAULTS: dict[str, Any] = {
    "n": 200, "noise": 0.0, "test": 0.2, "data_seed": 0, "hidden": [8],
    "activation": "tanh", "bias": True, "lr": 0.02, "momentum": 0.9, "grain": "minibatch",
    "error": "cross_entropy", "seed": 0, "max_sweeps": 2000,
}


@dataclass(frozen=True)
class Uploaded:
    """An uploaded CSV as the server keeps it: where it lies and the name it came with."""

    path: str
    filename: str
    columns: tuple[str, ...]
    rows: int
    target: str


def integer(key: str, v: Any, low: int, high: int) -> int:
    """``v`` when it is an integer (not a bool) from ``low`` to ``high``; else one line."""
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ConfigError(f"{key} must be an integer from {low:,} to {high:,}, got {v!r}")
    return v


def _number(key: str, v: Any, low: float, high: float, *, open_high: bool = False,
            open_low: bool = False) -> float:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    if ok:
        ok = (v > low if open_low else v >= low) and (v < high if open_high else v <= high)
    if not ok:
        span = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ConfigError(f"{key} must be a number in {span}, got {v!r}")
    return float(v)


def _choice(key: str, v: Any, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {v!r}")
    return str(v)


def check(setup: Any, limits: Limits = LIMITS) -> dict[str, Any]:
    """The setup with every value checked against its type and the page's limits."""
    if not isinstance(setup, Mapping):
        raise ConfigError(f"a setup must be a JSON object, got {type(setup).__name__}")
    unknown = sorted(str(k) for k in setup if k not in KEYS)
    if unknown:
        raise ConfigError(f"unknown setup keys {unknown}; expected some of {', '.join(KEYS)}")
    if "task" not in setup:
        raise ConfigError("a setup needs task: " + KEYS["task"])
    out: dict[str, Any] = {}
    task = setup["task"]
    if not isinstance(task, str) or not task or len(task) > 100:
        raise ConfigError(f"task must be {KEYS['task']}, got {task!r}")
    if not (task in SETS or task.startswith("csv:") or task in experiments.names()):
        raise ConfigError(f"unknown task {task!r}; expected one of "
                          f"{', '.join([*experiments.names(), *SETS])} or csv:ID")
    out["task"] = task
    checks: dict[str, Callable[[Any], Any]] = {
        "n": lambda v: integer("n", v, 4, limits.points),
        "noise": lambda v: _number("noise", v, 0, 1),
        "test": lambda v: _number("test", v, 0, 0.9, open_high=True),
        "data_seed": lambda v: integer("data_seed", v, 0, 2**32 - 1),
        "target": lambda v: _text("target", v),
        "hidden": lambda v: _hidden(v, limits),
        "activation": lambda v: _choice("activation", v, ACTIVATIONS),
        "bias": lambda v: _flag("bias", v),
        "lr": lambda v: _number("lr", v, 0, 100, open_low=True),
        "momentum": lambda v: _number("momentum", v, 0, 1, open_high=True),
        "grain": lambda v: _choice("grain", v, ("sweep", "pattern", "minibatch")),
        "error": lambda v: _choice("error", v, ("sse", "tss", "mse", "cross_entropy",
                                                "dead_zone")),
        "seed": lambda v: integer("seed", v, 0, 2**32 - 1),
        "max_sweeps": lambda v: integer("max_sweeps", v, 1, limits.sweeps),
    }
    for k, v in setup.items():
        if k != "task":
            out[k] = checks[k](v)
    return out


def _text(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v or len(v) > 200:
        raise ConfigError(f"{key} must be {KEYS[key]} (1 to 200 characters), got {v!r}")
    return v


def _flag(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{key} must be true or false, got {v!r}")
    return v


def _hidden(v: Any, limits: Limits) -> list[int]:
    if not isinstance(v, list) or len(v) > limits.hidden_groups:
        raise ConfigError(f"hidden must be a list of at most {limits.hidden_groups} group "
                          f"sizes, got {v!r}")
    return [integer("each hidden group size", s, 1, limits.units) for s in v]


def table(setup: Mapping[str, Any], uploads: Mapping[str, Uploaded] | None = None,
          limits: Limits = LIMITS) -> dict[str, Any]:
    """The experiment table (a parsed TOML document) of a checked setup."""
    s = check(setup, limits)
    task = s["task"]
    if task in SETS:
        return _points_table(s)
    if task.startswith("csv:"):
        return _csv_table(s, uploads or {})
    return _experiment_table(s)


def _experiment_table(s: dict[str, Any]) -> dict[str, Any]:
    """A shipped experiment's own table with the page's changes."""
    for k in ("n", "noise", "test", "data_seed", "target"):
        if k in s:
            raise ConfigError(f"{k} is a setting of point sets and CSV data, not of experiment "
                              f"{s['task']!r}")
    raw = copy.deepcopy(experiments.load(s["task"]).raw)
    raw.pop("extends", None)  # the table is already the merged document
    params = raw.setdefault("params", {})
    network = raw["network"]
    if "hidden" in s:
        if "sizes" not in network:
            raise ConfigError(f"experiment {s['task']!r} is not a chain of layers; its hidden "
                              "groups are fixed by the file")
        sizes = network["sizes"]
        middle = sizes[1:-1]
        if len(middle) == len(s["hidden"]):
            network["sizes"] = [sizes[0], *(_set(params, m, h) for m, h in
                                            zip(middle, s["hidden"], strict=True)), sizes[-1]]
        else:
            network["sizes"] = [sizes[0], *s["hidden"], sizes[-1]]
    for k in ("activation", "bias"):
        if k in s:
            if "sizes" not in network:
                raise ConfigError(f"{k}: experiment {s['task']!r} sets it group by group")
            network[k] = _set(params, network.get(k), s[k])
    train = raw.setdefault("train", {})
    for k in TRAIN_KEYS:
        if k in s:
            train[k] = s[k]
    if "seed" in s:
        raw["seeds"] = {**raw.get("seeds", {}), "default": [s["seed"]]}
        raw["seeds"].pop("count", None)
    if not params:
        raw.pop("params")
    return raw


def _set(params: dict[str, Any], current: Any, new: Any) -> Any:
    """Where a chain value is a parameter (``"$hidden"``), set the parameter (so claims that
    name it still apply) and keep the reference; else the new literal value."""
    if isinstance(current, str) and current.startswith("$") and current[1:] in params:
        params[current[1:]] = new
        return current
    return new


def _points_table(s: dict[str, Any]) -> dict[str, Any]:
    v = {**POINT_DEFAULTS, **s}
    sizes = [2, *v["hidden"], 1]
    held = f", {v['test']:.0%} held out" if v["test"] else ""
    return {
        "name": f"{v['task']}-points",
        "title": f"{SETS[v['task']][1]}: {v['n']} points, noise {v['noise']:g}{held}; "
                 f"a {'-'.join(map(str, sizes))} network",
        "source": f"set up in backprop86 serve (version {__version__})",
        "task": {"name": v["task"], "n": v["n"], "noise": v["noise"], "test": v["test"],
                 "seed": v["data_seed"]},
        "network": {"sizes": sizes, "activation": v["activation"],
                    "output_activation": "logistic", "bias": v["bias"]},
        "train": _train(v),
        "seeds": {"default": [v["seed"]]},
    }


def _train(v: dict[str, Any]) -> dict[str, Any]:
    return {"init": "uniform", "init_scale": 0.5, **{k: v[k] for k in TRAIN_KEYS},
            "batch_size": 10, "report": "mse"}


def _csv_table(s: dict[str, Any], uploads: Mapping[str, Uploaded]) -> dict[str, Any]:
    ident = s["task"][4:]
    if ident not in uploads:
        raise ConfigError(f"no uploaded data {ident!r} on this server (uploads are kept while "
                          "the server runs); upload the CSV file again")
    up = uploads[ident]
    if "target" not in s:
        raise ConfigError(f"a CSV task needs target: one of the columns "
                          f"{', '.join(up.columns)}")
    if s["target"] not in up.columns:
        raise ConfigError(f"target {s['target']!r} is not a column of {up.filename}; its "
                          f"columns are {', '.join(up.columns)}")
    for k in ("n", "noise", "data_seed"):
        if k in s:
            raise ConfigError(f"{k} is a setting of point sets, not of CSV data")
    v = {**POINT_DEFAULTS, "test": 0.0, **s}
    return {
        "name": f"{_stem(up.filename)}-csv",
        "title": f"{up.filename}: predict {v['target']!r} from the other columns",
        "source": f"set up in backprop86 serve (version {__version__})",
        "task": {"name": "csv", "path": up.path, "target": v["target"], "test": v["test"],
                 "seed": v["data_seed"] if "data_seed" in s else 0},
        "network": {"sizes": ["$n_inputs", *v["hidden"], "$n_outputs"],
                    "activation": v["activation"], "output_activation": "logistic",
                    "bias": v["bias"]},
        "train": _train(v),
        "seeds": {"default": [v["seed"]]},
    }


def _stem(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:40] or "data"


def experiment(document: dict[str, Any], limits: Limits = LIMITS) -> Experiment:
    """The experiment of a table, checked against the page's limits on sweeps and size."""
    exp = experiments.from_dict(copy.deepcopy(document))
    if exp.config.max_sweeps > limits.sweeps:
        raise ConfigError(f"max_sweeps must be at most {limits.sweeps:,} on this page, got "
                          f"{exp.config.max_sweeps:,}")
    exp.check_size(1)
    return exp


def export_table(document: dict[str, Any], filename: str | None = None) -> dict[str, Any]:
    """The table as a file to download: an uploaded CSV named by its file name, so that
    the TOML runs where the CSV lies beside it."""
    out = copy.deepcopy(document)
    if out.get("task", {}).get("name") == "csv" and filename:
        out["task"]["path"] = filename
    return out


def toml_text(document: dict[str, Any]) -> str:
    """The TOML file ``backprop86 run`` accepts."""
    return dumps(document)


def _literal(text: str) -> str:
    """``text`` as a Python string literal: a raw triple-quoted block when it can be one."""
    return f"r'''\n{text}'''" if "'''" not in text else repr(text)


def python_lines(document: dict[str, Any]) -> str:
    """Python that trains the same network with the library, as the page does."""
    config = TrainConfig.from_dict(document.get("train", {}))
    seed = document.get("seeds", {}).get("default", [0])[0]
    return "\n".join([
        f"# backprop86 {__version__}: {document.get('title', document['name'])}",
        "# the same run as `backprop86 run` of the exported TOML file",
        "import tomllib",
        "",
        "from backprop86.experiments import from_dict",
        "from backprop86.train import Trainer",
        "",
        f"SETUP = {_literal(dumps(document))}",
        "",
        "exp = from_dict(tomllib.loads(SETUP))",
        "task, net = exp.task(), exp.network()",
        f"result = Trainer(net, task, exp.config, seeds=[{seed}]).train()",
        f"print('sweeps', result.sweeps[0], '{config.report} error', result.final_error[0],"
        " 'solved', result.solved[0])",
        "",
    ])
