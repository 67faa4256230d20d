"""The sequence-completion section of ``benchmarks/run.py``: its PyTorch peers train as
backprop86 does, and ``--splice`` replaces that section of RESULTS.md and nothing else."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from backprop86.switches import env_flag

ROOT = Path(__file__).resolve().parents[1]
RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text()


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
            "differ": {bench.TORCH_BPTT: (3e-15, 2e-15), bench.TORCH_AUTOGRAD: (4e-15, 1e-15)},
            "engine": "readable", "seeds": 200, "sweeps": 260, "rates": (0.02, 0.9),
            "skipped": [],
            "load": (1.0, 2.0)}


def spliced(bench, text: str, ours: float) -> str:
    lines, targets = bench.sequence_report(result(bench, ours))
    return bench.splice(text, "sequence", lines, targets, "a test")


def without_sequence(text: str) -> list[str]:
    """The lines of a RESULTS.md without the sequence section and its target rows."""
    rows = text.splitlines()
    heading = [i for i, r in enumerate(rows) if r.startswith("## Sequence completion")]
    if heading:
        end = next(i for i in range(heading[0] + 1, len(rows)) if rows[i].startswith("## "))
        rows = rows[:heading[0]] + rows[end:]
    return [r for r in rows if not r.startswith(("| sequence completion",
                                                 "- **sequence completion"))]


def test_splice_adds_the_section_and_then_replaces_only_it(bench):
    base = "\n".join(without_sequence(RESULTS)) + "\n"
    assert "## Targets" in base and "## Peak memory" in base
    slow = spliced(bench, base, 10.0)  # slower than PyTorch: the target unmet, with why
    assert slow.count("## Sequence completion") == 1
    assert "| sequence completion, 200 seeds: no slower than PyTorch eager" in slow
    assert "- **sequence completion, 200 seeds" in slow
    assert slow.index("## Sequence completion") < slow.index("## Peak memory")
    fast = spliced(bench, slow, 7.0)  # measured anew: replaced, not added
    assert fast.count("## Sequence completion") == 1
    assert "| backprop86 (readable engine) | 7.00 |" in fast and "| 10.00 |" not in fast
    assert "- **sequence completion" not in fast  # met now: no reason given any more
    assert without_sequence(fast) == without_sequence(base)  # nothing else changed
    assert spliced(bench, fast, 7.0) == fast
    assert spliced(bench, RESULTS, 7.0).count("## Sequence completion") == 1


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
