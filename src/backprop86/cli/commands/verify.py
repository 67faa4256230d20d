"""``backprop86 verify RESULT.json``: re-run a recorded run; check that its numbers come out again.

The result file's recipe (experiment table, parameters, full config, seeds — see
:mod:`backprop86.experiments.recipe`) is trained again and every number of its ``replicas``
and ``summary`` is compared with the recorded one:

* on the same platform (same machine type, OS build, NumPy and backprop86
  versions as the file's manifest) every number must match **exactly** — float64
  or float32, training is deterministic;
* elsewhere floating-point numbers may differ by a relative ``--rtol``
  (default 1e-6: different BLAS kernels round differently, and thousands of
  sweeps can amplify last-bit differences), while counts (sweeps), flags
  (solved, stopped) and text must still match exactly.

Exit status: 0 every number matches, 1 some differ, 2 the file cannot be used.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from backprop86.cli.args import positive_float
from backprop86.errors import FileFormatError
from backprop86.experiments.recipe import rebuild
from backprop86.io import jsonable, load_json, versions

#: Relative tolerance for floats when the platform differs.
DEFAULT_RTOL = 1e-6
#: Manifest entries that must agree for an exact comparison.
PLATFORM_KEYS = ("backprop86", "numpy", "platform", "machine")
#: The parts of a result that must be there and are compared.
COMPARED = ("replicas", "summary")
#: Parts compared when the file has them (verdicts and checks follow from the numbers).
ALSO_COMPARED = ("verdict", "verdicts", "checks")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="re-run a result file and check its numbers",
        description="Re-run the experiment a result file records (its table, settings and seeds) "
        "and compare every number: exactly on the same platform, within --rtol elsewhere. "
        "Exit 0: match; 1: mismatch; 2: unusable file.",
    )
    p.add_argument("result", metavar="RESULT.json", help="a file written by `run --json`")
    p.add_argument("--rtol", type=positive_float, metavar="R",
                   help="relative tolerance for floats on another platform "
                        f"(default {DEFAULT_RTOL})")


@dataclass
class Outcome:
    """The comparison: how it was made and every difference found."""

    exact: bool
    rtol: float
    compared: int = 0
    differences: list[str] = field(default_factory=list)
    platform_note: str = ""

    @property
    def match(self) -> bool:
        return not self.differences


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


def verify(data: dict[str, Any], label: str, rtol: float | None = None) -> Outcome:
    """Re-run the run recorded in ``data`` and compare its numbers."""
    from backprop86.experiments.runner import run

    if not all(key in data for key in COMPARED):
        raise FileFormatError(
            f"{label} is not a run result (it has no {' / '.join(COMPARED)}); "
            "expected a file written by `backprop86 run --json`"
        )
    exp, seeds = rebuild(data, label)
    if data.get("interrupted"):
        done = data.get("sweeps_done")
        if not isinstance(done, int) or done < 1:
            raise FileFormatError(f"{label} records an interrupted run but not how far it got")
        # stopping at sweep k is what an uninterrupted run with max_sweeps = k does
        exp = dataclasses.replace(exp, config=exp.config.replace(max_sweeps=done))
    exp.check_size(len(seeds), dict.fromkeys(("replicas", "max_sweeps", "history_every",
                                              "units", "cases"), ""),
                   what=f"re-running {label} ({len(seeds):,} seeds, "
                        f"{exp.config.max_sweeps:,} sweeps)")
    exact, note = same_platform(data.get("versions"))
    fresh = jsonable(run(exp, seeds).to_json())
    out = Outcome(exact, DEFAULT_RTOL if rtol is None else rtol, platform_note=note)
    for key in (*COMPARED, *(k for k in ALSO_COMPARED if k in data)):
        _walk(data[key], fresh.get(key), key, out)
    return out


def main(args: argparse.Namespace) -> int:
    data = load_json(args.result)
    out = verify(data, str(args.result), args.rtol)
    seeds = data.get("seeds") or []
    print(f"verify {args.result}: experiment {data.get('experiment')!r}, "
          f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}")
    print(f"re-ran on {out.platform_note}: "
          + ("every number must match exactly" if out.exact
             else f"floats within relative {out.rtol:g}, counts, flags and text exactly"))
    if out.match:
        print(f"match: all {out.compared} recorded numbers and flags came out again")
        return 0
    print(f"MISMATCH: {len(out.differences)} of {out.compared} values differ")
    for line in out.differences[:20]:
        print(f"  {line}")
    if len(out.differences) > 20:
        print(f"  … and {len(out.differences) - 20} more")
    return 1
