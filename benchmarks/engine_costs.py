"""Measure the constants of ``engine = auto``'s rule (``backprop86.engine.select``).

    python benchmarks/engine_costs.py

Prints, for this machine:

* seconds per unit (replica · sweep · case · parameter) of each NumPy engine and
  of its compiled variant, on the runs each is chosen for: the article's
  network for many seeds (replica-last) and the 784-256-10 MLP (replica-first);
* the first compile of each compiled engine (a fresh, empty numba cache), and the
  cost of a warm start (importing numba and loading its cache), each as a whole
  process less the same process on the NumPy engine.

``select.SECONDS_PER_UNIT``, ``COMPILE_SECONDS`` and ``LOAD_SECONDS`` hold what
this printed on the project's 2-core machine; the rule only asks whether compiling
pays, so figures within a factor of two give the same choices.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as benchmarks/run.py: before NumPy loads

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402


def per_unit(run, units: float, reps: int = 5) -> float:
    """Median seconds per unit of ``run()`` (a fresh prepared run each repetition)."""
    times = []
    for _ in range(reps):
        go = run()
        t = time.perf_counter()
        go()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) / units


def replica_last(seeds: int = 1000, sweeps: int = 2000) -> dict[str, float]:
    units = seeds * sweeps * 4 * 12  # the article's 2-4-1 net: 4 cases, 12 weights
    return {engine: per_unit(peers.backprop86_xor(sweeps, seeds=seeds, engine=engine), units)
            for engine in ("numpy-last", "compiled-last")}


def replica_first(cases: int = 12_800) -> dict[str, float]:
    X, D = peers.mnist_shaped(cases)
    params = 784 * 256 + 256 + 256 * 10 + 10
    out = {}
    for engine in ("numpy-first", "compiled-first"):
        out[engine] = per_unit(peers.backprop86_mlp(X, D, "float32", engine=engine),
                               cases * params)
    return out


def process_seconds(engine: str, sizes: list[int], replicas: int, cache: str) -> float:
    """Wall time of a process that builds a trainer and trains 2 sweeps with ``engine``."""
    code = (
        "import numpy as np\n"
        "from backprop86 import Network, TrainConfig\n"
        "from backprop86.tasks.base import Task\n"
        "from backprop86.train import Trainer\n"
        f"sizes = {sizes}\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.random((8, sizes[0])); D = (rng.random((8, sizes[-1])) > 0.5) * 1.0\n"
        "task = Task('t', X, D, labels=tuple(map(str, range(8))))\n"
        f"net = Network.mlp(sizes, replicas={replicas})\n"
        f"Trainer(net, task, TrainConfig(max_sweeps=2, engine='{engine}'), "
        f"range({replicas})).train()\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - t


def one_time_costs() -> dict[str, dict[str, float]]:
    shapes = {"compiled-last": ([2, 4, 1], 64, "numpy-last"),
              "compiled-first": ([64, 256, 10], 1, "numpy-first")}
    out = {}
    for engine, (sizes, replicas, base) in shapes.items():
        with tempfile.TemporaryDirectory() as cache:
            numpy_s = min(process_seconds(base, sizes, replicas, cache) for _ in range(3))
            cold = process_seconds(engine, sizes, replicas, cache) - numpy_s
            warm = min(process_seconds(engine, sizes, replicas, cache)
                       for _ in range(3)) - numpy_s
        out[engine] = {"compile": cold, "load": warm}
    return out


def main() -> None:
    for name, row in (("replica-last, article net, 1,000 seeds", replica_last()),
                      ("replica-first, 784-256-10 MLP, float32", replica_first())):
        print(name + ": " + ", ".join(f"{k} {v:.3g} s/unit" for k, v in row.items()))
    for engine, row in one_time_costs().items():
        print(f"{engine}: first compile {row['compile']:.1f} s, warm start {row['load']:.2f} s")


if __name__ == "__main__":
    main()
