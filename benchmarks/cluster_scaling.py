"""Throughput of ``backprop86 sweep`` on a Dask cluster, its per-task overhead, and a model.

    python benchmarks/cluster_scaling.py [--seeds 5000] [--tasks 200]

Needs the ``distributed`` extra. Prints, for this machine (docs/scaling.md holds one run):

* the load on the machine (``os.getloadavg``) before and after, and its cores;
* **throughput**, in network-updates per second (one network-update: one network's
  weights changed once; the article's XOR sweeps update once a sweep, so a point of
  ``S`` seeds and ``T`` sweeps is ``S · T`` network-updates): the sweep
  ``backprop86 sweep xor --seeds S --grid hidden=2,3,4`` trained here as one batch per
  point, and with ``--workers 1`` and ``--workers 2`` (each the command as a user runs
  it, in its own process; the cluster's figure is over the time from the first task
  submitted to the last result, read from the JSON's ``cluster.wall_seconds``, and the
  whole command's time is given beside it);
* **per-task overhead**: ``--tasks`` chunks of one seed trained for one sweep on one
  worker (``--chunk 1 --set max_sweeps=1``), whose time is all overhead: Dask's
  round trip, shipping the experiment, building the network and trainer, the journal's
  write; and, for comparison, Dask's own round trip (a task that does nothing);
* **a control without Dask**: one chunk trained by a plain process alone, then by two
  plain processes side by side, which says what the machine itself gives a second
  worker (on a shared machine, others' processes take their share);
* **the model** of a sweep of ``10⁸`` network-updates (and of ``10¹¹``, a landscape of
  1,000 grid points of 10,000 seeds) on ``K`` machines like this one,
  each running as many workers as it has cores:
  ``T(K) = W / (K · c · r) + n · o / (K · c) + s``, with ``W`` the network-updates, ``r``
  one worker's training rate measured while every core trains (``--workers 2``: its
  network-updates over the training seconds its chunks report), ``c`` workers per
  machine, ``n`` tasks of ``TASK_SECONDS`` of training each, ``o`` the overhead per
  task and ``s`` the measured start of a local cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backprop86.distributed.chunks import TASK_SECONDS

#: The sweep measured: the README's, XOR at three hidden-layer sizes, 10,001 sweeps each.
SWEEP = ["xor", "--grid", "hidden=2,3,4"]
SWEEPS = 10_001
POINTS = 3
#: The sweeps the model is about: 10⁸ network-updates, and a landscape of 10¹¹ (XOR's
#: 10,001 sweeps for 10,000 seeds at each of 1,000 grid points).
MODEL_UPDATES = 1e8
LANDSCAPE_UPDATES = 1e11


def sweep(args: list[str], folder: Path, name: str) -> tuple[float, dict]:
    """Run ``backprop86 sweep ARGS --json`` in a fresh process: (its seconds, its JSON)."""
    out = folder / f"{name}.json"
    cmd = [sys.executable, "-m", "backprop86", "sweep", *args, "--json", str(out)]
    env = {**os.environ, "BACKPROP86_PROGRESS": "0"}
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=folder)
    return time.perf_counter() - started, json.loads(out.read_text())


#: One process training a chunk of the sweep (hidden=3, the middle point) on one thread,
#: printing its training seconds: the control without Dask.
ALONE = """
import sys, time
from backprop86.experiments import load
from backprop86.experiments.runner import run
exp = load("xor").with_settings(["hidden=3", "engine=" + sys.argv[2]])
run(exp, list(range(64)))  # numba's cache loaded, NumPy warm
started = time.perf_counter()
run(exp, list(range(int(sys.argv[1]))))
print(time.perf_counter() - started)
"""


def side_by_side(seeds: int, engine: str, processes: int) -> list[float]:
    """Training seconds of ``processes`` plain processes (no Dask) started together, each
    training ``seeds`` seeds with ``engine`` on one thread: what the machine gives two
    workers, whatever Dask does."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen([sys.executable, "-c", ALONE, str(seeds), engine],
                             stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(processes)]
    return [float(r.communicate()[0]) for r in runs]


def dask_round_trip(tasks: int) -> float:
    """Seconds per task of a task that does nothing, on a local cluster of one worker."""
    import logging

    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.submit(int, 0).result()  # the worker is up and has imported what it needs
        started = time.perf_counter()
        wait([client.submit(int, i, pure=False) for i in range(tasks)])
        return (time.perf_counter() - started) / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5000, help="seeds per point")
    parser.add_argument("--tasks", type=int, default=200, help="tasks of the overhead run")
    args = parser.parse_args()
    load0 = os.getloadavg()
    seeds = ["--seeds", str(args.seeds)]
    updates = args.seeds * SWEEPS * POINTS
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep([*SWEEP, "--seeds", "64", "--set", "max_sweeps=2"], folder, "warm-up")
        seconds, data = sweep([*SWEEP, *seeds], folder, "local")
        engines = sorted({p["engine"] for p in data["points"]})
        rows.append(("here, one batch per point (no Dask)", seconds, seconds))
        results = {}
        for workers in (1, 2):
            seconds, data = sweep([*SWEEP, *seeds, "--workers", str(workers)], folder,
                                  f"workers{workers}")
            c = data["cluster"]
            results[workers] = c
            rows.append((f"--workers {workers} ({c['chunks']} chunks of up to "
                         f"{c['chunk_seeds']:,} seeds)", c["wall_seconds"], seconds))
        seconds, data = sweep(["xor", "--seeds", str(args.tasks), "--set", "max_sweeps=1",
                               "--workers", "1", "--chunk", "1"], folder, "overhead")
        overhead = data["cluster"]["wall_seconds"] / args.tasks
        start = seconds - data["cluster"]["wall_seconds"]
    dask_only = dask_round_trip(args.tasks)
    chunk = results[2]["chunk_seeds"]
    alone = side_by_side(chunk, engines[0], 1)
    pair = side_by_side(chunk, engines[0], 2)
    load1 = os.getloadavg()

    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} before, "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} after")
    print(f"sweep: backprop86 sweep xor --seeds {args.seeds} --grid hidden=2,3,4: "
          f"{updates:.3g} network-updates ({POINTS} points × {args.seeds:,} seeds × "
          f"{SWEEPS:,} sweeps), engine {', '.join(engines)}")
    print()
    print("| how | training s | command s | network-updates/s |")
    print("|---|---:|---:|---:|")
    for how, train, whole in rows:
        print(f"| {how} | {train:.1f} | {whole:.1f} | {updates / train:.3g} |")
    speedup = results[1]["wall_seconds"] / results[2]["wall_seconds"]
    print(f"\n2 workers against 1: {speedup:.2f}× the throughput")
    print(f"per-task overhead: {overhead * 1e3:.1f} ms a task ({args.tasks} tasks of one seed "
          f"and one sweep on one worker); Dask's own round trip {dask_only * 1e3:.1f} ms")
    print(f"start of a local cluster and the rest of the command: {start:.1f} s")
    print(f"control without Dask: one chunk of {chunk:,} seeds (hidden=3) trained by a plain "
          f"process on one thread: {alone[0]:.1f} s alone; two such processes side by side: "
          f"{pair[0]:.1f} s and {pair[1]:.1f} s ({2 * alone[0] / max(pair):.2f}× the throughput "
          "of one)")

    # one worker's training rate while every core of the machine trains: --workers 2's
    # network-updates over the training time its chunks report, summed over workers
    r = updates / results[2]["training_seconds"]
    c = os.cpu_count() or 1
    print(f"\nmodel: T(K) = W / (K·c·r) + n·o / (K·c) + s, r = {r:.3g} network-updates/s per "
          f"worker (--workers 2 above: its updates over its chunks' training seconds, summed), "
          f"c = {c} workers per machine, n = W / ({TASK_SECONDS:g} s · r) tasks of "
          f"{TASK_SECONDS:g} s, o = {overhead * 1e3:.1f} ms, s = {start:.1f} s")

    def hours(w: float, k: int) -> float:
        n = w / (TASK_SECONDS * r)
        return (w / (k * c * r) + n * overhead / (k * c) + start) / 3600

    print(f"\n| machines K | workers | W = {MODEL_UPDATES:.0e}: seconds | "
          f"W = {LANDSCAPE_UPDATES:.0e}: hours |\n|---:|---:|---:|---:|")
    for k in (1, 2, 4, 8, 16, 64):
        print(f"| {k} | {k * c} | {hours(MODEL_UPDATES, k) * 3600:.3g} | "
              f"{hours(LANDSCAPE_UPDATES, k):.3g} |")

if __name__ == "__main__":
    main()
