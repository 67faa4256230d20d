"""``backprop86 reproduce``: every shipped experiment, one Markdown report, one JSON file.

For every experiment that ``backprop86 list`` shows (and every ``[[variants]]``
entry of its file) the command trains the experiment's seeds, draws its figures
and collects its published-versus-measured tables. It writes

* ``DIR/report.md``: a summary table of every claim and verdict, then per
  experiment its table (as ``backprop86 run`` prints it), its deviations and its
  figures;
* ``DIR/results.json``: every number — per run the record of ``run --json``
  (config, seeds, summary, verdicts, checks, every replica), per series
  every point;
* ``DIR/figures/``: Hinton diagrams of trained weights and hidden codes, trends (PNG;
  ``run --plot`` also writes SVG).

The report is made in a fresh folder beside ``DIR`` and moved in when it is written:
``report.md``, ``results.json`` and the figures replace those of an earlier report (the
PNG and SVG files in ``DIR/figures``, which only this command writes there, all go, so
no stale figure stays beside a new report); nothing else in ``DIR`` is touched. Ctrl-C
writes the report of the runs finished so far, marked interrupted and with no verdict
for the run it stopped, to ``DIR.partial`` instead, never over a complete report.

``--quick`` uses each file's ``[quick]`` table: ``seeds`` (fewer seeds),
``set`` (e.g. a lower ``max_sweeps``) and ``variants`` (the variants to keep);
the report says what quick mode changed. ``--only NAME`` restricts the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backprop86 import experiments, fmt
from backprop86.cli.commands.common import require_matplotlib
from backprop86.cli.interrupted import INTERRUPTED, output_path, say_partial
from backprop86.errors import Backprop86Error, ConfigError, FileFormatError
from backprop86.experiments import Experiment
from backprop86.experiments.claims import describe_measured, published_text
from backprop86.experiments.runner import interrupted_line
from backprop86.io import (
    Output,
    atomic_write,
    check_outputs,
    command_line,
    load_json,
    save_json,
    versions,
)

PROG = "backprop86 reproduce"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="run every shipped experiment; write a Markdown report and a JSON file",
        description="Run every shipped experiment (and its variants) and write DIR/report.md "
        "with every published-versus-measured table and figure, DIR/results.json with every "
        "number, and the figures under DIR/figures.",
    )
    p.add_argument("--out", type=Path, default=Path("reproduce"), metavar="DIR",
                   help="folder for report.md, results.json and figures/ (default: reproduce)")
    p.add_argument("--quick", action="store_true",
                   help="fewer seeds and shorter runs, from each experiment's [quick] table")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only this experiment (repeatable)")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the figures (faster)")
    p.add_argument("--table", type=Path, metavar="RESULTS_JSON",
                   help="train nothing: print the summary table of verdicts of a results.json "
                        "this command wrote (the README's claims table is this, for "
                        "docs/reproduce-full/results.json)")


@dataclass
class Entry:
    """One experiment (or one of its variants) as run: its text, verdicts, figures and record."""

    name: str
    variant: str
    title: str
    settings: list[str]
    seeds: int
    seconds: float
    text: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    interrupted: bool = False
    #: The sweep at which Ctrl-C stopped the run (``None``: it finished).
    stopped_at: int | None = None


def plan(exp: Experiment, quick: bool) -> tuple[list[int], list[tuple[str, list[str]]], list[str]]:
    """Seeds, the ``(variant, settings)`` pairs to run (the file's own first), quick settings."""
    table = exp.raw.get("quick", {}) if quick else {}
    if not isinstance(table, dict):
        raise ConfigError(f"experiment {exp.name!r}: [quick] must be a table")
    seeds = exp.seeds(int(table["seeds"])) if "seeds" in table else exp.seeds()
    quick_set = [str(s) for s in table.get("set", [])]
    variants = exp.raw.get("variants", [])
    keep = table.get("variants")
    runs: list[tuple[str, list[str]]] = [("", [])]
    for v in variants:
        if not isinstance(v, dict) or "name" not in v or "set" not in v:
            raise ConfigError(f"experiment {exp.name!r}: every [[variants]] needs name and set")
        if keep is None or v["name"] in keep:
            runs.append((str(v["name"]), [str(s) for s in v["set"]]))
    return seeds, runs, quick_set


def run_one(exp: Experiment, variant: str, settings: list[str], seeds: list[int],
            figures: Path | None) -> Entry:
    """Run ``exp`` with ``settings`` (a single run or its series) and collect everything."""
    from backprop86.experiments.runner import format_run, run
    from backprop86.experiments.series import format_all, run_all, series_specs

    where = f"{exp.name}'s [quick] set" + (f" with variant {variant!r}" if variant else "")
    e = exp.with_settings(settings, option=where)
    stem = exp.name + (f"-{_slug(variant)}" if variant else "")
    entry = Entry(exp.name, variant, e.title, settings, len(seeds), 0.0)
    start = time.perf_counter()
    if series_specs(e):
        series = run_all(e, seeds)
        entry.text = format_all(e, series)
        # no verdict on an interrupted series (the finished ones keep theirs)
        entry.verdicts = [{**s.verdict(), "what": f"trend with {s.name}", "kind": "trend",
                           "source": s.spec.get("source", e.source),
                           "measured_text": _trend_text(s)} for s in series
                          if not s.interrupted]
        # the trend verdicts too, as a run's record keeps its claims' (reproduce --table)
        entry.record = {"series": [s.to_json() for s in series], "verdicts": entry.verdicts}
        entry.interrupted = any(s.interrupted for s in series)
        entry.stopped_at = series[-1].sweeps_done if entry.interrupted else None
        if figures is not None and not entry.interrupted:  # none of a half-trained net
            from backprop86.experiments.figures import draw_series

            entry.figures = draw_series(series, figures, stem)
    else:
        result = run(e, seeds)
        entry.text = format_run(result)
        entry.verdicts = result.verdicts  # none when interrupted
        entry.record = result.to_json()
        entry.interrupted = result.interrupted
        entry.stopped_at = result.sweeps_done if entry.interrupted else None
        if figures is not None and not entry.interrupted:  # none of a half-trained net
            from backprop86.experiments.figures import draw_run

            entry.figures = draw_run(result, figures, stem)
    for png in entry.figures:  # the report embeds the PNGs; their SVG twins only add weight
        png.with_suffix(".svg").unlink(missing_ok=True)
    entry.seconds = time.perf_counter() - start
    return entry


#: Symbols of variant names spelt in ASCII for file names (``ε 0.04`` → ``eps-0-04``).
_ASCII = {"ε": "eps", "η": "eta", "α": "alpha", "±": "pm", "×": "x", "−": "minus"}


def _slug(text: str) -> str:
    """An ASCII file-name stem: letters and digits kept, symbols spelt, the rest ``-``."""
    spelt = "".join(_ASCII.get(c, c) for c in text.lower())
    return "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in spelt).split())


def _trend_text(s: Any) -> str:
    medians = ", ".join(fmt.count(m) for m in s.medians())
    from backprop86.experiments.series import level_text

    v = s.verdict()
    rho = v["rho"]
    return (f"medians {medians}" + ("" if rho is None else f" (Spearman ρ = {rho:+.2f})")
            + "".join(f"; at {p['at']}: {level_text(p)}" for p in v.get("levels", [])))


def choose(names: list[str], only: list[str]) -> list[str]:
    """The experiments to run: those ``--only`` names, else every one except those marked
    ``reproduce = false`` (not the 1986 papers': digits)."""
    if only:
        return [n for n in names if n in only]
    return [n for n in names if experiments.load(n).raw.get("reproduce", True)]


def main(args: argparse.Namespace) -> int:
    if args.table is not None:
        print("\n".join(table_from_results(load_json(args.table), args.table)))
        return 0
    names = experiments.names()
    unknown = [n for n in args.only if n not in names]
    if unknown:
        raise ConfigError(f"--only: unknown experiment(s) {', '.join(unknown)}; expected some of "
                          f"{', '.join(names)}")
    chosen = choose(names, args.only)
    if args.plots:
        require_matplotlib("the figures need", PROG, hint=", or pass --no-plots")
    out: Path = args.out
    figures = out / "figures" if args.plots else None
    check_outputs([Output("--out", out, folder=True),  # before any experiment runs
                   Output("--out (results)", out / "results.json"),
                   Output("--out (report)", out / "report.md"),
                   Output("--out (figures)", figures, folder=True)])
    staging = _staging(out)  # the new report is made here, and moved into place when written
    try:
        entries, stopped, total = _run_all(chosen, args, staging)
        write_report(staging, entries, quick=args.quick, seconds=total, stopped=stopped)
        target = output_path(out, complete=not stopped, folder=True)
        install(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"{PROG}: wrote {target / 'report.md'} and {target / 'results.json'} in {total:.0f} s",
          file=sys.stderr)
    if stopped:
        say_partial(PROG, [(out, target)])
        return INTERRUPTED
    return 1 if any(e.error for e in entries) else 0


def _run_all(chosen: list[str], args: argparse.Namespace,
             folder: Path) -> tuple[list[Entry], bool, float]:
    """Run every chosen experiment and variant, figures into ``folder/figures``: the entries,
    whether Ctrl-C stopped them, and the seconds taken."""
    figures = folder / "figures" if args.plots else None
    entries: list[Entry] = []
    started = time.perf_counter()
    try:
        for name in chosen:
            exp = experiments.load(name)
            seeds, runs, quick_set = plan(exp, args.quick)
            for variant, settings in runs:
                label = name + (f" ({variant})" if variant else "")
                plural = "s" if len(seeds) != 1 else ""
                print(f"{PROG}: {label}, {len(seeds)} seed{plural} …", file=sys.stderr,
                      flush=True)
                try:
                    entry = run_one(exp, variant, [*quick_set, *settings], seeds, figures)
                except Backprop86Error as exc:
                    entry = Entry(name, variant, exp.title, [*quick_set, *settings], len(seeds),
                                  0.0, error=str(exc))
                entries.append(entry)
                print(f"{PROG}: {label} done in {entry.seconds:.1f} s"
                      + (f" — failed: {entry.error}" if entry.error else ""), file=sys.stderr)
                if entry.interrupted:
                    return entries, True, time.perf_counter() - started
    except KeyboardInterrupt:  # between runs, or while drawing: the finished runs are kept
        return entries, True, time.perf_counter() - started
    return entries, False, time.perf_counter() - started


def _staging(out: Path) -> Path:
    """A fresh, empty folder beside ``out`` (same file system, so its files move in by
    renaming) to make the new report in."""
    base = out if out.name else out.resolve()  # "." names the folder it is
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{base.name}.", suffix=".new", dir=base.parent))
    except OSError as exc:
        raise FileFormatError(f"cannot write the report into {out}: {exc.strerror or exc}"
                              ) from None


#: What this command writes in its folder; nothing else there is touched.
REPORT_FILES = ("report.md", "results.json")
#: The kinds of file this command draws into ``DIR/figures``.
FIGURE_SUFFIXES = (".png", ".svg")


def install(staging: Path, target: Path) -> None:
    """Move the report made in ``staging`` into ``target``, so that no figure of an earlier
    report stays beside the new one: the PNG and SVG files in ``target/figures`` (the figures
    a report drew there) go, the new ones come; ``report.md`` and ``results.json`` are
    replaced, the report last. Any other file in ``target`` is left as it is."""
    try:
        target.mkdir(parents=True, exist_ok=True)
        old, new = target / "figures", staging / "figures"
        if old.is_dir():
            for f in old.iterdir():
                if f.suffix in FIGURE_SUFFIXES and f.is_file():
                    f.unlink()
        if new.is_dir():
            old.mkdir(exist_ok=True)
            for f in sorted(new.iterdir()):
                os.replace(f, old / f.name)
        for name in reversed(REPORT_FILES):  # results.json, then the report that cites it
            os.replace(staging / name, target / name)
    except OSError as exc:
        raise FileFormatError(f"cannot write the report into {target}: "
                              f"{exc.strerror or exc}") from None


# ----------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------


def write_report(out: Path, entries: list[Entry], *, quick: bool, seconds: float,
                 stopped: bool) -> None:
    """``out/report.md`` and ``out/results.json``."""
    save_json(out / "results.json", {
        "command": command_line(),
        "quick": quick,
        "versions": versions(),
        "seconds": seconds,
        "interrupted": stopped,
        "runs": [{
            "experiment": e.name, "variant": e.variant or None, "settings": e.settings,
            "seeds": e.seeds, "seconds": e.seconds, "error": e.error or None,
            "interrupted_at": e.stopped_at,
            "figures": [str(p.relative_to(out)) for p in e.figures],
            "result": e.record,
        } for e in entries],
    })
    with atomic_write(out / "report.md") as fh:
        fh.write(markdown(out, entries, quick=quick, seconds=seconds, stopped=stopped))


def markdown(out: Path, entries: list[Entry], *, quick: bool, seconds: float,
             stopped: bool) -> str:
    """The report: how it was made, a summary of every verdict, then every experiment."""
    v = versions()
    mode = "quick mode (fewer seeds, shorter caps: each section lists what changed)" if quick \
        else "full mode"
    lines = [
        "# backprop86: the 1986 experiments, published against measured",
        "",
        f"Generated by `{command_line()}` in {mode}, {seconds:.0f} s "
        f"(backprop86 {v['backprop86']}, NumPy {v['numpy']}, Python {v['python']}). "
        "Every number below comes from that command; `results.json` beside this file holds "
        "them all.",
        "",
        "Verdicts: **reproduced**, **within the distribution** or **not reproduced**, each by "
        "the rule printed with it. Single published runs come from unknown seeds and unstated "
        "settings, so they are compared with the distribution over many seeds.",
        "",
    ]
    if stopped:
        lines += ["**Interrupted**: the runs below are those finished before Ctrl-C.", ""]
    lines += ["## Summary", "",
              *claims_table([(e.name, e.variant, e.error, e.verdicts, e.stopped_at)
                             for e in entries])]
    for e in entries:
        label = e.name + (f" — variant: {e.variant}" if e.variant else "")
        lines += ["", f"## {label}", ""]
        settings = ", ".join(f"`{s}`" for s in e.settings) or "none"
        plural = "s" if e.seeds != 1 else ""
        lines.append(f"{e.seeds} seed{plural}; settings changed from the file: {settings}; "
                     f"{e.seconds:.1f} s.")
        if e.error:
            lines += ["", f"**Failed**: {e.error}"]
            continue
        lines += ["", "```text", e.text, "```"]
        for path in e.figures:
            rel = path.relative_to(out)
            lines += ["", f"![{rel.stem}]({rel.as_posix()})"]
    return "\n".join(lines) + "\n"


def claims_table(runs: list[tuple[str, str, str, list[dict[str, Any]], int | None]]
                 ) -> list[str]:
    """The summary table: one row per published claim of each ``(name, variant, error,
    verdicts, stopped_at)`` run, with its verdict as judged (never reworded); a run that
    Ctrl-C stopped at sweep ``stopped_at`` gets no verdict."""
    lines = ["| experiment | claim | published | measured | verdict |", "|---|---|---|---|---|"]
    for name, variant, error, verdicts, stopped_at in runs:
        label = name + (f" ({variant})" if variant else "")
        if error:
            lines.append(f"| {label} | — | — | failed: {_cell(error)} | — |")
            continue
        if stopped_at is not None:
            lines.append(f"| {label} | — | — | {interrupted_line(stopped_at)} | — |")
            continue
        if not verdicts:
            lines.append(f"| {label} | (no published claim) | — | — | — |")
        for verdict in verdicts:
            measured = verdict.get("measured_text") or describe_measured(verdict.get("measured"))
            lines.append(
                f"| {label} | {_cell(verdict.get('what') or verdict.get('metric', ''))} | "
                f"{_cell(published_text(verdict) if 'published' in verdict else None)} | "
                f"{_cell(measured)} | "
                f"{verdict['verdict']} |"
            )
    return lines


def table_from_results(record: Any, path: Path) -> list[str]:
    """:func:`claims_table` of a ``results.json`` written by this command."""
    runs = record.get("runs") if isinstance(record, dict) else None
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{path}: not a results.json written by `backprop86 reproduce` "
                          "(expected a 'runs' list)")
    try:
        return claims_table([(r["experiment"], r.get("variant") or "", r.get("error") or "",
                              (r.get("result") or {}).get("verdicts", []),
                              r.get("interrupted_at")) for r in runs])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: a run lacks its experiment or verdicts ({exc})") from None


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
