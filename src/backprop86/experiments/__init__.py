"""Experiments are data: one TOML file each, read by one runner (DESIGN §4).

A file names a task generator, an architecture, a training config, a seed
policy and the published result with its source::

    name = "handbook-xor"
    title = "Handbook XOR exercise (XOR.NET, XOR.WTS, XOR.STR)"
    source = "McClelland & Rumelhart, Explorations in PDP (1988), bp program"
    checks = []         # checks of the trained nets, e.g. ["count_code"] (analysis.checks)

    [params]            # experiment parameters, settable with --set / --grid
    hidden = 2

    [task]
    name = "xor"

    [network]           # a chain …
    sizes = [2, "$hidden", 1]
    bias = true
    # … or explicit [[network.groups]] and [[network.projections]] tables

    [train]             # any TrainConfig field
    lr = 0.5

    [seeds]
    default = [0]       # seeds of a plain `run`; `--seeds N` uses first … first+N−1
    first = 0

    [published]
    metric = "sweeps_to_stop"   # which measured number the published one is compared with
    value = 289
    kind = "exact"              # exact | single-run | median | upper-bound | rate |
                                # about-rate | check (see experiments.claims)
    source = "…"

    deviations = ["…"]          # every departure from the source, said out loud

Strings of the form ``"$name"`` anywhere in ``[task]`` or ``[network]`` are
replaced by the parameter ``name`` (``"$name-1"``, ``"$name+2"``: the integer
parameter plus or minus a constant); a chain layer of size 0 is left out. In
``[network]``, ``"$n_inputs"`` and ``"$n_outputs"`` are the task's numbers of
inputs and outputs (the digits experiment: 64 for 8×8 images, 784 for MNIST's).

``compare = ["MLPClassifier"]`` runs scikit-learn's ``MLPClassifier`` beside the
network on the same cases and seeds (:mod:`backprop86.experiments.peers`);
``reproduce = false`` leaves the experiment out of ``backprop86 reproduce``
(which reproduces the 1986 papers) unless ``--only`` names it.

``[seeds] count = N`` makes the default seeds ``first … first+N−1``.
``published`` may also be an array of tables (``[[published]]``), one claim
each; a claim with ``when = {key = value}`` applies only while that parameter
or training setting has that value (``--set hidden=3``, ``--set grain=pattern``).
``Experiment.published`` is the first claim that applies, :attr:`Experiment.claims` all of them.
``[[variants]]`` (``name``, ``set = ["key=value", …]``) name the settings that
``backprop86 reproduce`` runs besides the file's own; ``[[series]]`` and
``[quick]`` are read by :mod:`backprop86.experiments.series` and the
``reproduce`` command.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from backprop86.config import TrainConfig, parse_value, setting_names
from backprop86.errors import ConfigError, FileFormatError
from backprop86.experiments.schema import validate
from backprop86.fields import grid_shape, window_share
from backprop86.history import HistoryPlan
from backprop86.init import initialize, rng_for
from backprop86.io import read_text
from backprop86.network import Group, Network, Projection, chain, mlp_groups, size_of
from backprop86.resources import (
    PER_REPLICA,
    Estimate,
    Part,
    check,
    run_estimate,
    weights_estimate,
    whole_number,
)
from backprop86.switches import assignments as split_assignments
from backprop86.switches import parse_bool
from backprop86.tasks import Task, make_task, task_shape

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Experiment:
    """One experiment read from a TOML file, with its parameters resolved."""

    name: str
    title: str
    source: str
    task_spec: dict[str, Any]
    network_spec: dict[str, Any]
    config: TrainConfig
    params: dict[str, Any] = field(default_factory=dict)
    default_seeds: tuple[int, ...] = (0,)
    first_seed: int = 0
    deviations: tuple[str, ...] = ()
    checks: tuple[Any, ...] = ()
    split: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ building

    def task(self) -> Task:
        spec = dict(_resolve(self.task_spec, self.params))
        name = spec.pop("name", None)
        if not name:
            raise ConfigError(f"experiment {self.name!r}: [task] needs a name")
        return make_task(name, **spec)

    def network(self, replicas: int = 1) -> Network:
        params = self.params
        if _mentions(self.network_spec, ("$n_inputs", "$n_outputs")):
            task = self.task()
            params = {**params, "n_inputs": task.n_inputs, "n_outputs": task.n_outputs}
        spec = _resolve(self.network_spec, params)
        return build_network(spec, replicas=replicas, dtype=self.config.dtype)

    def initial_network(self, seeds: Sequence[int]) -> Network:
        """One replica per seed with the initial weights training starts from (``seeds[r]``)."""
        net = self.network(replicas=len(seeds))
        cfg = self.config
        initialize(net, seeds, cfg.init, cfg.init_scale, path=cfg.init_file)
        return net

    def split_spec(self) -> dict[str, Any]:
        """The ``[split]`` table (held-out cases, :mod:`.holdout`), params resolved."""
        return dict(_resolve(self.split, self.params))

    def seeds(self, count: int | None = None) -> list[int]:
        """The seeds of a run: the file's default, or ``count`` seeds from ``first``.

        The run they make is checked first (:meth:`check_size`): a count whose run
        would not fit in memory is refused before anything is made.
        """
        if count is None:
            self.check_size(len(self.default_seeds))
            return list(self.default_seeds)
        count = whole_number("--seeds", count, 1)
        self.check_size(count)
        return list(range(self.first_seed, self.first_seed + count))

    def estimate(self, replicas: int, *, training: bool = True,
                 history: str = "none") -> Estimate:
        """The memory of a run of ``replicas`` seeds (:func:`backprop86.resources.run_estimate`),
        from the sizes the file gives: neither the network nor the task is made (except a
        task read from files, whose size only the files tell). ``history``: what the run's
        error history keeps (:mod:`backprop86.history`; none, as :func:`.runner.run`)."""
        replicas = whole_number("replicas", replicas, 1)
        spec = dict(_resolve(self.task_spec, self.params))
        name = spec.pop("name", None)
        shape = task_shape(name, **spec) if isinstance(name, str) else None
        if shape is None:
            task = self.task()
            shape = (task.n_cases, task.n_inputs, task.n_outputs)
        cases, n_in, n_out = shape
        params = {**self.params, "n_inputs": n_in, "n_outputs": n_out}
        units, weights = network_size(_resolve(self.network_spec, params))
        kept = HistoryPlan(history, self.config.history_every).count(self.config.max_sweeps)
        return run_estimate(replicas=replicas, cases=cases, inputs=n_in, outputs=n_out,
                            units=units, params=weights, settings=self.config,
                            training=training, per_replica_cases=bool(self.split),
                            history=(replicas, kept))

    def check_size(self, replicas: int, names: dict[str, str] | None = None, *,
                   training: bool = True, what: str | None = None,
                   history: str = "none") -> None:
        """Refuse, in one line, a run of ``replicas`` seeds that would not fit in memory
        (:func:`backprop86.resources.check`). ``names`` names the settings as the caller's
        command line does; by default the parameters that size the task and the network
        are named as ``--set`` takes them."""
        named = {"units": self._setters(self.network_spec, "the layer sizes"),
                 "cases": self._setters(self.task_spec, "")}
        kind = "a run" if training else "a gradient check"
        check(self.estimate(replicas, training=training, history=history),
              what or f"{kind} of {self.name} with {replicas:,} replica{'s' * (replicas != 1)}",
              {**named, **(names or {})})

    def _setters(self, spec: Any, otherwise: str) -> str:
        """``--set hidden`` for the integer parameters ``spec`` refers to (``"$hidden"``);
        ``otherwise`` when it refers to none."""
        found = [k for k, v in self.params.items() if isinstance(v, int)
                 and not isinstance(v, bool) and _mentions_param(spec, k)]
        return " or ".join(f"--set {k}" for k in found) if found else otherwise

    def with_settings(self, assignments: Sequence[str], option: str = "--set") -> Experiment:
        """Apply ``key=value`` overrides: experiment parameters or TrainConfig fields; a key
        given twice is refused (``option`` names where they came from in the message)."""
        params = dict(self.params)
        train_changes: list[str] = []
        for key, text in split_assignments(assignments, option):
            if key in params:
                params[key] = _parse_param(key, text.strip(), params[key])
            elif key in setting_names():
                train_changes.append(f"{key}={text}")
            else:
                known = [*sorted(params), *setting_names()]
                raise ConfigError(
                    f"unknown setting {key!r} for experiment {self.name!r}; expected one of "
                    f"{', '.join(known)}"
                )
        config = self.config.override(train_changes) if train_changes else self.config
        config = _resolve_paths(config, self.path)
        return dataclasses.replace(self, params=params, config=config)

    @property
    def claims(self) -> list[dict[str, Any]]:
        """Every published claim that applies to the current parameters and settings (``when``)."""
        return _claims_for(
            self.raw.get("published", {}), {**self.config.to_dict(), **self.params}
        )

    @property
    def unjudged(self) -> list[str]:
        """The claims that do not apply to this run, each in words with the reason: its
        ``when`` names a value this run's parameters or settings do not have."""
        current = {**self.config.to_dict(), **self.params}
        tables = self.raw.get("published", {})
        tables = tables if isinstance(tables, list) else [tables] if tables else []
        out = []
        for table in tables:
            when = table.get("when", {}) if isinstance(table, dict) else {}
            differ = [f"{k} = {v!r} (this run: {current.get(k)!r})" for k, v in when.items()
                      if current.get(k) != v]
            if differ:
                what = table.get("what") or table.get("metric") or "a published value"
                out.append(f"not judged: {what} — the claim holds for {', '.join(differ)}")
        return out

    @property
    def published(self) -> dict[str, Any]:
        """The first claim that applies (``{}`` when none does)."""
        claims = self.claims
        return claims[0] if claims else {}

    def settings(self) -> dict[str, Any]:
        """Every setting of this experiment: its parameters and its TrainConfig."""
        return {"params": dict(self.params), "train": self.config.to_dict()}


def _mentions(value: Any, names: tuple[str, ...]) -> bool:
    """Whether ``value`` (a table, list or string, recursively) holds one of the strings."""
    if isinstance(value, str):
        return value in names
    if isinstance(value, dict):
        return any(_mentions(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, names) for v in value)
    return False


def _mentions_param(value: Any, key: str) -> bool:
    """Whether ``value`` (a table, list or string, recursively) refers to parameter ``key``."""
    if isinstance(value, str):
        match = _PARAM_REF.fullmatch(value)
        return bool(match) and match.group(1) == key
    if isinstance(value, dict):
        return any(_mentions_param(v, key) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_param(v, key) for v in value)
    return False


def _parse_param(key: str, text: str, current: Any) -> Any:
    """The text of parameter ``key``'s new value, read as the type of its ``current`` value."""
    if isinstance(current, bool):
        return parse_bool(text, key)
    if isinstance(current, int):
        return whole_number(key, text, low=None)
    try:
        if isinstance(current, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {text!r}") from None
    return text


#: ``$name`` or ``$name+k`` / ``$name-k``.
_PARAM_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)([+-][0-9]+)?")


def _claims_for(published: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims (``published`` tables) whose ``when`` matches ``params``, in file order."""
    tables = published if isinstance(published, list) else [published] if published else []
    out = []
    for table in tables:
        if not isinstance(table, dict):
            raise ConfigError(f"published must be a table or an array of tables, got {table!r}")
        when = table.get("when", {})
        if all(params.get(k) == v for k, v in when.items()):
            out.append(dict(table))
    return out


def _resolve(value: Any, params: dict[str, Any]) -> Any:
    """Replace ``"$name"`` strings by parameter values, recursively."""
    if isinstance(value, str) and value.startswith("$"):
        match = _PARAM_REF.fullmatch(value)
        key = match.group(1) if match else value[1:]
        if key not in params:
            raise ConfigError(f"{value!r} names no parameter; parameters are {sorted(params)}")
        if match and match.group(2):
            base = params[key]
            if isinstance(base, bool) or not isinstance(base, int):
                raise ConfigError(f"{value!r}: parameter {key!r} must be an integer, got {base!r}")
            return base + int(match.group(2))
        return params[key]
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


_CHAIN_KEYS = ("sizes", "activation", "output_activation", "bias")
_GRAPH_KEYS = ("groups", "projections", "outputs", "steps", "clamp", "target_steps", "initial")
_GROUP_KEYS = ("name", "size", "activation", "bias", "grid")
_PROJECTION_KEYS = ("from", "to", "mask", "tie", "delay", "window", "shared", "density",
                    "mask_seed")


def _known_keys(table: Any, known: tuple[str, ...], where: str,
                required: tuple[str, ...] = ()) -> None:
    """One clear error for a misspelt, unknown or missing key of a ``[network]`` table."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; expected some of {list(known)}")
    missing = [k for k in required if k not in table]
    if missing:
        raise ConfigError(f"{where} {table!r} lacks {', '.join(missing)}")


def _check_network_keys(spec: Any, label: str) -> None:
    """The keys of a ``[network]`` table and of its groups and projections (on reading)."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{label}: [network] must be a table, got {spec!r}")
    _known_keys(spec, _CHAIN_KEYS if "sizes" in spec else _GRAPH_KEYS, f"{label}: [network]")
    for key, known, required in (("groups", _GROUP_KEYS, ("name",)),
                                 ("projections", _PROJECTION_KEYS, ("from", "to"))):
        tables = spec.get(key, [])
        if not isinstance(tables, list):
            raise ConfigError(f"{label}: [network] {key} must be an array of tables, "
                              f"got {tables!r}")
        for table in tables:
            _known_keys(table, known, f"{label}: [[network.{key}]]", required=required)


def build_network(spec: dict[str, Any], *, replicas: int = 1, dtype: str = "float64") -> Network:
    """A network from a ``[network]`` table: a chain (``sizes``) or explicit groups, projections.

    A recurrent network (:mod:`backprop86.network`) adds ``steps = T``, ``initial``
    (activity of non-input units at step 0), ``clamp = {group = [steps]}``,
    ``target_steps = {group = [steps]}`` and, per projection, ``delay = 0 | 1``
    (default 1 for a projection back to an earlier group or to itself)."""
    groups, projections = network_parts(spec)
    return Network(groups, projections, replicas=replicas, outputs=spec.get("outputs"),
                   dtype=dtype, steps=spec.get("steps", 1), clamp=spec.get("clamp"),
                   target_steps=spec.get("target_steps"), initial=spec.get("initial", 0.0))


def network_size(spec: dict[str, Any]) -> tuple[int, int]:
    """``(units, parameters)`` per replica of the network a ``[network]`` table describes
    (:func:`backprop86.network.size_of`; a recurrent net's units counted once per step of
    its history), without making its weights."""
    return size_of(*network_parts(spec, draw=False), steps=spec.get("steps", 1))


def _random_mask(p: dict[str, Any], groups: list[Group], mask: Any, draw: bool = True) -> Any:
    """``density = f`` (and ``mask_seed = s``, default 0): keep each connection of the
    projection with probability ``f``, the others omitted, drawn once from the ``"mask"``
    stream of seed ``s`` (the same connections for every replica; give each projection its
    own seed, or two of one shape omit the same connections)."""
    where = f"projection {p['from']}->{p['to']}"
    density, seed = p.get("density", 1.0), p.get("mask_seed", 0)
    if mask is not None:
        raise ConfigError(f"{where}: give a mask or a density, not both")
    if isinstance(density, bool) or not isinstance(density, (int, float)) or not (
            0 < density <= 1):
        raise ConfigError(f"{where}: density is the fraction of connections kept, a number in "
                          f"(0, 1], got {density!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{where}: mask_seed must be an integer ≥ 0, got {seed!r}")
    shape = (_size_of(groups, p["from"]), _size_of(groups, p["to"]))
    if not draw:
        return None
    check(weights_estimate(1, shape[0] * shape[1], "float64", copies=2),
          f"the connection mask of {where}")
    return (rng_for(seed, "mask").random(shape) < density).astype(float)


def _size_of(groups: list[Group], name: str) -> int:
    """The size of group ``name``, or one clear error naming the groups there are."""
    for g in groups:
        if g.name == name:
            return int(g.size)
    raise ConfigError(f"a projection names no group {name!r}; groups are "
                      f"{', '.join(g.name for g in groups)}")


def network_parts(spec: dict[str, Any], *, draw: bool = True
                  ) -> tuple[list[Group], list[Projection]]:
    """The groups and projections of a ``[network]`` table, checked key by key (``draw =
    False``: a random mask's settings checked but not drawn, for counting sizes before any
    array is made)."""
    _known_keys(spec, _CHAIN_KEYS if "sizes" in spec else _GRAPH_KEYS, "[network]")
    if "sizes" in spec:
        last = len(spec["sizes"]) - 1
        sizes = [s for i, s in enumerate(spec["sizes"]) if s != 0 or i in (0, last)]
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ConfigError(f"layer sizes must be integers ≥ 0, got {spec['sizes']}")
        groups = mlp_groups(sizes, activation=spec.get("activation", "logistic"),
                            output_activation=spec.get("output_activation"),
                            bias=bool(spec.get("bias", True)))
        return groups, chain(g.name for g in groups)
    groups = []
    grids: dict[str, tuple[int, int]] = {}
    for g in spec.get("groups", []):
        _known_keys(g, _GROUP_KEYS, "[[network.groups]]", required=("name",))
        size = g.get("size")
        if "grid" in g:  # units laid out as rows × columns, row-major (receptive fields)
            grids[g["name"]] = grid_shape(g["grid"], f"grid of group {g['name']!r}")
            rows, cols = grids[g["name"]]
            if size is None:
                size = rows * cols
            elif size != rows * cols:
                raise ConfigError(f"group {g['name']!r}: size {size!r} but grid {rows}×{cols} "
                                  f"holds {rows * cols} units")
        elif size is None:
            raise ConfigError(f"[[network.groups]] {g!r} lacks size (or grid = [rows, columns])")
        act = g.get("activation", "logistic")
        bias = g.get("bias", act not in (None, "none", "input"))
        if bias not in (True, False, "shared"):
            raise ConfigError(f"group {g['name']!r}: bias must be true, false or \"shared\" "
                              f"(one bias for all its units), got {bias!r}")
        groups.append(Group(g["name"], size, None if act in (None, "none", "input") else act,
                            bool(bias), bias_shared=bias == "shared"))
    projections = []
    for p in spec.get("projections", []):
        _known_keys(p, _PROJECTION_KEYS, "[[network.projections]]", required=("from", "to"))
        mask = p.get("mask")
        mask = None if mask is None else np.asarray(mask, dtype=float)
        if "density" in p or "mask_seed" in p:
            mask = _random_mask(p, groups, mask, draw)
        share = None
        if "window" in p:  # one receptive field copied over the target grid (fields.py)
            missing = [end for end in (p["from"], p["to"]) if end not in grids]
            if missing:
                raise ConfigError(f"projection {p['from']}->{p['to']} has a window, so group "
                                  f"{missing[0]!r} needs grid = [rows, columns]")
            share = window_share(grids[p["from"]], grids[p["to"]],
                                 grid_shape(p["window"], f"window of {p['from']}->{p['to']}"))
        shared = p.get("shared", False)
        if shared not in (True, False):
            raise ConfigError(f"projection {p['from']}->{p['to']}: shared must be true (all its "
                              f"connections one weight) or false, got {shared!r}")
        if shared:
            if share is not None or mask is not None:
                raise ConfigError(f"projection {p['from']}->{p['to']}: shared = true makes all "
                                  "its connections one weight; it takes no window or mask")
            share = np.zeros((_size_of(groups, p["from"]), _size_of(groups, p["to"])), np.intp)
        projections.append(Projection(p["from"], p["to"], mask, p.get("tie"), p.get("delay"),
                                      share))
    if not groups:
        raise ConfigError("[network] needs either sizes = [...] or [[network.groups]] tables")
    for key in ("clamp", "target_steps"):
        if not isinstance(spec.get(key, {}), dict):
            raise ConfigError(f"[network] {key} must be a table {{group = [steps]}}, "
                              f"got {spec[key]!r}")
    return groups, projections


# ----------------------------------------------------------------------------
# Finding and reading experiment files
# ----------------------------------------------------------------------------


def _packaged() -> dict[str, Path]:
    folder = resources.files("backprop86.experiments")
    out = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = Path(str(entry))
    return dict(sorted(out.items()))


def names() -> list[str]:
    """Names of the experiments shipped with the package."""
    return list(_packaged())


def load(name_or_path: str | Path, _chain: tuple[str, ...] = ()) -> Experiment:
    """Load a shipped experiment by name, or any experiment TOML file by path."""
    text = str(name_or_path)
    packaged = _packaged()
    if text in packaged:
        path = packaged[text]
    elif text.endswith(".toml") or Path(text).exists():
        path = Path(text)
        if not path.exists() and not path.is_symlink():
            raise ConfigError(f"no experiment file {path}")
    else:
        raise ConfigError(
            f"unknown experiment {text!r}; expected one of {', '.join(packaged)} "
            "or the path of a .toml file (see `backprop86 list`)"
        )
    document = read_text(path, "experiment")
    try:
        raw = tomllib.loads(document)
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(f"{path} is not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit integer; arrays nested too deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise FileFormatError(f"{path} is not usable TOML ({reason})") from None
    return from_dict(_extended(raw, (*_chain, text)), path)


def _extended(raw: dict[str, Any], chain: tuple[str, ...]) -> dict[str, Any]:
    """A variant (``extends = "family-trees"``): the base file's document with this one on top.

    Tables merge key by key, recursively; other values (lists included) replace the
    base's, except ``deviations``, which add to the base's: a variant keeps every
    departure of its base and names its own.
    """
    base_name = raw.get("extends")
    if base_name is None:
        return raw
    if not isinstance(base_name, str):
        raise ConfigError(f"extends must name an experiment, got {base_name!r}")
    if base_name in chain:
        loop = " -> ".join((*chain, base_name))
        raise ConfigError(f"experiments extend each other in a loop: {loop}")
    base = load(base_name, chain).raw
    merged = _merge(base, raw)
    merged["deviations"] = [*base.get("deviations", []), *raw.get("deviations", [])]
    return merged


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        both_tables = isinstance(value, dict) and isinstance(old, dict)
        out[key] = _merge(old, value) if both_tables else value
    return out


def from_dict(raw: dict[str, Any], path: Path | None = None) -> Experiment:
    """Build an :class:`Experiment` from a parsed TOML document."""
    label = str(path) if path else "experiment"
    for key in ("name", "task", "network"):
        if key not in raw:
            raise ConfigError(f"{label}: missing {key!r}")
    validate(raw, label)
    _check_network_keys(raw["network"], label)
    config = _resolve_paths(TrainConfig.from_dict(raw.get("train", {})), path)
    seeds = raw.get("seeds", {})
    exp = Experiment(
        name=raw["name"],
        title=raw.get("title", raw["name"]),
        source=raw.get("source", ""),
        task_spec=dict(raw["task"]),
        network_spec=dict(raw["network"]),
        config=config,
        params=dict(raw.get("params", {})),
        default_seeds=_default_seeds(seeds),
        first_seed=int(seeds.get("first", 0)),
        deviations=tuple(raw.get("deviations", [])),
        checks=tuple(raw.get("checks", [])),
        split=dict(raw.get("split", {})),
        path=path,
        raw=raw,
    )
    return exp


def _default_seeds(seeds: dict[str, Any]) -> tuple[int, ...]:
    """``[seeds]``: ``default = [...]``, or ``count`` seeds from ``first``, or just ``first``."""
    first = int(seeds.get("first", 0))
    if "count" in seeds:
        count = seeds["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"[seeds] count must be a positive integer, got {count!r}")
        count = whole_number("[seeds] count", count, 1)
        check(Estimate((Part("the seeds", count * PER_REPLICA, ("replicas",)),)),
              f"[seeds] count = {count:,}", {"replicas": "[seeds] count"})
        return tuple(range(first, first + count))
    return tuple(int(s) for s in seeds.get("default", [first]))


def _resolve_paths(config: TrainConfig, path: Path | None) -> TrainConfig:
    """Make ``init_file`` absolute: relative to the TOML file, else to the package data."""
    if not config.init_file:
        return config
    f = Path(config.init_file)
    if f.is_absolute() and f.exists():
        return config
    candidates = ([path.parent / f] if path else []) + [DATA_DIR / f, f]
    for c in candidates:
        if c.exists():
            return config.replace(init_file=str(c.resolve()))
    looked = ", ".join(map(str, candidates))
    raise ConfigError(f"init_file {config.init_file!r} not found (looked in {looked})")


__all__ = ["Experiment", "build_network", "from_dict", "load", "names", "parse_value"]
