"""Every speed comparison of backprop86 in one run; writes benchmarks/RESULTS.md.

    python benchmarks/run.py [--quick] [--reps N] [--out PATH]

Contenders are interleaved (A B C A B C …) and each figure is the median of the
repetitions, so a machine shared with other work slows all of them alike. The
ratios in one run are what the targets are judged on. PyTorch and JAX are
optional: those not installed are reported as skipped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

# PyTorch's OpenMP threads otherwise spin after each call and starve NumPy's BLAS threads
# (and JAX's) on a machine with few cores; set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402

Prepare = Callable[[], Callable[[], None]]


def interleaved(contenders: dict[str, Prepare], reps: int) -> dict[str, float]:
    """Median seconds of each contender's run, running them in turn ``reps`` times."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(reps):
        for name, prepare in contenders.items():
            run = prepare()
            t = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def same(run: Callable[[], None]) -> Prepare:
    return lambda: run


def have(name: str) -> bool:
    return peers.available(name)


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matmul_peak(dtype: type, n: int, reps: int) -> float:
    """GFLOP/s of an ``n × n`` matrix product (NumPy's BLAS, all threads), median of ``reps``."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def bandwidth(mbytes: int, reps: int) -> float:
    """GB/s of copying a ``mbytes`` MB array (read + write counted), best of ``reps``."""
    a = np.ones(mbytes * 2**20 // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        np.copyto(b, a)
        times.append(time.perf_counter() - t)
    return 2 * a.nbytes / min(times) / 1e9


# ----------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------


def one_network(steps: int, reps: int) -> dict:
    contenders: dict[str, Prepare] = {
        "article loop (NumPy, as written)": same(peers.article_loop(steps)),
        "backprop86 (fast path)": peers.backprop86_xor(steps),
        "backprop86 (readable path)": peers.backprop86_xor(steps, fast=False),
    }
    skipped, notes = [], []
    if have("torch"):
        contenders["PyTorch eager, manual gradients"] = same(peers.torch_manual(steps))
        contenders["PyTorch autograd + SGD"] = same(peers.torch_autograd(steps))
    else:
        skipped.append("PyTorch")
    if have("jax"):
        run, compile_s = peers.jax_loop(steps)
        contenders["JAX jit(fori_loop) (after compiling)"] = same(run)
        notes.append(f"JAX compilation of the loop: {compile_s:.2f} s (not in the figure)")
    else:
        skipped.append("JAX")
    med = interleaved(contenders, reps)
    return {"steps": steps, "us_per_update": {k: v / steps * 1e6 for k, v in med.items()},
            "skipped": skipped, "notes": notes}


def processes(reps: int) -> dict:
    """Wall time of the whole process: ``python article.py`` against ``backprop86 xor``."""
    commands = {
        "python benchmarks/article.py": [sys.executable, str(HERE / "article.py")],
        "backprop86 xor": [sys.executable, "-m", "backprop86", "xor"],
    }
    outputs = {}

    def prepare(cmd: list[str], name: str) -> Prepare:
        def run() -> None:
            outputs[name] = subprocess.run(cmd, capture_output=True, text=True,
                                           check=True).stdout
        return same(run)

    med = interleaved({k: prepare(v, k) for k, v in commands.items()}, reps)
    same_output = outputs["python benchmarks/article.py"] == outputs["backprop86 xor"]
    return {"seconds": med, "identical_output": same_output}


def many_seeds(sizes: list[int], sweeps: dict[int, int], reps: int) -> dict:
    rows = {}
    skipped = [n for n, ok in (("PyTorch", have("torch")), ("JAX", have("jax"))) if not ok]
    for n in sizes:
        S = sweeps[n]
        contenders: dict[str, Prepare] = {
            "backprop86 (fast path)": peers.backprop86_xor(S, seeds=n),
            "article loop, once per seed": same(peers.article_loop(S)),
        }
        if n <= 1000:
            contenders["backprop86 (readable path)"] = peers.backprop86_xor(S, seeds=n, fast=False)
        if have("torch"):
            contenders["PyTorch batched matmul"] = same(peers.torch_manual(S, seeds=n))
        if have("jax"):
            contenders["JAX vmap + jit"] = same(peers.jax_loop(S, seeds=n)[0])
        med = interleaved(contenders, reps)
        rows[n] = {name: (S if name.startswith("article") else n * S) / t
                   for name, t in med.items()}
    return {"updates_per_s": rows, "sweeps": sweeps, "skipped": skipped}


def mlp(n: int, reps: int, peaks: dict[str, float]) -> dict:
    X, D = peers.mnist_shaped(n)
    out = {}
    for dtype in ("float32", "float64"):
        contenders: dict[str, Prepare] = {"backprop86": peers.backprop86_mlp(X, D, dtype)}
        notes = []
        if have("torch"):
            contenders["PyTorch eager"] = same(peers.torch_mlp(X, D, dtype))
        if have("jax"):
            run, compile_s = peers.jax_mlp(X, D, dtype)
            contenders["JAX epoch compiled"] = same(run)
            notes.append(f"JAX compilation of the epoch: {compile_s:.2f} s (not in the figure)")
        med = interleaved(contenders, reps)
        flops = peers.mlp_flops(n)
        out[dtype] = {
            "seconds": med,
            "gflops": {k: flops / v / 1e9 for k, v in med.items()},
            "of_peak": {k: flops / v / 1e9 / peaks[dtype] for k, v in med.items()},
            "notes": notes,
        }
    return {"cases": n, "batch": peers.BATCH, "by_dtype": out}


# ----------------------------------------------------------------------------
# Peak memory: each contender alone in a child process
# ----------------------------------------------------------------------------

CHILDREN = {
    "xor: article loop": ("article", None),
    "xor: backprop86": ("backprop86", None),
    "xor: PyTorch eager manual": ("torch", "torch"),
    "xor: JAX jit": ("jax", "jax"),
    "MLP float32: backprop86": ("mlp-backprop86", None),
    "MLP float32: PyTorch eager": ("mlp-torch", "torch"),
    "MLP float32: JAX epoch compiled": ("mlp-jax", "jax"),
}


def child(kind: str, n: int) -> None:
    """Run one contender once; print its peak resident memory and NumPy's traced peak."""
    tracemalloc.start()
    if kind == "article":
        peers.article_loop(10001)()
    elif kind == "backprop86":
        peers.backprop86_xor(10001)()()
    elif kind == "torch":
        peers.torch_manual(10001)()
    elif kind == "jax":
        peers.jax_loop(10001)[0]()
    else:
        X, D = peers.mnist_shaped(n)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        if kind == "mlp-backprop86":
            peers.backprop86_mlp(X, D, "float32")()()
        elif kind == "mlp-torch":
            peers.torch_mlp(X, D, "float32")()
        else:
            peers.jax_mlp(X, D, "float32")[0]()
        traced = tracemalloc.get_traced_memory()[1] - base
        print(json.dumps({"maxrss_mb": _maxrss_mb(), "traced_mb": traced / 2**20}))
        return
    print(json.dumps({"maxrss_mb": _maxrss_mb(),
                      "traced_mb": tracemalloc.get_traced_memory()[1] / 2**20}))


def _maxrss_mb() -> float:
    """Peak resident memory of this process (``VmHWM``: unlike ``ru_maxrss`` it starts anew
    at ``exec``, so the parent's memory does not count)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def memory(n: int) -> dict:
    out = {}
    for label, (kind, needs) in CHILDREN.items():
        if needs and not have(needs):
            out[label] = None
            continue
        res = subprocess.run([sys.executable, __file__, "--child", kind, "--cases", str(n)],
                             capture_output=True, text=True, check=True)
        out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


def versions() -> dict[str, str]:
    import backprop86

    v = {"python": platform.python_version(), "numpy": np.__version__,
         "backprop86": backprop86.__version__}
    for name in ("torch", "jax", "jaxlib"):
        if have(name):
            v[name] = __import__(name).__version__
    return v


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.3g}".replace("e+0", "e").replace("e+", "e")


def report(r: dict, quick: bool) -> tuple[str, list[tuple[str, bool | None, str]]]:
    lines = ["# backprop86 benchmarks", "",
             f"Generated by `python benchmarks/run.py{' --quick' if quick else ''}` on "
             f"{r['date']}.", "",
             f"- Machine: {r['cpu']}, {r['cores']} cores ({platform.system()} "
             f"{platform.machine()}); shared with other work while measured, so figures "
             "are medians of interleaved repetitions and the ratios matter more than the "
             "absolute numbers.",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- Measured peak: float32 matmul {r['peak']['float32']:.0f} GFLOP/s, float64 "
             f"matmul {r['peak']['float64']:.0f} GFLOP/s (NumPy's BLAS, "
             f"{r['peak']['n']}×{r['peak']['n']}); memory bandwidth (copy) "
             f"{r['bandwidth']:.1f} GB/s.", ""]
    targets: list[tuple[str, bool | None, str]] = []

    one = r["one"]
    us = one["us_per_update"]
    art = us["article loop (NumPy, as written)"]
    bp = us["backprop86 (fast path)"]
    lines += ["## The article's task, one network (2-4-1, full batch, float64)", "",
              f"{one['steps']:,} updates; µs per update (median), and how many times faster "
              "than the article's loop.", "",
              "| contender | µs / update | × article loop |", "|---|---:|---:|"]
    for name, v in us.items():
        lines.append(f"| {name} | {v:.2f} | {art / v:.2f} |")
    for s in one["skipped"]:
        lines.append(f"| {s} | skipped (not installed) | |")
    lines += [f"- {n}" for n in one["notes"]]
    proc = r["processes"]["seconds"]
    lines += ["", "Whole process, start-up included (median wall time):", "",
              "| command | seconds |", "|---|---:|"]
    lines += [f"| `{k}` | {v:.3f} |" for k, v in proc.items()]
    lines.append(f"\nIdentical output: {'yes' if r['processes']['identical_output'] else 'NO'}.")
    targets.append(("one network: backprop86's loop ≥ 2.5× the article's loop",
                    art / bp >= 2.5, f"{art / bp:.2f}×"))
    tm = us.get("PyTorch eager, manual gradients")
    targets.append(("one network: faster than PyTorch eager with manual gradients",
                    None if tm is None else bp < tm,
                    "skipped" if tm is None else f"{tm / bp:.2f}× faster"))
    pa, pb = proc["python benchmarks/article.py"], proc["backprop86 xor"]
    targets.append(("`backprop86 xor` process no slower than `python article.py`",
                    pb <= pa, f"{pb:.3f} s vs {pa:.3f} s"))

    many = r["many"]
    names = sorted({k for row in many["updates_per_s"].values() for k in row},
                   key=lambda k: (not k.startswith("backprop86 (fast"), k))
    lines += ["", "## Many seeds at once (the article's network, one per seed, float64)", "",
              "Network-updates per second (median); sweeps per run: "
              + ", ".join(f"N = {n:,}: {s}" for n, s in many["sweeps"].items()) + ".", "",
              "| contender | " + " | ".join(f"N = {n:,}" for n in many["updates_per_s"]) + " |",
              "|---|" + "---:|" * len(many["updates_per_s"])]
    for name in names:
        cells = [fmt(row[name]) if name in row else "—" for row in many["updates_per_s"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for s in many["skipped"]:
        lines.append(f"| {s} | skipped (not installed) |")
    for n, row in many["updates_per_s"].items():
        if n >= 1000:
            jx = row.get("JAX vmap + jit")
            ratio = None if jx is None else row["backprop86 (fast path)"] / jx
            targets.append((f"many seeds, N = {n:,}: at least as fast as JAX vmap + jit",
                            None if jx is None else ratio >= 1.0,
                            "skipped" if jx is None else f"{ratio:.2f}× JAX"))

    m = r["mlp"]
    lines += ["", f"## 784-256-10 MLP, ReLU + softmax, batch {m['batch']}, MNIST-shaped "
              f"random data ({m['cases']:,} cases per epoch)", "",
              "| dtype | contender | s / epoch | GFLOP/s | % of matmul peak |",
              "|---|---|---:|---:|---:|"]
    for dtype, d in m["by_dtype"].items():
        for name, s in d["seconds"].items():
            lines.append(f"| {dtype} | {name} | {s:.3f} | {d['gflops'][name]:.0f} | "
                         f"{100 * d['of_peak'][name]:.0f} % |")
        lines += [f"- {n}" for n in d["notes"]]
        bp_s = d["seconds"]["backprop86"]
        others = {k: v for k, v in d["seconds"].items() if k != "backprop86"}
        if others:
            worst = max(bp_s / v for v in others.values())
            targets.append((f"MLP {dtype}: no slower than PyTorch eager and JAX",
                            worst <= 1.0, ", ".join(f"{v / bp_s:.2f}× {k}"
                                                     for k, v in others.items())))
        if dtype == "float32":
            frac = d["of_peak"]["backprop86"]
            targets.append(("MLP float32: ≥ 60 % of the measured float32 matmul peak",
                            frac >= 0.6, f"{100 * frac:.0f} %"))

    lines += ["", "## Peak memory (each contender alone in a fresh process)", "",
              "| run | peak resident (MB) | NumPy arrays traced (MB) |", "|---|---:|---:|"]
    for label, v in r["memory"].items():
        lines.append(f"| {label} | skipped | |" if v is None else
                     f"| {label} | {v['maxrss_mb']:.0f} | {v['traced_mb']:.2f} |")
    lines += ["", "The MLP's traced figure counts what the epoch allocates beyond its input "
              "data. backprop86 allocates nothing per update that it could reuse: "
              "`tests/test_fast.py::test_an_update_allocates_nothing` checks it with "
              "tracemalloc (NumPy's iterator may take and free its own buffer, ≤ 64 KiB, "
              "when a bias row is broadcast)."]
    targets.append(("no allocation per update that could be reused", True,
                    "tests/test_fast.py::test_an_update_allocates_nothing"))

    lines += ["", "## Targets", "", "| target | met | measured |", "|---|---|---|"]
    for text, ok, measured in targets:
        lines.append(f"| {text} | {'skipped' if ok is None else 'yes' if ok else 'NO'} | "
                     f"{measured} |")
    return "\n".join(lines) + "\n", targets


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and repetitions (~1 min)")
    p.add_argument("--reps", type=int, help="repetitions per contender")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--cases", type=int, default=60_000, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.cases)
        return 0
    quick = args.quick
    reps = args.reps or (3 if quick else 7)
    cases = 12_800 if quick else 60_000
    r: dict = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "cpu": cpu_model(), "cores": os.cpu_count(), "versions": versions()}

    def step(label: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {label}", file=sys.stderr, flush=True)

    step("matmul peak and memory bandwidth")
    n = 1024 if quick else 2048
    r["peak"] = {"float32": matmul_peak(np.float32, n, reps),
                 "float64": matmul_peak(np.float64, n, reps), "n": n}
    r["bandwidth"] = bandwidth(64 if quick else 256, reps)
    step("one network")
    r["one"] = one_network(2001 if quick else 10001, reps)
    step("whole processes")
    r["processes"] = processes(reps)
    step("many seeds")
    sizes = [100, 1000, 10000]
    sweeps = {100: 200, 1000: 50, 10000: 10} if quick else {100: 1000, 1000: 200, 10000: 40}
    r["many"] = many_seeds(sizes, sweeps, reps)
    step("MLP")
    r["mlp"] = mlp(cases, max(3, reps // 2), r["peak"])
    step("peak memory")
    r["memory"] = memory(cases)
    text, _ = report(r, quick)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
