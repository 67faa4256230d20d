"""The sequence-completion section of ``benchmarks/run.py``: its PyTorch peers train as
backprop86 does, and a saved run with the section spliced in (``--only sequence --splice``
replaces ``results["sequence"]`` and renders the whole report) shows it once, in its place,
with its target rows, the rest unchanged."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path

import pytest

from backprop86.switches import env_flag

ROOT = Path(__file__).resolve().parents[1]
SAVED = json.loads((ROOT / "benchmarks" / "results.json").read_text())


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/run.py`` as a module (its settings of the environment undone after)."""
    saved = dict(os.environ)
    spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.environ.clear()
    os.environ.update(saved)
    return module


def result(bench, ours: float) -> dict:
    """A sequence section's measurements with backprop86 taking ``ours`` seconds."""
    return {"seconds": {"backprop86": ours, bench.TORCH_BPTT: 8.0, bench.TORCH_AUTOGRAD: 20.0},
            "cores": {"backprop86": 1.0, bench.TORCH_BPTT: 1.5, bench.TORCH_AUTOGRAD: 1.4},
            "busy_seconds": {"backprop86": 2 * ours, bench.TORCH_BPTT: 12.0,
                             bench.TORCH_AUTOGRAD: 30.0},
            "busy_cores": {"backprop86": 1.0, bench.TORCH_BPTT: 1.0, bench.TORCH_AUTOGRAD: 1.0},
            "differ": {bench.TORCH_BPTT: (3e-15, 2e-15), bench.TORCH_AUTOGRAD: (4e-15, 1e-15)},
            "engine": "readable", "seeds": 200, "sweeps": 260, "rates": (0.02, 0.9),
            "skipped": [],
            "load": (1.0, 2.0)}


def saved(bench, ours: float | None) -> dict:
    """The saved run (benchmarks/results.json) with the sequence section measured as
    :func:`result` says (``ours`` None: without the section)."""
    r = bench._int_keys(copy.deepcopy(SAVED))
    r.pop("sequence", None)
    meta = {k: v for k, v in r["meta"].items() if k != "sequence"}
    if ours is not None:
        r["sequence"] = result(bench, ours)
        meta["sequence"] = {"date": "2026-12-01 00:00", "reps": 3, "quick": False,
                            "load": [1.0, 2.0]}
    r["meta"] = {k: meta[k] for k in bench.SECTIONS if k in meta}
    return r


def rendered(bench, ours: float | None) -> str:
    return bench.report(saved(bench, ours), False)[0]


def without_sequence(text: str) -> list[str]:
    """The lines of a RESULTS.md without the sequence section, its header line, its
    summary rows and its target rows."""
    rows = text.splitlines()
    heading = [i for i, r in enumerate(rows) if r.startswith("## Sequence completion")]
    if heading:
        end = next(i for i in range(heading[0] + 1, len(rows)) if rows[i].startswith("## "))
        rows = rows[:heading[0]] + rows[end:]
    return [r for r in rows if not r.startswith(("| sequence completion", "  - sequence:",
                                                 "- **sequence completion"))]


def test_a_spliced_sequence_section_appears_once_in_its_place(bench):
    base = rendered(bench, None)
    assert "## Sequence completion" not in base
    assert "## Targets" in base and "## Peak memory" in base
    slow = rendered(bench, 10.0)  # slower than PyTorch: the target unmet, with why
    assert slow.count("## Sequence completion") == 1
    assert "| sequence completion, 200 seeds, idle: no slower than PyTorch eager" in slow
    assert "- **sequence completion, 200 seeds" in slow
    assert "  - sequence: 2026-12-01 00:00, 3 repetitions" in slow
    assert "| sequence completion, 200 seeds | PyTorch eager, manual BPTT |" in slow  # summary
    assert (slow.index("## Real digits") < slow.index("## Sequence completion")
            < slow.index("## Peak memory"))
    fast = rendered(bench, 7.0)  # measured anew: replaced, not added
    assert fast.count("## Sequence completion") == 1
    assert "| backprop86 (readable engine) | 7.00 |" in fast and "| 10.00 |" not in fast
    assert "| 14.00 | 1.00 |" in fast  # one core busy
    assert "- **sequence completion" not in fast  # met now: no reason given any more
    assert without_sequence(fast) == without_sequence(base)  # nothing else changed
    assert bench.sections_arg("digits,sequence") == ["digits", "sequence"]


def test_the_sequence_section_runs_and_its_contenders_agree(bench):
    torch = (pytest.importorskip("torch") if not env_flag("BACKPROP86_REQUIRE_TORCH", False)
             else importlib.import_module("torch"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy machine: OpenMP threads that wait spinning slow it 10-fold
    try:
        d = bench.sequence(reps=1, seeds=2)  # 260 sweeps of 2 nets by each contender
    finally:
        torch.set_num_threads(threads)
    assert d["engine"] == "readable"
    assert set(d["differ"]) == {bench.TORCH_BPTT, bench.TORCH_AUTOGRAD}
    assert all(w <= bench.SEQUENCE_AGREE and e <= bench.SEQUENCE_AGREE
               for w, e in d["differ"].values())
    lines, targets = bench.sequence_report(d)
    assert targets[0][1] is True  # the agreement target
    assert lines[0].startswith("## Sequence completion")


# ----------------------------------------------------------------------------
# A million seeds (issue 17, item 3)
# ----------------------------------------------------------------------------


def test_the_seeds_section_measures_sweeps_as_typed(bench):
    """Small counts stand in for 10⁴–10⁶: each row is a real `backprop86 sweep` process
    whose peak memory the kernel reports; the report has the table and both targets."""
    import seeds

    d = seeds.seeds_section(True, counts=(40, 200), sweeps=30)
    rows = d["rows"]
    assert [(r["seeds"], r["max_sweeps"]) for r in rows] == [(40, 30), (200, 30), (40, 3)]
    assert all(20e6 < r["peak_bytes"] < 2e9 and r["wall_s"] > 0 for r in rows)
    assert all(r["json_bytes"] > 0 and r["npz_bytes"] == 0 for r in rows)  # few seeds: inline
    lines, targets = seeds.seeds_report({**d, "quick": False})
    text = "\n".join(lines)
    assert "## A million seeds on one machine" in text and "| 200 | 30 |" in text
    assert [t[0].split(" ")[0] for t in targets] == ["sweep", "per-seed"]
    big = {**d, "quick": False, "rows": [dict(r) for r in rows]}
    big["rows"][1]["peak_bytes"] = 5 * 10**9  # over the limit: not met, and why
    _, targets = seeds.seeds_report(big)
    assert targets[0][1] is False and targets[0][3] == "the peak is above the limit"
