"""Checkpoints and weight files: one ``.npz`` each, written atomically, read without pickle.

A *checkpoint* holds everything a :class:`~backprop86.train.Trainer` needs to go
on exactly where it stopped, so that a resumed run equals an uninterrupted one
bit for bit:

* the weights and biases of all ``R`` replicas;
* the optimizer's state (Δw(t−1) for momentum, eq. 9; Adam's moments and step);
* the loop's state: sweeps done, which replicas are still training, stopped,
  diverged, first solved, the history so far (the sweeps and replicas the run's
  history keeps, :mod:`backprop86.history`) and its notes;
* the state of each replica's pattern-order generator (``bit_generator.state``,
  a dict of integers, kept as JSON text);
* the run's recipe (:mod:`backprop86.experiments.recipe`) and the package versions.

A *weight file* holds a network's parameters and the description of its groups.

Layout: arrays are stored under neutral keys ``a0, a1, …``; a 0-d string array
``meta`` holds a JSON object that names them. Nothing is ever pickled, and
loading uses ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError, FileFormatError
from backprop86.history import history_columns
from backprop86.io import load_arrays, save_arrays, versions
from backprop86.network import Network
from backprop86.train import LoopState, Trainer

FORMAT = "backprop86"
VERSION = 1

_LOOP_ARRAYS = ("history", "active", "sweeps", "stopped", "diverged", "first_solved")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read from disk: its JSON ``meta`` and its named arrays."""

    path: Path
    meta: dict[str, Any]
    arrays: dict[str, Array]

    @property
    def run(self) -> dict[str, Any]:
        """The recipe of the run (see :mod:`backprop86.experiments.recipe`)."""
        return self.meta["run"]

    @property
    def sweep(self) -> int:
        return int(self.meta["trainer"]["sweep"])


# ----------------------------------------------------------------------------
# Writing and reading the container
# ----------------------------------------------------------------------------


def _write(path: str | Path, meta: dict[str, Any], named: Mapping[str, Array]) -> None:
    keys = {f"a{i}": name for i, name in enumerate(named)}
    meta = {**meta, "arrays": keys}
    arrays = {key: np.asarray(named[name]) for key, name in keys.items()}
    arrays["meta"] = np.array(json.dumps(meta))
    save_arrays(path, arrays)


def _read(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, Array]]:
    path = Path(path)
    what = "checkpoint" if kind == "checkpoint" else "weight file"
    raw = load_arrays(path, "checkpoint" if kind == "checkpoint" else "weights")
    if "meta" not in raw or raw["meta"].dtype.kind != "U" or raw["meta"].ndim != 0:
        raise FileFormatError(f"{path} is not a backprop86 {what}: it has no meta record")
    try:
        meta = json.loads(str(raw["meta"]))
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"{path}: the {what}'s meta record is not valid JSON ({exc.msg} at position "
            f"{exc.pos}); the file is corrupt"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kind") != kind:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise FileFormatError(
            f"{path} is not a backprop86 {what}"
            + (f" (it is a {found.replace('_', ' ')})" if isinstance(found, str) else "")
        )
    if meta.get("version") != VERSION:
        raise FileFormatError(
            f"{path} is a {what} of format version {meta.get('version')!r}; "
            f"this backprop86 reads version {VERSION}"
        )
    keys = meta.get("arrays")
    if not isinstance(keys, dict) or any(k not in raw for k in keys):
        raise FileFormatError(f"{path}: the {what} lacks arrays its meta record names")
    return meta, {name: raw[key] for key, name in keys.items()}


# ----------------------------------------------------------------------------
# Trainer state
# ----------------------------------------------------------------------------


def trainer_state(trainer: Trainer) -> tuple[dict[str, Any], dict[str, Array]]:
    """Everything needed to resume ``trainer`` exactly: JSON-able values and named arrays."""
    if not trainer.resumable:
        raise ConfigError(
            "the run was interrupted in the middle of a sweep, so no exact checkpoint can be "
            "written; interrupt once (Ctrl-C) and let the sweep finish"
        )
    R, plan, every = trainer.net.replicas, trainer.history, trainer.config.history_every
    loop = trainer.loop or LoopState.fresh(R, np.empty(0, np.int64), plan.rows(R))
    columns = loop.recorded(trainer.sweep, every)
    arrays: dict[str, Array] = {}
    for name in _LOOP_ARRAYS:
        value = getattr(loop, name)
        arrays[f"loop:{name}"] = value[:, :columns] if name == "history" else value
    assert loop.kept is not None
    if plan.mode != "every" or plan.replicas is not None:  # which sweeps and replicas it holds
        arrays["loop:history_columns"] = loop.kept[:columns]
        arrays["loop:history_replicas"] = (np.arange(R) if plan.replicas is None
                                           else plan.replicas)
    for name, w in trainer.net.params.items():
        arrays[f"param:{name}"] = w
    for name, value in trainer.optimizer.state().items():
        arrays[f"optimizer:{name}"] = value
    rngs = trainer.order_rngs
    meta = {
        "sweep": int(trainer.sweep),
        "replicas": R,
        "dtype": str(trainer.net.dtype),
        "seeds": list(trainer.seeds),
        "notes": list(loop.notes),
        "order_rngs": None if rngs is None else [rng.bit_generator.state for rng in rngs],
    }
    return meta, arrays


def restore_trainer(trainer: Trainer, meta: Mapping[str, Any], arrays: Mapping[str, Array],
                    label: str = "checkpoint") -> None:
    """Put ``trainer`` in the state :func:`trainer_state` recorded; mismatches give clear errors."""
    net, R = trainer.net, trainer.net.replicas
    check_state(meta, arrays, label, trainer.config.history_every)
    sweep, replicas = int(meta["sweep"]), int(meta["replicas"])
    seeds, notes, rng_states = list(meta["seeds"]), list(meta["notes"]), meta["order_rngs"]
    if sweep > trainer.config.max_sweeps:
        raise ConfigError(
            f"{label} stopped at sweep {sweep}, beyond this run's max_sweeps "
            f"{trainer.config.max_sweeps}; resume with --set max_sweeps={sweep} or more"
        )
    if replicas != R or seeds != trainer.seeds:
        raise ConfigError(
            f"{label} holds {replicas} replicas with seeds {_short(seeds)}, "
            f"but this run has {R} with seeds {_short(trainer.seeds)}"
        )
    if meta.get("dtype") != str(net.dtype):
        raise ConfigError(f"{label} was written in {meta.get('dtype')}, this run uses {net.dtype}")

    def take(name: str, shape: tuple[int, ...], dtype: Any) -> Array:
        if name not in arrays:
            raise FileFormatError(f"{label} lacks {name!r}")
        a = np.asarray(arrays[name])
        if a.shape != shape:
            raise FileFormatError(f"{label}: {name!r} has shape {a.shape}, expected {shape}")
        expected = np.dtype(dtype)
        same = a.dtype == expected if expected.kind == "f" else a.dtype.kind == expected.kind
        if not same:
            raise FileFormatError(f"{label}: {name!r} holds {a.dtype}, expected {expected}; "
                                  "the file is damaged or was written for another run")
        return a.astype(dtype, copy=True)

    expected = {f"param:{n}" for n in net.params}
    expected |= {f"optimizer:{n}" for n in trainer.optimizer.state()}
    expected |= {f"loop:{n}" for n in (*_LOOP_ARRAYS, *_HISTORY_INDEX)}
    unknown = sorted(set(arrays) - expected)
    if unknown:
        raise ConfigError(
            f"{label} does not fit this run: it has {', '.join(unknown)} "
            "(was it written for another network or optimizer?)"
        )
    cols, rows = _history_index(arrays, sweep, trainer.config.history_every, R)
    loop = LoopState(
        history=take("loop:history", (rows.size, cols.size), np.float64),
        active=take("loop:active", (R,), bool),
        sweeps=take("loop:sweeps", (R,), np.int64),
        stopped=take("loop:stopped", (R,), bool),
        diverged=take("loop:diverged", (R,), bool),
        first_solved=take("loop:first_solved", (R,), np.int64),
        notes=notes, kept=cols,
    )
    loop = _as_planned(loop, rows, trainer, sweep)
    params = {n: take(f"param:{n}", w.shape, net.dtype) for n, w in net.params.items()}
    opt_state = trainer.optimizer.state()
    optimizer = {n: take(f"optimizer:{n}", v.shape, v.dtype) for n, v in opt_state.items()}
    if (rng_states is None) != (trainer.order_rngs is None):
        raise ConfigError(f"{label} and this run differ in pattern order (sequential / shuffled)")
    if trainer.order_rngs is not None:
        if not isinstance(rng_states, list) or len(rng_states) != R:
            raise FileFormatError(f"{label}: expected {R} pattern-order generator states")
        for rng, state in zip(trainer.order_rngs, rng_states, strict=True):
            try:
                rng.bit_generator.state = state
            except (TypeError, ValueError, KeyError) as exc:
                raise FileFormatError(
                    f"{label}: a pattern-order generator state is unreadable ({exc})"
                ) from None
    for n, w in net.params.items():
        w[...] = params[n]
    trainer.optimizer.load_state(optimizer)
    trainer.loop = loop
    trainer.sweep = sweep


#: The arrays naming the history's columns and replicas, when they are not every column of
#: every replica (a run whose history keeps ``"log"`` or ``"none"``, or some replicas).
_HISTORY_INDEX = ("history_columns", "history_replicas")


def _history_index(arrays: Mapping[str, Array], sweep: int, every: int, replicas: int
                   ) -> tuple[Array, Array]:
    """The checkpoint history's ``"every"`` columns ``(K,)`` and replica rows ``(R_kept,)``:
    as stored, or every column of every replica (a default history)."""
    if "loop:history_columns" in arrays:
        return (np.asarray(arrays["loop:history_columns"], dtype=np.int64),
                np.asarray(arrays["loop:history_replicas"], dtype=np.int64))
    return np.arange(history_columns(sweep, every)), np.arange(replicas)


def _as_planned(loop: LoopState, rows: Array, trainer: Trainer, sweep: int) -> LoopState:
    """``loop`` (whose history holds the replicas ``rows``, ``sweep`` sweeps done) with the
    history the trainer's plan keeps: the columns and replicas it wants, taken from the
    checkpoint where it has them, NaN (not recorded) where it has not."""
    plan, R = trainer.history, trainer.net.replicas
    want_rows = np.arange(R) if plan.replicas is None else plan.replicas
    assert loop.kept is not None
    recorded = plan.columns(trainer.config.max_sweeps)
    recorded = recorded[recorded * plan.every < sweep]
    if np.array_equal(want_rows, rows) and np.array_equal(recorded, loop.kept):
        return loop
    history = np.full((want_rows.size, recorded.size), np.nan)
    _, ri, rs = np.intersect1d(want_rows, rows, assume_unique=True, return_indices=True)
    _, cj, cs = np.intersect1d(recorded, loop.kept, assume_unique=True, return_indices=True)
    history[np.ix_(ri, cj)] = loop.history[np.ix_(rs, cs)]
    loop.history, loop.kept = history, recorded
    return loop


#: The loop's arrays: the kind of values each holds (``numpy.dtype.kind``) and in words.
_LOOP_KINDS = {"active": ("b", "booleans"), "stopped": ("b", "booleans"),
               "diverged": ("b", "booleans"), "sweeps": ("i", "integers"),
               "first_solved": ("i", "integers"), "history": ("f", "floats")}


def check_state(meta: Mapping[str, Any], arrays: Mapping[str, Array], label: str,
                every: int | None = None) -> None:
    """A trainer record and its arrays that hold together, whatever run they are for.

    The counters: ``sweep`` ≥ 0; per replica ``0 ≤ sweeps ≤ sweep``, a replica still
    training has done every sweep, ``first_solved`` is −1 or within its sweeps, a replica
    is training exactly when it neither stopped nor diverged (never both); the history
    has one column per ``every`` sweeps (when ``every`` is given) and finite errors while
    a replica trained without diverging. Weights and optimizer state are finite numbers,
    the weights in the recorded dtype; flags are booleans, counters integers. Anything
    else: one :class:`FileFormatError` (``label`` names the file).
    """
    _check_record(meta, label)
    loop = _loop_arrays(arrays, int(meta["replicas"]), label)
    _check_counters(loop, int(meta["sweep"]), label)
    for key, a in arrays.items():
        if not key.startswith(("param:", "optimizer:")):
            continue
        a = np.asarray(a)
        if a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
            raise _damaged(label, f"{key!r} holds a non-finite or non-numeric value")
        if key.startswith("param:") and (a.dtype != np.dtype(meta["dtype"]) or a.ndim < 1
                                         or a.shape[0] != meta["replicas"]):
            raise _damaged(label, f"{key!r} is {a.dtype} of shape {a.shape}, expected "
                                  f"{meta['dtype']} with {meta['replicas']} replicas first")
    if every is not None:
        _check_history(loop, arrays, int(meta["sweep"]), every, label)


def _damaged(label: str, what: str) -> FileFormatError:
    return FileFormatError(f"{label} is damaged: {what}")


def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_record(meta: Mapping[str, Any], label: str) -> None:
    """The trainer record's values: counters, seeds, notes, generator states, dtype."""
    sweep, replicas, seeds = meta.get("sweep"), meta.get("replicas"), meta.get("seeds")
    if not _is_int(sweep):
        raise _damaged(label, f"its sweep counter is {sweep!r}, expected an integer ≥ 0")
    if not _is_int(replicas, 1):
        raise _damaged(label, f"its replica count is {replicas!r}, expected an integer ≥ 1")
    if (not isinstance(seeds, list) or len(seeds) != replicas
            or not all(_is_int(s) for s in seeds)):
        raise _damaged(label, f"its seeds are {_short_any(seeds)}, expected {replicas} "
                              "integers ≥ 0")
    notes = meta.get("notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _damaged(label, "its notes are not a list of strings")
    rngs = meta.get("order_rngs", "missing")
    if rngs is not None and (not isinstance(rngs, list) or len(rngs) != replicas
                             or not all(isinstance(s, dict) for s in rngs)):
        raise _damaged(label, f"expected {replicas} pattern-order generator states or none")
    if meta.get("dtype") not in ("float64", "float32"):
        raise _damaged(label, f"its dtype is {meta.get('dtype')!r}, expected float64 or "
                              "float32")


def _loop_arrays(arrays: Mapping[str, Array], replicas: int, label: str) -> dict[str, Array]:
    loop: dict[str, Array] = {}
    for name, (kind, words) in _LOOP_KINDS.items():
        if f"loop:{name}" not in arrays:
            raise _damaged(label, f"it lacks 'loop:{name}'")
        a = np.asarray(arrays[f"loop:{name}"])
        ndim = 2 if name == "history" else 1  # the history's rows: _check_history
        if a.ndim != ndim or (ndim == 1 and a.shape[0] != replicas) or a.dtype.kind != kind:
            raise _damaged(label, f"'loop:{name}' is {a.dtype} of shape {a.shape}, expected "
                                  f"{words} with {replicas} rows")
        loop[name] = a
    return loop


def _check_counters(loop: Mapping[str, Array], sweep: int, label: str) -> None:
    sweeps, first = loop["sweeps"], loop["first_solved"]
    active, stopped, diverged = loop["active"], loop["stopped"], loop["diverged"]
    if np.any(sweeps < 0) or np.any(sweeps > sweep):
        raise _damaged(label, f"a replica's sweep count lies outside 0…{sweep} (the run's "
                              f"sweep): {sweeps.min()}…{sweeps.max()}")
    if np.any(sweeps[active] != sweep):
        raise _damaged(label, f"a replica still training has done fewer than the run's "
                              f"{sweep} sweeps")
    if np.any((first != -1) & ((first < 1) | (first > sweeps))):
        raise _damaged(label, "a replica's first solved sweep is neither -1 (never) nor "
                              "within its sweeps")
    if np.any(stopped & diverged) or np.any(active != ~(stopped | diverged)):
        raise _damaged(label, "its training / stopped / diverged flags contradict each other")


def _check_history(loop: Mapping[str, Array], arrays: Mapping[str, Array], sweep: int,
                   every: int, label: str) -> None:
    history, replicas = loop["history"], loop["sweeps"].size
    if ("loop:history_columns" in arrays) != ("loop:history_replicas" in arrays):
        raise _damaged(label, "it names its history's columns or its replicas, not both")
    if "loop:history_columns" in arrays:
        cols, rows = (np.asarray(arrays[f"loop:{n}"]) for n in _HISTORY_INDEX)
        if (cols.ndim != 1 or rows.ndim != 1 or cols.dtype.kind not in "iu"
                or rows.dtype.kind not in "iu" or np.any(np.diff(cols) <= 0)
                or np.any(np.diff(rows) <= 0) or (cols.size and (cols[0] < 0 or cols[-1] * every
                                                                  >= max(sweep, 1)))
                or (rows.size and (rows[0] < 0 or rows[-1] >= replicas))):
            raise _damaged(label, "its history's columns or replicas are not increasing "
                                  "indices within the run's sweeps and replicas")
    else:
        cols, rows = np.arange(history_columns(sweep, every)), np.arange(replicas)
    if history.shape != (rows.size, cols.size):
        raise _damaged(label, f"its history holds {history.shape[0]} rows of "
                              f"{history.shape[1]} entries, but {sweep} sweeps recorded as it "
                              f"says make {rows.size} of {cols.size}")
    kept = cols[None, :] * every < loop["sweeps"][rows][:, None]
    kept &= ~loop["diverged"][rows][:, None]
    if not np.all(np.isfinite(history[kept])):
        raise _damaged(label, "its history holds a non-finite error of a replica that did "
                              "not diverge")


def _short_any(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _short(seeds: list[int]) -> str:
    return str(seeds) if len(seeds) <= 6 else f"[{seeds[0]}, {seeds[1]}, …, {seeds[-1]}]"


# ----------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------


def save(path: str | Path, trainer: Trainer, run: Mapping[str, Any]) -> None:
    """Write a checkpoint of ``trainer`` (whose recipe is ``run``) to ``path``, atomically."""
    state, arrays = trainer_state(trainer)
    meta = {
        "format": FORMAT, "kind": "checkpoint", "version": VERSION,
        "run": dict(run), "trainer": state, "versions": versions(),
    }
    _write(path, meta, arrays)


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint; a missing, truncated or corrupt file gives one clear error."""
    meta, arrays = _read(path, "checkpoint")
    for key in ("run", "trainer"):
        if not isinstance(meta.get(key), dict):
            raise FileFormatError(f"{path}: the checkpoint lacks its {key} record")
    config = meta["run"].get("config")
    every = config.get("history_every") if isinstance(config, dict) else None
    check_state(meta["trainer"], arrays, str(path), every if _is_int(every, 1) else None)
    if meta["run"].get("seeds") != meta["trainer"]["seeds"]:
        raise FileFormatError(f"{path} is damaged: its run record and its trainer name "
                              "different seeds")
    return Checkpoint(Path(path), meta, arrays)


def resume(trainer: Trainer, checkpoint: Checkpoint) -> None:
    """Put ``trainer`` where ``checkpoint`` left off (see :func:`restore_trainer`)."""
    restore_trainer(trainer, checkpoint.meta["trainer"], checkpoint.arrays, str(checkpoint.path))


def check_same_run(checkpoint: Checkpoint, run: Mapping[str, Any]) -> None:
    """Refuse to resume with settings that would change the result: all but ``max_sweeps``.

    ``run`` is the recipe of the run about to resume (after ``--set``).
    """
    saved = checkpoint.run
    label = str(checkpoint.path)
    if saved.get("experiment") != run.get("experiment"):
        raise ConfigError(
            f"{label} is a checkpoint of experiment {saved.get('experiment')!r}, "
            f"not {run.get('experiment')!r}"
        )
    diffs = []
    for section in ("params", "config"):
        a, b = saved.get(section) or {}, run.get(section) or {}
        for key in sorted(set(a) | set(b)):
            if key == "max_sweeps" or a.get(key) == b.get(key):
                continue
            diffs.append(f"{key}={_fmt(a.get(key))} (now {_fmt(b.get(key))})")
    for section in ("task", "network", "split"):
        a = (saved.get("experiment_table") or {}).get(section)
        b = (run.get("experiment_table") or {}).get(section)
        if a != b:
            diffs.append(f"another [{section}] table")
    if list(saved.get("seeds", [])) != list(run.get("seeds", [])):
        diffs.append(f"seeds={_short(list(saved.get('seeds', [])))} "
                     f"(now {_short(list(run.get('seeds', [])))})")
    if diffs:
        raise ConfigError(
            f"{label} was made with {'; '.join(diffs)}; a resumed run must keep every setting "
            "but max_sweeps (pass the same --set and --seeds as the first run)"
        )


def _fmt(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# ----------------------------------------------------------------------------
# Weight files
# ----------------------------------------------------------------------------


def save_weights(path: str | Path, net: Network, run: Mapping[str, Any] | None = None) -> None:
    """Write ``net``'s parameters (all replicas) and its structure to an ``.npz`` file."""
    meta = {
        "format": FORMAT, "kind": "weights", "version": VERSION,
        "replicas": net.replicas, "dtype": str(net.dtype),
        "groups": [
            {"name": g.name, "size": g.size, "activation": g.activation, "bias": g.bias,
             **({"bias_shared": True} if g.bias_shared else {})}
            for g in net.groups
        ],
        "projections": [
            {"from": p.source, "to": p.target, "tie": p.tie, "masked": p.mask is not None,
             **({"shared_weights": int(p.share.max()) + 1} if p.share is not None else {})}
            for p in net.projections
        ],
        "run": dict(run) if run is not None else None,
        "versions": versions(),
    }
    _write(path, meta, dict(net.params))


def weights_meta(path: str | Path) -> dict[str, Any]:
    """A weight file's record: ``replicas``, ``dtype``, ``groups``, ``projections``, ``run``."""
    meta, _ = _read(path, "weights")
    return meta


def load_weights(path: str | Path, net: Network) -> None:
    """Set ``net``'s parameters from a weight file written for a network of the same shape."""
    _, arrays = _read(path, "weights")
    mine, theirs = set(net.params), set(arrays)
    if mine != theirs:
        raise ConfigError(
            f"{path} holds parameters {', '.join(sorted(theirs))}; this network has "
            f"{', '.join(sorted(mine))}"
        )
    for name, w in net.params.items():
        a = arrays[name]
        if a.shape not in (w.shape, w.shape[1:]):
            raise ConfigError(
                f"{path}: parameter {name!r} has shape {a.shape}, this network needs {w.shape}"
            )
        if a.dtype.kind != "f":
            raise FileFormatError(f"{path} is damaged: parameter {name!r} holds {a.dtype}, "
                                  "expected floats")
        if not np.all(np.isfinite(a)):
            raise FileFormatError(f"{path} is damaged: parameter {name!r} holds a non-finite "
                                  "value (NaN or inf)")
    net.set_params(arrays)
