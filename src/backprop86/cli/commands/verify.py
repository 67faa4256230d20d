"""``backprop86 verify RESULT.json``: re-run a recorded run; check that its numbers come out again.

Every result file the package writes is accepted (:func:`items` says what each holds):

* ``run --json`` and ``xor --json``: one run;
* ``run --json`` of an experiment with ``[[series]]``: every point of every series;
* ``sweep --json``: every grid point (its summary, failure kinds, verdicts and checks);
* ``reproduce``'s ``results.json``: every run it holds (``--only NAME`` picks some).

A model written by ``fit`` is not a result of a recorded recipe (it needs its table
of data) and is refused in one line. Each run's recipe (experiment table, parameters,
full config, seeds — see :mod:`backprop86.experiments.recipe`) is trained again, the
experiment's name checked against its table, and every recorded number compared:

* on the same platform (same machine type, OS build, NumPy and backprop86 versions as
  the file's manifest) every number must match **exactly** — float64 or float32,
  training is deterministic;
* elsewhere floating-point numbers may differ by a relative ``--rtol`` (default 1e-6:
  different BLAS kernels round differently, and thousands of sweeps can amplify
  last-bit differences), while counts (sweeps), flags (solved, stopped) and text must
  still match exactly.

The re-run uses the engine that trained the file (recorded as ``engine``), so that
``auto`` choosing another one here (numba installed or not, its cache warm or cold)
does not change the numbers. When that engine cannot train the run here, ``auto``
re-runs it; engines that do not compute bit for bit alike (:func:`same_numbers`) are
then compared as on another platform, and a mismatch is explained in words: rounding
differences near 1e-15 a sweep, amplified over thousands of sweeps, can move a seed
that ends near a threshold to the other side of it.

Exit status: 0 every number matches, 1 some differ, 2 the file cannot be used.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from backprop86.cli.args import positive_float
from backprop86.errors import ConfigError, FileFormatError
from backprop86.experiments import Experiment
from backprop86.experiments.recipe import rebuild
from backprop86.io import jsonable, load_json, versions
from backprop86.outcomes import attach

#: Relative tolerance for floats when the platform differs.
DEFAULT_RTOL = 1e-6
#: Manifest entries that must agree for an exact comparison.
PLATFORM_KEYS = ("backprop86", "numpy", "platform", "machine")
#: The parts of a run result that must be there and are compared.
COMPARED = ("replicas", "summary")
#: Parts compared when the file has them (verdicts and checks follow from the numbers).
ALSO_COMPARED = ("verdict", "verdicts", "checks")
#: Entries of a sweep point not compared: its recipe (the re-run is built from it; its
#: engine is the one that trained it), which engine trained it (said, not compared), and
#: whether it was interrupted (the re-run stops where it stopped, uninterrupted).
POINT_NOT_COMPARED = ("params", "config", "engine", "why_not", "partial")
#: Engines that compute bit for bit the same numbers (the replica-first layout).
BIT_FOR_BIT = frozenset({"readable", "numpy-first", "compiled-first"})
#: The model files of ``fit``: not re-runnable from the file alone.
MODEL_FORMAT = "backprop86-model"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="re-run a result file and check its numbers",
        description="Re-run the runs a result file records (their tables, settings and seeds, "
        "with the engine that trained them) and compare every number: exactly on the same "
        "platform, within --rtol elsewhere. Accepts the files of run --json, xor --json, "
        "sweep --json and reproduce (results.json). Exit 0: match; 1: mismatch; 2: unusable "
        "file.",
    )
    p.add_argument("result", metavar="RESULT.json",
                   help="a file written by run --json, xor --json, sweep --json or reproduce")
    p.add_argument("--rtol", type=positive_float, metavar="R",
                   help="relative tolerance for floats on another platform "
                        f"(default {DEFAULT_RTOL})")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="re-run only the runs of this experiment (repeatable), e.g. in a "
                        "reproduce results.json")


@dataclass
class Outcome:
    """The comparison: how it was made and every difference found."""

    exact: bool
    rtol: float
    compared: int = 0
    differences: list[str] = field(default_factory=list)
    platform_note: str = ""
    #: The engine recorded in the file (``None``: the file does not say) and the re-run's.
    recorded_engine: str | None = None
    rerun_engine: str | None = None
    #: Why the re-run did not use the recorded engine (empty when it did).
    engine_note: str = ""
    #: Sweeps the run trained (for the words on rounding amplified over sweeps).
    sweeps: int = 0

    @property
    def match(self) -> bool:
        return not self.differences


@dataclass
class Item:
    """One run a result file records: a label, and a run record or a sweep point."""

    label: str
    record: dict[str, Any]
    #: For a sweep point: the recipe that rebuilds it and its seeds (``None`` for a run).
    recipe: dict[str, Any] | None = None


def same_platform(recorded: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether the manifest ``recorded`` names this platform, and a line saying so."""
    here = versions()
    if not isinstance(recorded, dict):
        return False, "the file has no versions manifest"
    differ = [
        f"{k} {recorded.get(k)!r} there, {here[k]!r} here"
        for k in PLATFORM_KEYS if recorded.get(k) != here[k]
    ]
    if differ:
        return False, "another platform: " + "; ".join(differ)
    return True, f"the same platform ({here['platform']}, NumPy {here['numpy']})"


def same_numbers(a: str | None, b: str | None) -> bool:
    """Whether engines ``a`` and ``b`` compute bit for bit the same numbers."""
    return a == b or (a in BIT_FOR_BIT and b in BIT_FOR_BIT)


def compare(recorded: Any, rerun: Any, *, exact: bool, rtol: float, path: str = "") -> Outcome:
    """Compare two JSON values leaf by leaf; floats within ``rtol`` unless ``exact``."""
    out = Outcome(exact, rtol)
    _walk(recorded, rerun, path, out)
    return out


def _walk(a: Any, b: Any, path: str, out: Outcome) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key not in b:
                out.differences.append(f"{path}.{key}: recorded, but the re-run has no such entry")
                continue
            _walk(a[key], b[key], f"{path}.{key}" if path else key, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.differences.append(f"{path}: {len(a)} entries recorded, {len(b)} in the re-run")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", out)
        return
    out.compared += 1
    if _equal(a, b, exact=out.exact, rtol=out.rtol):
        return
    out.differences.append(f"{path}: recorded {a!r}, re-run {b!r}")


def _equal(a: Any, b: Any, *, exact: bool, rtol: float) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    if not numbers:
        return type(a) is type(b) and a == b
    if exact or not (isinstance(a, float) or isinstance(b, float)):
        return a == b
    # floats near 0 (an error of 1e-20 against 3e-20) count as equal below 1e-12
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)


# ----------------------------------------------------------------------------
# What a file holds
# ----------------------------------------------------------------------------


def describe(data: dict[str, Any]) -> str:
    """What kind of result file ``data`` is, in words."""
    if "runs" in data:
        return "a report's results (`backprop86 reproduce`)"
    if "points" in data:
        return "a sweep (`backprop86 sweep --json`)"
    if "series" in data:
        return "a run of series (`backprop86 run --json`)"
    return "a run (`backprop86 run --json` or `xor --json`)"


def items(data: dict[str, Any], label: str, only: list[str] | None = None) -> list[Item]:
    """Every run the result file ``data`` records, whatever command wrote it; a file that is
    none of them gives one clear error. ``only``: keep the runs of these experiments."""
    if data.get("format") == MODEL_FORMAT:
        raise FileFormatError(
            f"{label} is a model written by `backprop86 fit`, not a result file: verify re-runs "
            "the files of run --json, xor --json, sweep --json and reproduce (results.json); "
            "to check a model, fit it again with the same arguments")
    try:
        if "runs" in data:
            found = _reproduce_items(data, label)
        elif "points" in data:
            found = _sweep_items(data, label)
        elif "series" in data:
            found = _series_items(data["series"], data.get("experiment"), label)
        elif all(key in data for key in COMPARED):
            found = [Item(str(data.get("experiment")), data)]
        else:
            raise FileFormatError(
                f"{label} is not a run result (it has no {' / '.join(COMPARED)}); expected a "
                "file written by `backprop86 run --json`, `xor --json`, `sweep --json` or "
                "`reproduce`")
    except (KeyError, TypeError, AttributeError) as exc:
        raise FileFormatError(f"{label}: {describe(data)} that lacks an entry ({exc!r}); "
                              "expected one written by backprop86") from None
    if only:
        found = [it for it in found if it.record.get("experiment") in only]
        if not found:
            raise FileFormatError(f"{label}: no run of {', '.join(only)} in it")
    return found


def _series_items(series: Any, name: Any, label: str) -> list[Item]:
    out = []
    for s in series:
        for value, point in zip(s["values"], s["points"], strict=True):
            out.append(Item(f"{point.get('experiment', name)} {s['param']}={value}", point))
    return out


def _reproduce_items(data: dict[str, Any], label: str) -> list[Item]:
    out: list[Item] = []
    for r in data["runs"]:
        name = r["experiment"] + (f" ({r['variant']})" if r.get("variant") else "")
        result = r.get("result") or {}
        if r.get("error") or not result:
            continue  # a run that failed recorded no numbers
        if "series" in result:
            for it in _series_items(result["series"], r["experiment"], label):
                it.label = f"{name}: {it.label}"
                out.append(it)
        else:
            out.append(Item(name, result))
    return out


def _sweep_items(data: dict[str, Any], label: str) -> list[Item]:
    tables = {e["name"]: e for e in data["experiments"]}
    n = int(data["seeds_per_point"])
    out = []
    for p in data["points"]:
        name = p["experiment"]
        entry = tables.get(name, {})
        first = int(p["first_seed"])
        recipe = {"experiment": name, "experiment_file": entry.get("experiment_file"),
                  "experiment_table": entry.get("experiment_table"), "params": p["params"],
                  "config": p["config"], "seeds": list(range(first, first + n))}
        grid = " ".join(f"{k}={v}" for k, v in p["grid"].items())
        out.append(Item(f"{name} {grid}".strip(), p, recipe))
    return out


# ----------------------------------------------------------------------------
# Re-running
# ----------------------------------------------------------------------------


def _stopped_where_recorded(exp: Experiment, record: dict[str, Any], interrupted: bool,
                            label: str) -> Experiment:
    """An interrupted run re-runs to the sweep it stopped at: what an uninterrupted run with
    ``max_sweeps`` = that sweep does."""
    if not interrupted:
        return exp
    done = record.get("sweeps_done")
    if not isinstance(done, int) or done < 1:
        raise FileFormatError(f"{label} records an interrupted run but not how far it got")
    return dataclasses.replace(exp, config=exp.config.replace(max_sweeps=done))


def _with_engine(exp: Experiment, engine: str | None) -> Experiment:
    return exp if engine is None else dataclasses.replace(
        exp, config=exp.config.replace(engine=engine))


def _rerun(train: Any, exp: Experiment, recorded: str | None) -> tuple[Any, str]:
    """``train(exp)`` with the recorded engine, or with ``exp``'s own when that one cannot
    train the run here; and why it did not use the recorded one ("" when it did)."""
    if recorded is None or recorded == exp.config.engine:
        return train(exp), "" if recorded else "the file does not say which engine trained it"
    try:
        return train(_with_engine(exp, recorded)), ""
    except ConfigError as exc:
        if not str(exc).startswith(f"engine {recorded!r}"):
            raise
        return train(exp), f"the {recorded} engine cannot train it here ({exc})"


def verify(data: dict[str, Any], label: str, rtol: float | None = None) -> Outcome:
    """Re-run the run recorded in ``data`` (a run record) and compare its numbers."""
    return verify_item(Item(str(data.get("experiment")), data), label, data.get("versions"),
                       rtol)


def verify_item(item: Item, label: str, manifest: Any, rtol: float | None = None) -> Outcome:
    """Re-run one run of a result file and compare its numbers with the recorded ones."""
    record = item.record
    if item.recipe is None:  # a run record
        from backprop86.experiments.runner import run

        if not all(key in record for key in COMPARED):
            raise FileFormatError(f"{label}: {item.label} has no {' / '.join(COMPARED)}")
        exp, seeds = rebuild(record, label)
        interrupted = bool(record.get("interrupted"))
        exp = _stopped_where_recorded(exp, record, interrupted, label)
        rerun, note = _rerun(lambda e: run(e, seeds), exp, record.get("engine"))
        fresh, engine = jsonable(rerun.to_json()), rerun.result.engine
        # an interrupted run has no verdicts; its re-run, which finishes, would
        keys = [*COMPARED, *(k for k in ALSO_COMPARED if k in record and not interrupted)]
        pairs = [(k, record[k], fresh.get(k)) for k in keys]
    else:  # a sweep point
        from backprop86.cli.commands.sweep import Point, measure, point_record

        exp, seeds = rebuild(item.recipe, label)
        interrupted = bool(record.get("partial"))
        exp = _stopped_where_recorded(exp, record, interrupted, label)
        point = Point(exp, dict(record.get("grid") or {}))
        rerun, note = _rerun(lambda e: measure(dataclasses.replace(point, experiment=e), seeds),
                             exp, record.get("engine"))
        fresh, engine = jsonable(point_record(rerun)), rerun.engine
        skip = {*POINT_NOT_COMPARED, *(("verdicts",) if interrupted else ())}
        pairs = [(k, v, fresh.get(k)) for k, v in record.items() if k not in skip]
    same, platform_note = same_platform(manifest)
    recorded_engine = record.get("engine")
    exact = same and same_numbers(recorded_engine, engine)
    out = Outcome(exact, DEFAULT_RTOL if rtol is None else rtol, platform_note=platform_note,
                  recorded_engine=recorded_engine, rerun_engine=engine, engine_note=note,
                  sweeps=exp.config.max_sweeps)
    for key, recorded, again in pairs:
        _walk(recorded, again, key, out)
    return out


# ----------------------------------------------------------------------------
# Printing
# ----------------------------------------------------------------------------


def engine_text(out: Outcome) -> str:
    """``recorded by the numpy-last engine; re-ran with the numpy-last engine`` (and why
    another engine re-ran it, when one did)."""
    said = (f"recorded by the {out.recorded_engine} engine" if out.recorded_engine
            else "the file does not say which engine trained it")
    return f"{said}; re-ran with the {out.rerun_engine} engine" + (
        f" ({out.engine_note})" if out.engine_note and out.recorded_engine else "")


def rounding_words(out: Outcome) -> str:
    """In plain words, why two engines can give the same seed a different outcome."""
    return (f"the {out.recorded_engine} and {out.rerun_engine} engines agree to rounding, not "
            "bit for bit (relative differences near 1e-15 a sweep); over "
            f"{out.sweeps:,} sweeps these can grow until a seed that ends near a threshold "
            "(solved, stopped) ends on the other side, so differences like these may come "
            "from the engines, not from a fault: re-run where the file's engine is available "
            "(compiled engines need numba) to compare exactly")


def _comparison_line(out: Outcome) -> str:
    how = ("every number must match exactly" if out.exact
           else f"floats within relative {out.rtol:g}, counts, flags and text exactly")
    return f"re-ran on {out.platform_note}: {how}"


def _differences(out: Outcome, indent: str) -> list[str]:
    lines = [f"{indent}{line}" for line in out.differences[:20]]
    if len(out.differences) > 20:
        lines.append(f"{indent}… and {len(out.differences) - 20} more")
    if out.recorded_engine and not same_numbers(out.recorded_engine, out.rerun_engine):
        lines.append(f"{indent}note: {rounding_words(out)}")
    return lines


def check_sizes(todo: list[Item], label: str) -> None:
    """Every run the file records must fit in memory before any is re-run (one line, exit 2)."""
    for item in todo:
        record = item.record if item.recipe is None else item.recipe
        exp, seeds = rebuild(record, label)
        exp = _stopped_where_recorded(exp, item.record, bool(item.record.get("interrupted")
                                                              or item.record.get("partial")), label)
        exp.check_size(len(seeds), dict.fromkeys(("replicas", "max_sweeps", "history_every",
                                                  "units", "cases"), ""),
                       what=f"re-running {item.label} of {label} ({len(seeds):,} seeds, "
                            f"{exp.config.max_sweeps:,} sweeps)")


def main(args: argparse.Namespace) -> int:
    data = attach(load_json(args.result), args.result)  # seeds' columns kept beside it
    label = str(args.result)
    todo = items(data, label, args.only)
    check_sizes(todo, label)
    manifest = data.get("versions")
    if "runs" not in data and "points" not in data and "series" not in data:
        out = verify_item(todo[0], label, manifest, args.rtol)
        seeds = data.get("seeds") or []
        print(f"verify {args.result}: experiment {data.get('experiment')!r}, "
              f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}")
        print(engine_text(out))
        print(_comparison_line(out))
        if out.match:
            print(f"match: all {out.compared} recorded numbers and flags came out again")
            return 0
        print(f"MISMATCH: {len(out.differences)} of {out.compared} values differ")
        print("\n".join(_differences(out, "  ")))
        return 1
    print(f"verify {args.result}: {describe(data)}, {len(todo)} run{'s' if len(todo) != 1 else ''}"
          " to re-run")
    compared = differ = 0
    for item in todo:
        out = verify_item(item, label, manifest, args.rtol)
        compared += out.compared
        head = f"  {item.label}: {engine_text(out)}; "
        if out.match:
            print(head + f"match ({out.compared} values)")
        else:
            differ += 1
            print(head + f"MISMATCH: {len(out.differences)} of {out.compared} values differ")
            print("\n".join(_differences(out, "    ")))
    print(_comparison_line(out))
    if not differ:
        runs = "the run" if len(todo) == 1 else f"the {len(todo)} runs"
        print(f"match: all {compared} recorded numbers and flags of {runs} came out again")
        return 0
    print(f"MISMATCH: {differ} of {len(todo)} runs differ")
    return 1
