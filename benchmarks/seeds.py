"""A million seeds on one machine: `backprop86 sweep` as typed, its peak memory and time.

Each row runs ``backprop86 sweep xor --seeds N --grid hidden=4 --json …`` as its own
process, as a user types it, and reads that process's peak resident memory from the
kernel (``wait4``'s ``ru_maxrss``), its wall time, and the sizes of what it wrote (the
JSON summary and, beyond :data:`backprop86.outcomes.INLINE_SEEDS` seeds, each seed's
outcome in ``.replicas.npz`` beside it). A last row trains the largest count but one
for a tenth of the sweeps: a seed's memory must not depend on how long it trains.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Seed counts of the full run and of ``--quick``.
COUNTS = (10_000, 100_000, 1_000_000)
QUICK_COUNTS = (1_000, 10_000, 100_000)

#: The target of issue 17, item 3: peak resident memory of the million-seed sweep.
LIMIT_BYTES = 4 * 10**9

Target = tuple[str, "bool | None", str, str]


def sweep_once(seeds: int, sweeps: int | None, folder: Path) -> dict[str, Any]:
    """Run one sweep in a fresh process; its peak memory, wall time, outputs and result."""
    out = folder / f"xor-{seeds}-{sweeps or 'default'}.json"
    cmd = [sys.executable, "-m", "backprop86", "sweep", "xor", "--seeds", str(seeds),
           "--grid", "hidden=4", "--json", str(out)]
    if sweeps is not None:
        cmd += ["--set", f"max_sweeps={sweeps}"]
    env = {**os.environ, "BACKPROP86_PROGRESS": "1"}  # the bar a user sees, on stderr
    log = folder / "stderr.txt"
    started = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # reaped here: its own resource usage
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{text[-2000:]}")
    data = json.loads(out.read_text())
    point = data["points"][0]
    npz = out.with_name(out.stem + ".replicas.npz")
    return {"seeds": seeds, "max_sweeps": point["config"]["max_sweeps"], "wall_s": wall,
            "peak_bytes": usage.ru_maxrss * 1024, "json_bytes": out.stat().st_size,
            "npz_bytes": npz.stat().st_size if npz.exists() else 0,
            "solved": point["solved"], "engine": point["engine"],
            "progress_updates": text.count("\r")}


def seeds_section(quick: bool, counts: tuple[int, ...] | None = None,
                  sweeps: int | None = None) -> dict[str, Any]:
    """The rows: each count with ``sweeps`` sweeps (the experiment's 10,001 by default;
    1,001 with ``quick``), and the largest count but one with a tenth of them."""
    counts = counts or (QUICK_COUNTS if quick else COUNTS)
    sweeps = sweeps or (1001 if quick else None)
    short_sweeps = max(1, (sweeps or 10_001) // 10)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in counts:
            print(f"  sweep xor --seeds {n:,}", file=sys.stderr, flush=True)
            rows.append(sweep_once(n, sweeps, folder))
        short = counts[-2]
        print(f"  sweep xor --seeds {short:,} --set max_sweeps={short_sweeps}", file=sys.stderr,
              flush=True)
        rows.append(sweep_once(short, short_sweeps, folder))
    return {"rows": rows, "quick": quick}


def seeds_report(data: dict[str, Any]) -> tuple[list[str], list[Target]]:
    """The section of RESULTS.md and its targets."""
    rows = data["rows"]
    mb = 1e6
    lines = ["## A million seeds on one machine (`backprop86 sweep`, as typed)", "",
             "`backprop86 sweep xor --seeds N --grid hidden=4 --json out.json`, each in a fresh "
             "process: peak resident memory (the kernel's `ru_maxrss`), wall time, and what it "
             "wrote — beyond 100,000 seeds each seed's outcome goes to `out.replicas.npz` beside "
             "the JSON summary (`backprop86.outcomes`). No per-sweep history is kept (`sweep` "
             "keeps each seed's outcome; `--plot` adds at most 218 log-spaced sweeps of at most "
             "10,000 seeds).", "",
             "| seeds | sweeps | peak resident (MB) | peak ÷ seeds (bytes) | wall (s) | "
             "µs per seed | JSON (MB) | .npz (MB) | solved |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['seeds']:,} | {r['max_sweeps']:,} | {r['peak_bytes'] / mb:,.0f} | "
            f"{r['peak_bytes'] / r['seeds']:,.0f} | {r['wall_s']:,.1f} | "
            f"{r['wall_s'] / r['seeds'] * 1e6:,.0f} | {r['json_bytes'] / mb:.2f} | "
            f"{r['npz_bytes'] / mb:.2f} | {r['solved']:,} |")
    full = rows[:-1]
    big, small = full[-1], full[0]
    growth = (big["peak_bytes"] - small["peak_bytes"]) / (big["seeds"] - small["seeds"])
    short = rows[-1]
    same = full[-2]
    ratio = same["peak_bytes"] / short["peak_bytes"]
    lines += ["", "The peak includes the process's own start (Python, NumPy, numba's loops: "
              f"about {small['peak_bytes'] / mb:,.0f} MB at {small['seeds']:,} seeds). Memory "
              f"per further seed, from {small['seeds']:,} to {big['seeds']:,} seeds: "
              f"{growth:,.0f} bytes. The same {short['seeds']:,} seeds trained for "
              f"{short['max_sweeps']:,} and {same['max_sweeps']:,} sweeps peak at "
              f"{short['peak_bytes'] / mb:,.0f} and {same['peak_bytes'] / mb:,.0f} MB "
              f"({ratio:.2f}×): a seed's memory does not grow with the sweeps."]
    targets: list[Target] = []
    if not data.get("quick"):
        ok = big["peak_bytes"] <= LIMIT_BYTES
        targets.append((f"sweep xor --seeds {big['seeds']:,} --grid hidden=4 completes with "
                        "peak memory ≤ 4 GB", ok,
                        f"{big['peak_bytes'] / 1e9:.2f} GB in {big['wall_s']:,.0f} s",
                        "" if ok else "the peak is above the limit"))
    ok = ratio < 1.1
    targets.append(("per-seed memory does not grow with the sweeps (10× the sweeps: < 1.1× "
                    "the peak)", ok, f"{ratio:.2f}×",
                    "" if ok else "the peak grows with the sweeps"))
    return lines, targets
