"""What a result file or checkpoint must record to rebuild its run exactly: the *recipe*.

A recipe is a JSON object::

    {"experiment": "xor",                     # its name
     "experiment_file": "/…/xor.toml",        # where it was read from (or null)
     "experiment_table": {…},                  # the whole TOML document, as read
     "params": {"hidden": 4, …},               # experiment parameters after --set
     "config": {…},                            # the full TrainConfig after --set
     "seeds": [42]}

The table makes the record self-contained: :func:`rebuild` needs neither the
original file nor the same package version's copy of a shipped experiment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backprop86.config import TrainConfig
from backprop86.errors import Backprop86Error, FileFormatError
from backprop86.experiments import DATA_DIR, Experiment, from_dict, load, names


def recipe(exp: Experiment, seeds: Sequence[int]) -> dict[str, Any]:
    """The recipe of ``exp`` run with ``seeds``."""
    return {
        "experiment": exp.name,
        "experiment_file": str(exp.path) if exp.path is not None else None,
        "experiment_table": dict(exp.raw) if exp.raw else None,
        "params": dict(exp.params),
        "config": exp.config.to_dict(),
        "seeds": [int(s) for s in seeds],
    }


def rebuild(record: Mapping[str, Any], label: str = "the record") -> tuple[Experiment, list[int]]:
    """The experiment and seeds a recipe describes; a record it cannot use gives one clear error."""
    missing = [k for k in ("experiment", "params", "config", "seeds") if k not in record]
    if missing:
        raise FileFormatError(
            f"{label} lacks {', '.join(missing)}; expected a backprop86 run record "
            "(written by `backprop86 run --json` or a checkpoint)"
        )
    try:
        seeds = [int(s) for s in record["seeds"]]
        if not seeds or any(s < 0 for s in seeds):
            raise ValueError
    except (TypeError, ValueError):
        raise FileFormatError(
            f"{label}: seeds must be a non-empty list of integers ≥ 0, got {record['seeds']!r}"
        ) from None
    if not isinstance(record["params"], dict) or not isinstance(record["config"], dict):
        raise FileFormatError(f"{label}: params and config must be JSON objects")
    table = record.get("experiment_table")
    if table is not None and not isinstance(table, dict):
        raise FileFormatError(f"{label}: experiment_table must be a JSON object")
    check_name(record["experiment"], table, label)
    file = record.get("experiment_file")
    path = Path(file) if file else None
    try:
        if table:
            # the recorded config (below) says which weights file to start from
            exp = from_dict(_without_init_file(table), path)
            exp = dataclasses.replace(exp, raw=dict(table))
        else:
            exp = load(record["experiment"])
        config = _locate_init_file(dict(record["config"]), path)
        exp = dataclasses.replace(
            exp, params=dict(record["params"]), config=TrainConfig.from_dict(config)
        )
    except FileFormatError:
        raise
    except Backprop86Error as exc:
        raise FileFormatError(f"{label} cannot be rebuilt: {exc}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise FileFormatError(
            f"{label} cannot be rebuilt: its experiment table is malformed ({exc!r})"
        ) from None
    return exp, seeds


def check_name(name: Any, table: Mapping[str, Any] | None, label: str) -> None:
    """The record's experiment name must be the name in its experiment table, or, when it
    has none, a shipped experiment's: else one clear error."""
    if not isinstance(name, str) or not name:
        raise FileFormatError(f"{label}: experiment must be an experiment's name, got {name!r}")
    if table:
        if table.get("name") != name:
            raise FileFormatError(
                f"{label}: the experiment is named {name!r} but its experiment_table is "
                f"{table.get('name')!r}; expected the two to agree (was the file edited?)")
    elif name not in names():
        raise FileFormatError(
            f"{label}: unknown experiment {name!r} and no experiment_table to rebuild it from; "
            f"expected a shipped experiment ({', '.join(names())}) or a record with its table")


def _without_init_file(table: Mapping[str, Any]) -> dict[str, Any]:
    """The table with ``init_file`` dropped (it is taken from the recorded config instead)."""
    out = dict(table)
    if isinstance(out.get("train"), dict) and "init_file" in out["train"]:
        train = dict(out["train"])
        train.pop("init_file")
        if train.get("init") == "file":
            train.pop("init")
        out["train"] = train
    return out


def _locate_init_file(config: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """Point ``init_file`` at a file that exists here: as recorded, else by name beside the
    experiment file or among the package's data files."""
    name = config.get("init_file")
    if not name or Path(name).exists():
        return config
    candidates = ([path.parent / Path(name).name] if path else []) + [DATA_DIR / Path(name).name]
    for c in candidates:
        if c.exists():
            return {**config, "init_file": str(c.resolve())}
    raise FileFormatError(
        f"the initial weights file {name!r} of this run is not on this machine "
        f"(looked in {', '.join(map(str, candidates))})"
    )
