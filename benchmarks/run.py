"""Every speed comparison of backprop86 in one run; writes benchmarks/RESULTS.md.

    python benchmarks/run.py [--quick] [--reps N] [--out PATH] [--keep-blas-env]
    python benchmarks/run.py --only mlp,digits [--reps N]      # these sections alone, printed
    python benchmarks/run.py --only sequence --splice           # ... and put into RESULTS.md
    python benchmarks/run.py --readme                           # README's tables from RESULTS.md
    python benchmarks/run.py --render                # RESULTS.md and README from results.json

A full run keeps its raw figures in benchmarks/results.json; ``--splice`` reruns the
named sections, replaces them there, and rewrites RESULTS.md and README's performance
tables (benchmarks/readme.py) from it, each section stating when it ran and the load.
Every contender runs twice: on the machine as it is, and with one core kept busy by a
co-tenant process the benchmark starts (:func:`co_tenant`). backprop86 is timed as a
user calls it (``train()``, the network built and the final evaluation included), and
every peer does the same work: the per-sweep error where backprop86 keeps a history,
and a final evaluation of every case.

Contenders are interleaved (A B C, then C A B, …: a new seeded order each
repetition) and each figure is the median of the repetitions, so a machine
shared with other work slows all of them alike. The
ratios in one run are what the targets are judged on. PyTorch and JAX are
optional: those not installed are reported as skipped; so is threadpoolctl,
which names the OpenBLAS kernel NumPy runs.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` pin OpenBLAS to an older kernel
(a workaround for old OpenBLAS builds, set on some machines); they slow a current
NumPy. The benchmark re-executes itself without both of them, so every
contender, the matmul peak and the child processes run in that one
environment; ``--keep-blas-env`` keeps them. Tests and CI are not affected.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

#: Variables that pin OpenBLAS to an older kernel; removed (both) for the benchmark process.
PINNED_BLAS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set in the re-executed process: what was removed (``NAME=value,…``), or ``kept``.
BLAS_ENV = "BACKPROP86_BENCH_BLAS_ENV"


def without_pinned_blas() -> None:
    """Re-execute this script without :data:`PINNED_BLAS` (before NumPy loads OpenBLAS)."""
    if BLAS_ENV in os.environ:
        return
    if "--keep-blas-env" in sys.argv:
        os.environ[BLAS_ENV] = "kept"
        return
    removed = {k: os.environ[k] for k in PINNED_BLAS if k in os.environ}
    env = {k: v for k, v in os.environ.items() if k not in PINNED_BLAS}
    env[BLAS_ENV] = ",".join(f"{k}={v}" for k, v in removed.items())
    if not removed:
        os.environ[BLAS_ENV] = ""
        return
    os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]],
              env)


if __name__ == "__main__":
    without_pinned_blas()

# PyTorch's OpenMP threads otherwise spin after each call and starve NumPy's BLAS threads
# (and JAX's) on a machine with few cores; set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
#: NumPy asks the kernel for transparent huge pages for every array of 4 MB or more. Where
#: faulting them in is slow (a virtual machine compacting its memory for each 2 MB page),
#: every large first write stalls: 10,000 seeds' per-sweep history (80 MB) took half of
#: the many-seeds run here. Off for the benchmark's processes (NumPy's own switch, read
#: when NumPy is imported; PyTorch and JAX allocate their own memory); the header of
#: RESULTS.md says which setting a run had.
HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"
os.environ.setdefault(HUGEPAGE_ENV, "0")

import numpy as np  # noqa: E402  (after the re-execution above)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402
import readme  # noqa: E402
from seeds import seeds_report, seeds_section  # noqa: E402

Prepare = Callable[[], Callable[[], None]]


#: Cores each contender kept busy in the last :func:`interleaved` run (CPU time / wall time).
CORES: dict[str, float] = {}


def cpu_seconds() -> float:
    """CPU time of this process, all its threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


#: Seconds of rest before each timed run: the threads of the run before it go idle first
#: (OpenBLAS's keep spinning for about 0.1 s after a matrix product, and would take a core
#: from a contender that runs on all of them).
SETTLE = 0.25


#: The co-tenant: another process that keeps one core busy (a shared machine's normal state).
CO_TENANT = [sys.executable, "-c", "while True: pass"]


@contextlib.contextmanager
def co_tenant(busy: bool = True) -> Iterator[None]:
    """While the block runs, one core is kept busy by a process this benchmark starts (and
    ends); ``busy=False``: nothing is started."""
    if not busy:
        yield
        return
    proc = subprocess.Popen(CO_TENANT)
    try:
        time.sleep(0.5)  # running, and seen by the kernel's runnable count
        yield
    finally:
        proc.kill()
        proc.wait()


def interleaved(contenders: dict[str, Prepare], reps: int, busy: bool = False
                ) -> dict[str, float]:
    """Median seconds of each contender's run, running them in turn ``reps`` times, in a
    new (seeded) order each time, so that no contender always follows the same one;
    ``busy``: with one core kept busy by a co-tenant process (:func:`co_tenant`).

    Also records in :data:`CORES` the median CPU time per wall second of each
    contender (about 1 for one busy core, 2 for both).
    """
    with co_tenant(busy):
        return _interleaved(contenders, reps)


def idle_and_busy(contenders: dict[str, Prepare], reps: int) -> dict[str, dict]:
    """:func:`interleaved` twice: on the machine as it is (``idle``) and with one core kept
    busy by a co-tenant (``busy``); each with its contenders' median seconds and cores."""
    out = {}
    for mode in ("idle", "busy"):
        seconds = interleaved(contenders, reps, busy=mode == "busy")
        out[mode] = {"seconds": seconds, "cores": dict(CORES)}
    return out


def _interleaved(contenders: dict[str, Prepare], reps: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cores: dict[str, list[float]] = {name: [] for name in contenders}
    for rep in range(reps):
        order = list(contenders)
        random.Random(rep).shuffle(order)
        for name in order:
            run = contenders[name]()
            time.sleep(SETTLE)
            c, t = cpu_seconds(), time.perf_counter()
            run()
            wall = time.perf_counter() - t
            times[name].append(wall)
            cores[name].append((cpu_seconds() - c) / wall)
    CORES.clear()
    CORES.update({name: statistics.median(cs) for name, cs in cores.items()})
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


def blas_info() -> dict[str, str]:
    """NumPy's BLAS: library, kernel (``architecture``) and threads, from threadpoolctl."""
    env = os.environ.get(BLAS_ENV, "")
    handling = ("kept as set (--keep-blas-env)" if env == "kept" else
                f"{env.replace(',', ', ')} were set and removed for this process and its children"
                if env else "none of " + ", ".join(PINNED_BLAS) + " was set")
    info = {"env": handling, "kernel": "unknown (pip install threadpoolctl to name it)"}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return info
    for lib in threadpool_info():
        if lib.get("user_api") == "blas" and "numpy" in str(lib.get("filepath", "")):
            info["kernel"] = (f"{lib.get('internal_api')} {lib.get('version')}, kernel "
                              f"{lib.get('architecture')}, {lib.get('num_threads')} threads")
    return info


def matmul_peak(dtype: type, n: int, reps: int) -> float:
    """GFLOP/s of an ``n × n`` matrix product (NumPy's BLAS, all threads), best of ``reps``."""
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
        "backprop86 (auto engine)": peers.backprop86_xor(steps),
        READABLE: peers.backprop86_xor(steps, engine="readable"),
    }
    skipped, notes = [], []
    if have("numba"):
        contenders[COMPILED_ONE] = peers.backprop86_xor(steps, engine="compiled-last")
        compile_s, load_s = numba_start()
        notes.append(f"numba's compile of the compiled-last engine's loops: {compile_s:.1f} s "
                     f"in a process with an empty numba cache, {load_s:.2f} s in a later one "
                     "(importing numba and loading them from its cache); not in the figure")
    else:
        skipped.append(COMPILED_ONE + ": numba")
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
    both = idle_and_busy(contenders, reps)
    per = {mode: {k: v / steps * 1e6 for k, v in both[mode]["seconds"].items()}
           for mode in both}
    return {"steps": steps, "us_per_update": per["idle"], "busy_us_per_update": per["busy"],
            "skipped": skipped, "notes": notes}


#: backprop86 on one network with the compiled engine, numba's compile paid before the timing.
COMPILED_ONE = "backprop86 (compiled-last engine, warm)"


def numba_start() -> tuple[float, float]:
    """Seconds a new process spends before training one network on compiled-last beyond
    the same process on numpy-first: with an empty numba cache (its compile), then with the
    cache that run left (importing numba and loading it)."""
    import tempfile

    import engine_costs

    shape = ([2, 4, 1], 1)
    with tempfile.TemporaryDirectory() as cache:
        base = min(engine_costs.process_seconds("numpy-first", *shape, cache) for _ in range(3))
        cold = engine_costs.process_seconds("compiled-last", *shape, cache) - base
        warm = min(engine_costs.process_seconds("compiled-last", *shape, cache)
                   for _ in range(3)) - base
    return cold, warm


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

    both = idle_and_busy({k: prepare(v, k) for k, v in commands.items()}, reps)
    same_output = outputs["python benchmarks/article.py"] == outputs["backprop86 xor"]
    return {"seconds": both["idle"]["seconds"], "busy_seconds": both["busy"]["seconds"],
            "identical_output": same_output}


#: backprop86's contenders for many seeds: the compiled engine (if numba is installed), NumPy's.
COMPILED = "backprop86 (compiled-last engine)"
NUMPY_FAST = "backprop86 (numpy-last engine)"
READABLE = "backprop86 (readable engine)"


def many_seeds(sizes: list[int], sweeps: dict[int, int], reps: int) -> dict:
    rows, cores, profile, busy_rows, busy_cores = {}, {}, {}, {}, {}
    skipped = [n for n, ok in (("PyTorch", have("torch")), ("JAX", have("jax")),
                               (COMPILED + ": numba", have("numba"))) if not ok]
    for n in sizes:
        S = sweeps[n]
        contenders: dict[str, Prepare] = {}
        if have("numba"):
            contenders[COMPILED] = peers.backprop86_xor(S, seeds=n, engine="compiled-last")
        contenders[NUMPY_FAST] = peers.backprop86_xor(S, seeds=n, engine="numpy-last")
        contenders["article loop, once per seed"] = same(peers.article_loop(S))
        if n <= 1000:
            contenders[READABLE] = peers.backprop86_xor(S, seeds=n, engine="readable")
        if have("torch"):
            contenders["PyTorch batched matmul"] = same(peers.torch_manual(S, seeds=n))
        if have("jax"):
            contenders["JAX vmap + jit"] = same(peers.jax_loop(S, seeds=n)[0])
        both = idle_and_busy(contenders, reps)
        rows[n], busy_rows[n] = ({name: (S if name.startswith("article") else n * S) / t
                                  for name, t in both[mode]["seconds"].items()}
                                 for mode in ("idle", "busy"))
        cores[n], busy_cores[n] = both["idle"]["cores"], both["busy"]["cores"]
        profile[n] = peers.kernel_profile(n)
    parallel_min = tile = None
    if have("numba"):
        from backprop86.engine.blocked import PARALLEL_MIN
        from backprop86.engine.compiled_last import TILE

        parallel_min, tile = PARALLEL_MIN, TILE
    return {"updates_per_s": rows, "cores": cores, "profile": profile, "sweeps": sweeps,
            "busy_updates_per_s": busy_rows, "busy_cores": busy_cores,
            "skipped": skipped, "parallel_min": parallel_min, "tile": tile}


#: The ablation's variants: (engine, its options); each hand-made part switched off in turn.
ABLATION = {"compiled-last as built": ("compiled-last", {}),
            "compiled-last, library exp": ("compiled-last", {"own_exp": False}),
            "numpy-last as built": ("numpy-last", {}),
            "numpy-last, zero-input cases computed": ("numpy-last", {"skip_zero_rows": False})}
#: What each ablated part is, by its variant, and the variant it is measured against.
ABLATED = {"compiled-last, library exp": ("compiled-last's hand-made exp",
                                          "compiled-last as built"),
           "numpy-last, zero-input cases computed": ("numpy-last's zero-input-row skip",
                                                     "numpy-last as built")}


def ablation(sizes: list[int], sweeps: dict[int, int], reps: int) -> dict:
    """Network-updates per second of the replica-last engines with each hand-made part
    switched off in turn (the many-seeds rows' runs)."""
    rows = {}
    for n in sizes:
        contenders = {name: peers.engine_variant(sweeps[n], n, engine, **options)
                      for name, (engine, options) in ABLATION.items()}
        med = interleaved(contenders, reps)
        rows[n] = {name: n * sweeps[n] / s for name, s in med.items()}
    return {"updates_per_s": rows, "sweeps": {n: sweeps[n] for n in sizes}}


#: Not a contender: the epoch's matrix products alone, the floor of any NumPy version.
FLOOR = "NumPy's 5 matrix products alone (floor)"
#: Not a contender: backprop86 with its threads fixed to every core (``--threads``), as
#: NumPy's BLAS runs by default: what choosing them from the free cores changes.
ALL_CORES = "backprop86, --threads = all cores (BLAS's default)"


def mlp(n: int, reps: int, peaks: dict[str, float]) -> dict:
    X, D = peers.mnist_shaped(n)
    out = {}
    for dtype in ("float32", "float64"):
        contenders: dict[str, Prepare] = {"backprop86": peers.backprop86_mlp(X, D, dtype),
                                          FLOOR: same(peers.matmuls_alone(X, dtype)),
                                          ALL_CORES: peers.backprop86_mlp(
                                              X, D, dtype, threads=os.cpu_count())}
        notes = []
        if have("torch"):
            contenders["PyTorch eager"] = same(peers.torch_mlp(X, D, dtype))
        if have("jax"):
            run, compile_s = peers.jax_mlp(X, D, dtype)
            contenders["JAX epoch compiled"] = same(run)
            notes.append(f"JAX compilation of the epoch: {compile_s:.2f} s (not in the figure)")
        both = idle_and_busy(contenders, reps)
        med = both["idle"]["seconds"]
        flops = peers.mlp_flops(n)
        out[dtype] = {
            "seconds": med,
            "cores": both["idle"]["cores"],
            "busy_seconds": both["busy"]["seconds"],
            "busy_cores": both["busy"]["cores"],
            "profile": peers.mlp_profile(dtype),
            "gflops": {k: flops / v / 1e9 for k, v in med.items()},
            "of_peak": {k: flops / v / 1e9 / peaks[dtype] for k, v in med.items()},
            "notes": notes,
        }
    return {"cases": n, "batch": peers.BATCH, "by_dtype": out}


#: The digits rows' contenders.
DIGITS_CONTENDERS = ("backprop86", "MLPClassifier", "PyTorch eager")


def digits(reps: int, sizes: tuple[int, ...] = (1, 10)) -> dict:
    """The digits experiment (64-32-10 logistic, squared error, mini-batches of 32, ε 0.05,
    α 0.5, float64) trained for :data:`peers.DIGITS_SWEEPS` sweeps by each contender, 1 and
    10 seeds: seconds (median) and the mean test accuracy reached."""
    rows, busy, accuracy, skipped = {}, {}, {}, []
    for n in sizes:
        acc: dict[str, float] = {}
        contenders: dict[str, Prepare] = {"backprop86": peers.backprop86_digits(n, acc)}
        if have("sklearn"):
            contenders["MLPClassifier"] = same(peers.mlp_classifier_digits(n, acc))
        elif "scikit-learn" not in skipped:
            skipped.append("scikit-learn")
        if have("torch"):
            contenders["PyTorch eager"] = same(peers.torch_digits(n, acc))
        elif "PyTorch" not in skipped:
            skipped.append("PyTorch")
        both = idle_and_busy(contenders, reps)
        rows[n], busy[n] = both["idle"]["seconds"], both["busy"]["seconds"]
        accuracy[n] = acc
    return {"seconds": rows, "busy_seconds": busy, "accuracy": accuracy, "skipped": skipped,
            "sweeps": peers.DIGITS_SWEEPS, "target": peers.DIGITS_TARGET}


#: The sequence-completion rows' PyTorch contenders.
TORCH_BPTT = "PyTorch eager, manual BPTT"
TORCH_AUTOGRAD = "PyTorch eager, autograd + SGD"
#: Largest difference of a final weight from backprop86's for the contenders to agree (float64).
SEQUENCE_AGREE = 1e-10


def sequence(reps: int, seeds: int = peers.SEQUENCE_SEEDS) -> dict:
    """The sequence-completion experiment (a recurrent net trained through time, 260 sweeps
    of 20 sequences) for ``seeds`` seeds as one batch, backprop86 against PyTorch eager.

    Before timing, each contender trains once from backprop86's initial weights and its
    final weights and last error are compared with backprop86's: the same work, checked.
    Each contender is timed idle and with one core kept busy by a co-tenant
    (:func:`idle_and_busy`). Returns the seconds (median) and cores of both, the
    differences and the engine that ran it."""
    finals: dict = {}
    contenders: dict[str, Prepare] = {"backprop86": peers.backprop86_sequence(seeds, finals)}
    skipped = []
    if have("torch"):
        contenders[TORCH_BPTT] = same(peers.torch_sequence(seeds, finals, autograd=False))
        contenders[TORCH_AUTOGRAD] = same(peers.torch_sequence(seeds, finals, autograd=True))
    else:
        skipped.append("PyTorch")
    for prepare in contenders.values():  # untimed: the agreement check (and a warm-up)
        prepare()()
    weights, errors, engine = finals["backprop86"]
    differ = {name: (max(float(np.max(np.abs(w[k] - weights[k]))) for k in weights),
                     float(np.max(np.abs(e - errors))))
              for name, (w, e, _) in finals.items() if name != "backprop86"}
    load_start = os.getloadavg()[0]
    both = idle_and_busy(contenders, reps)
    cfg = peers.sequence_setup(1)[0].config
    return {"seconds": both["idle"]["seconds"], "cores": both["idle"]["cores"],
            "busy_seconds": both["busy"]["seconds"], "busy_cores": both["busy"]["cores"],
            "differ": differ, "engine": engine,
            "seeds": seeds, "sweeps": cfg.max_sweeps, "rates": (cfg.lr, cfg.momentum),
            "skipped": skipped, "load": (load_start, os.getloadavg()[0])}


def sequence_report(d: dict) -> tuple[list[str], list[Target]]:
    """The sequence-completion section's lines and targets."""
    ours, S = d["seconds"]["backprop86"], d["sweeps"]
    me = f"backprop86 ({d['engine']} engine)"
    lines = [f"## Sequence completion: a recurrent net trained through time, {d['seeds']} "
             "seeds (float64)", "",
             "The sequence-completion experiment (PDP vol. 1 ch. 8, Tables 10–11): 5 letter "
             "units, 30 hidden, 3 digit units, hidden → hidden and digits → digits fully "
             "connected, every link one step late; 6 steps from activity 0.2, the letters at "
             "steps 1–2, dead-zone error (0.2 / 0.8) on the digits at steps 3–6; one update "
             f"per sweep of the 20 training sequences (ε {d['rates'][0]:g}, α "
             f"{d['rates'][1]:g}), {S} sweeps; "
             f"{d['seeds']} seeds as one batch of replicas. PyTorch starts from backprop86's "
             "initial weights; before timing, every contender trained once and its final "
             "weights were compared with backprop86's. Seconds (median) for the whole run, "
             "idle and with one core kept busy by a co-tenant; × = how many times longer "
             "than backprop86.", "",
             "| contender | seconds | ms / sweep | × backprop86 | cores | "
             "one core busy: seconds | × backprop86 | cores | "
             "largest final-weight difference from backprop86 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    busy, busy_ours = d["busy_seconds"], d["busy_seconds"]["backprop86"]
    for name, sec in d["seconds"].items():
        diff = "—" if name == "backprop86" else f"{d['differ'][name][0]:.1e}"
        lines.append(f"| {me if name == 'backprop86' else name} | {sec:.2f} | "
                     f"{1e3 * sec / S:.1f} | {sec / ours:.2f} | {d['cores'][name]:.1f} | "
                     f"{busy[name]:.2f} | {busy[name] / busy_ours:.2f} | "
                     f"{d['busy_cores'][name]:.1f} | {diff} |")
    for s in d["skipped"]:
        lines.append(f"| {s} | skipped (not installed) | | | | | | | |")
    load = d["load"]
    lines += ["", f"Load average {load[0]:.2f} when the timed runs began and {load[1]:.2f} "
              "when they ended."]
    targets: list[Target] = []
    if d["differ"]:
        worst = max(w for w, _ in d["differ"].values())
        targets.append((f"sequence completion: PyTorch's final weights equal backprop86's "
                        f"(≤ {SEQUENCE_AGREE:g})", worst <= SEQUENCE_AGREE,
                        f"largest difference {worst:.1e} (weights), "
                        f"{max(e for _, e in d['differ'].values()):.1e} (last error)",
                        "the two do not do the same training: the speed rows compare "
                        "different work"))
    others = {k: v for k, v in d["seconds"].items() if k != "backprop86"}
    fastest = min(others, key=others.get) if others else None
    why = ("" if fastest is None else
           f"{me}: {1e3 * ours / S:.1f} ms per sweep ({d['cores']['backprop86']:.1f} cores) "
           f"against {fastest}'s {1e3 * others[fastest] / S:.1f} "
           f"({d['cores'][fastest]:.1f} cores)")
    targets.append((f"sequence completion, {d['seeds']} seeds, idle: no slower than PyTorch "
                    f"eager ({me})", None if fastest is None else ours <= others[fastest],
                    ", ".join(f"{v / ours:.2f}× {k}'s time" for k, v in others.items())
                    or "skipped", why))
    return lines, targets


def digits_report(d: dict) -> tuple[list[str], list[Target]]:
    """The digits section's lines and targets."""
    lines = ["## Real digits: the digits experiment, to a fixed test accuracy", "",
             f"scikit-learn's bundled 8×8 digits (1,438 training and 359 test images), the "
             f"experiment's 64-32-10 logistic network and settings, {d['sweeps']} sweeps; each "
             f"contender should reach a mean test accuracy of at least {d['target']:.0%} in "
             "them (one that does not would need more sweeps, so it counts as slower). "
             "Seconds (median) to train every seed; × = how many times longer than "
             "backprop86. MLPClassifier fits one seed after another (it has no batch of "
             "networks) and its output is a softmax with the cross-entropy; PyTorch trains "
             "the seeds as one batch of replicas, as backprop86 does.", "",
             "| seeds | contender | seconds | × backprop86 | one core busy: seconds | "
             "× backprop86 | mean test accuracy |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    targets: list[Target] = []
    for n, row in d["seconds"].items():
        ours, acc = row["backprop86"], d["accuracy"][n]
        busy = d["busy_seconds"][n]
        for name, sec in row.items():
            lines.append(f"| {n} | {name} | {sec:.3f} | {sec / ours:.2f} | {busy[name]:.3f} | "
                         f"{busy[name] / busy['backprop86']:.2f} | {acc[name]:.2%} |")
        others = {k: v for k, v in row.items() if k != "backprop86"}
        # a contender below the accuracy after the sweeps would need more of them: slower
        reached = {k: acc[k] >= d["target"] for k in row}
        met = (None if not others else reached["backprop86"] and all(
            ours <= v or not reached[k] for k, v in others.items()))
        measured = ", ".join(
            f"{v / ours:.2f}× {k}'s time" + ("" if reached[k] else
                                             f" (and it reached only {acc[k]:.2%})")
            for k, v in others.items())
        targets.append((f"digits, {n} seed{'s' if n > 1 else ''}: {d['target']:.0%} test "
                        "accuracy no slower than MLPClassifier and PyTorch eager", met,
                        measured or "skipped",
                        f"backprop86 reached {acc['backprop86']:.2%}" if not
                        reached["backprop86"] else "backprop86 is slower here"))
    for s in d["skipped"]:
        lines.append(f"| | {s} | skipped (not installed) | | |")
    return lines, targets


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


Target = tuple[str, "bool | None", str, str]  # text, met (None: skipped), measured, why not


def xor_flops(i: int = 2, h: int = 4, o: int = 1, n: int = 4) -> dict[str, int]:
    """Floating-point operations of one full-batch update of an ``i``-``h``-``o`` logistic net
    without biases on ``n`` cases (the article's network), step by step (a multiply-add is
    2; the logistic ``1 / (1 + exp(−x))`` is 3: exp, add, divide)."""
    return {"forward products X W1, H W2 (eq. 1)": 2 * n * (i * h + h * o),
            "logistic of every unit (eq. 2)": 3 * n * (h + o),
            "output error (y − d) y (1 − y) (eqs. 4–5)": 4 * n * o,
            "reported error Σ (y − d)²": 2 * n * o,
            "weight gradients Hᵀ δ, Xᵀ δ_h (eq. 6)": 2 * n * (h * o + i * h),
            "error to the hidden units δ W2ᵀ · h (1 − h) (eqs. 7, 5)": 2 * n * h * o + 3 * n * h,
            "update w −= ε g (eq. 8)": 2 * (i * h + h * o)}


#: Operations of the compiled engines' exponential (``compiled_last._logistic``): the clip
#: (2), the reduction ``k``, ``t`` (4), ``2^k`` from bits (2) and 13 multiply-adds (26).
EXP_OPS = 34


def floor_lines(r: dict, many: dict, targets: list) -> list[str]:
    """The compute floor of one network-update of the many-seeds rows (its derivation), and
    the targets of issue 17 item 4 against it and against JAX."""
    parts = xor_flops()
    flops = sum(parts.values())
    peak = r["peak"]["float64"]  # GFLOP/s of NumPy's float64 matmul, all cores
    floor_ns = flops / peak
    ups = many["updates_per_s"]
    n = max(ups)
    row = ups[n]
    who = COMPILED if COMPILED in row else NUMPY_FAST
    ns = 1e9 / row[who]
    cores = many["cores"][n][who]
    rate = flops / ns  # GFLOP/s reached
    logistics = 4 * (4 + 1)  # every hidden and output unit, every case
    work = sum(parts.values()) + logistics * (EXP_OPS - 1)
    why = (f"{who} reaches {rate:.1f} GFLOP/s of the floor's flops on {cores:.1f} cores, "
           f"{100 * rate / peak:.0f} % of the float64 matmul peak. The floor counts each of "
           f"the update's {logistics} exponentials as one flop; the engine computes each "
           f"with about {EXP_OPS} (a 13-term polynomial and its range reduction, vectorised "
           f"over the networks), about {work} operations per update in all, and each "
           "logistic's division runs on a core's one divider (about 2 cycles per number, "
           f"{2 * logistics} cycles per update); the training loop's books after each block "
           "(history, stopping flags) and the setup of every seed (its initial weights) are "
           "in the figure too")
    targets.append((f"many seeds, N = {n:,}: within 5× of the compute floor ({who})",
                    ns <= 5 * floor_ns, f"{ns:.0f} ns = {ns / floor_ns:.1f}× the floor's "
                    f"{floor_ns:.1f} ns", why))
    jx = row.get("JAX vmap + jit")
    versus = "" if jx is None else (
        f"{ns:.0f} ns per network-update ({cores:.1f} cores) against JAX's {1e9 / jx:.0f} "
        f"({many['cores'][n]['JAX vmap + jit']:.1f} cores); ")
    targets.append((f"many seeds, N = {n:,}: ≥ 2× JAX vmap + jit ({who})",
                    None if jx is None else row[who] >= 2 * jx,
                    "skipped" if jx is None else f"{row[who] / jx:.3g}× JAX", versus + why))
    return ["The compute floor of one network-update (the article's 2-4-1 network, no "
            "biases, 4 cases, float64): " + "; ".join(f"{k}: {v}" for k, v in parts.items())
            + f"; {flops} flops in all, {floor_ns:.1f} ns at the measured float64 matmul "
            f"peak ({peak:.0f} GFLOP/s, all cores). No engine can be faster; at N = {n:,} "
            f"{who} takes {ns:.0f} ns, {ns / floor_ns:.1f}× the floor."]


SUMMARY = "## Summary: backprop86 against every contender"


def _versus(mine: float, theirs: float) -> str:
    """``theirs / mine`` of two times: how many times faster backprop86 is (< 1: slower)."""
    ratio = theirs / mine
    return f"{ratio:.2f}× faster" if ratio >= 1 else f"**{1 / ratio:.2f}× slower**"


def summary(r: dict) -> list[str]:
    """Every contender of every section against backprop86's run of the same work, idle and
    with one core busy: the table the README shows, those where a contender wins included."""
    rows: list[tuple[str, str, str, str]] = []
    if "one" in r:
        one = r["one"]
        idle, busy = one["us_per_update"], one["busy_us_per_update"]
        mine = "backprop86 (auto engine)"
        rows += [("one network, time per update", k, _versus(idle[mine], v),
                  _versus(busy[mine], busy[k])) for k, v in idle.items()
                 if k not in (mine, COMPILED_ONE)]
        jax_one = "JAX jit(fori_loop) (after compiling)"
        if COMPILED_ONE in idle and jax_one in idle:
            rows.append(("one network, time per update, compiled-last engine (warm)", jax_one,
                         _versus(idle[COMPILED_ONE], idle[jax_one]),
                         _versus(busy[COMPILED_ONE], busy[jax_one])))
    if "processes" in r:
        pr = r["processes"]
        mine, theirs = "backprop86 xor", "python benchmarks/article.py"
        rows.append(("whole process, start-up included", f"`{theirs}`",
                     _versus(pr["seconds"][mine], pr["seconds"][theirs]),
                     _versus(pr["busy_seconds"][mine], pr["busy_seconds"][theirs])))
    if "many" in r:
        many = r["many"]
        for n, row in many["updates_per_s"].items():
            brow = many["busy_updates_per_s"][n]
            mine = COMPILED if COMPILED in row else NUMPY_FAST
            for k, v in row.items():
                if k == mine or k.startswith("article"):
                    continue  # the article's loop trains one seed at a time: not the same work
                rows.append((f"many seeds, N = {n:,} ({mine.split('(')[1][:-1]})", k,
                             _versus(1 / row[mine], 1 / v), _versus(1 / brow[mine], 1 / brow[k])))
    if "mlp" in r:
        for dtype, d in r["mlp"]["by_dtype"].items():
            for k, v in d["seconds"].items():
                if k in ("backprop86", FLOOR):
                    continue  # the all-cores row is listed: the thread rule against BLAS's
                rows.append((f"784-256-10 MLP epoch, {dtype}", k,
                             _versus(d["seconds"]["backprop86"], v),
                             _versus(d["busy_seconds"]["backprop86"], d["busy_seconds"][k])))
    if "digits" in r:
        d = r["digits"]
        for n, row in d["seconds"].items():
            for k, v in row.items():
                if k != "backprop86":
                    rows.append((f"digits, {n} seed{'s' * (n > 1)}", k,
                                 _versus(row["backprop86"], v),
                                 _versus(d["busy_seconds"][n]["backprop86"],
                                         d["busy_seconds"][n][k])))
    if "sequence" in r:
        d = r["sequence"]
        for k, v in d["seconds"].items():
            if k != "backprop86":
                rows.append((f"sequence completion, {d['seeds']} seeds", k,
                             _versus(d["seconds"]["backprop86"], v),
                             _versus(d["busy_seconds"]["backprop86"], d["busy_seconds"][k])))
    return [SUMMARY, "",
            "backprop86's time against each contender's for the same work (the sections "
            "above): how many times faster backprop86 is, or **slower** where the contender "
            "wins; idle and with one core kept busy by a co-tenant.", "",
            "| work | contender | idle | one core busy |", "|---|---|---|---|",
            *(f"| {w} | {k} | {a} | {b} |" for w, k, a, b in rows)]


def report(r: dict, quick: bool) -> tuple[str, list[Target]]:
    meta = r["meta"]
    run_lines = [f"  - {name}: {m['date']}, "
                 + ("each count once" if name in ONCE else f"{m['reps']} repetitions")
                 + f", load average {m['load'][0]:.2f} → {m['load'][1]:.2f}"
                 for name, m in meta.items()]
    lines = ["# backprop86 benchmarks", "",
             f"Generated by `python benchmarks/run.py{' --quick' if quick else ''}`; "
             "`python benchmarks/run.py --only SECTION,… --splice` reruns sections and "
             "splices them into this file (from `benchmarks/results.json`).", "",
             f"- Machine: {r['cpu']}, {r['cores']} cores ({platform.system()} "
             f"{platform.machine()}). Figures are medians of interleaved repetitions; the "
             "ratios in one run are what the targets are judged on. Each section, when it "
             "ran and the load average (1 minute) as it began and ended; absolute figures "
             "are this machine's at that load:",
             *run_lines,
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- NumPy's BLAS: {r['blas']['kernel']}. Environment: {r['blas']['env']} "
             "(they pin an older OpenBLAS kernel; every contender, the peak and the child "
             "processes below ran in this same environment)."]
    if "peak" in r:
        lines.append(
            f"- Measured peak: float32 matmul {r['peak']['float32']:.0f} GFLOP/s, float64 "
            f"matmul {r['peak']['float64']:.0f} GFLOP/s (NumPy's BLAS, "
            f"{r['peak']['n']}×{r['peak']['n']}, all cores); memory bandwidth (copy) "
            f"{r['bandwidth']:.1f} GB/s.")
    th = r["threads"]
    lines += [
        f"- NumPy's transparent huge pages: {HUGEPAGE_ENV}="
        f"{os.environ.get(HUGEPAGE_ENV, '')} (see `HUGEPAGE_ENV` in `benchmarks/run.py`).",
        "- *one core busy*: the same runs again while a co-tenant process started by the "
        "benchmark (`python -c 'while True: pass'`) keeps one core busy, the normal state "
        "of a shared machine. backprop86 chooses "
        f"its threads from the cores free (`backprop86.threads`): {th['idle']} on this "
        f"machine as it was, {th['busy']} with the co-tenant ({th['allowed']} allowed).",
        "- *cores*: CPU time per wall second of a contender's run (1 = one busy core).", ""]
    targets: list[Target] = []

    if "one" in r:
        one = r["one"]
        us = one["us_per_update"]
        art = us["article loop (NumPy, as written)"]
        bp = us["backprop86 (auto engine)"]
        readable = us[READABLE]
        lines += ["## The article's task, one network (2-4-1, full batch, float64)", "",
                  f"{one['steps']:,} updates; µs per update (median), and how many times faster "
                  "than the article's loop.", "",
                  "| contender | µs / update | × article loop | one core busy: µs / update | "
                  "busy ÷ idle |", "|---|---:|---:|---:|---:|"]
        busy_us = one["busy_us_per_update"]
        for name, v in us.items():
            lines.append(f"| {name} | {v:.2f} | {art / v:.2f} | {busy_us[name]:.2f} | "
                         f"{busy_us[name] / v:.2f} |")
        for s in one["skipped"]:
            lines.append(f"| {s} | skipped (not installed) | |")
        lines += [f"- {n}" for n in one["notes"]]
        proc = r["processes"]["seconds"]
        lines += ["", "Whole process, start-up included (median wall time):", "",
                  "| command | seconds | one core busy |", "|---|---:|---:|"]
        busy_proc = r["processes"]["busy_seconds"]
        lines += [f"| `{k}` | {v:.3f} | {busy_proc[k]:.3f} |"
                  for k, v in proc.items()]
        same = r["processes"]["identical_output"]
        lines.append(f"\nIdentical output: {'yes' if same else 'NO'}.")
        targets.append(("one network: backprop86's loop ≥ 2.5× the article's loop",
                        art / bp >= 2.5, f"{art / bp:.2f}×",
                        "the article's loop is a handful of NumPy calls on 4×4 arrays; "
                        "backprop86's update is as many calls, so both are mostly call "
                        "overhead"))
        targets.append(("one network: the readable engine ≤ 1.5× the article loop's time per "
                        "update",
                        readable <= 1.5 * art, f"{readable / art:.2f}× its time",
                        "the readable engine calls the general Network's equations (dicts of "
                        "groups, a new array per intermediate) and the loop's books after every "
                        "sweep"))
        tm = us.get("PyTorch eager, manual gradients")
        targets.append(("one network: faster than PyTorch eager with manual gradients",
                        None if tm is None else bp < tm,
                        "skipped" if tm is None else f"{tm / bp:.2f}× faster", ""))
        jx, warm = us.get("JAX jit(fori_loop) (after compiling)"), us.get(COMPILED_ONE)
        if warm is not None:
            busy_jx, busy_warm = busy_us.get("JAX jit(fori_loop) (after compiling)"), busy_us[
                COMPILED_ONE]
            targets.append((f"one network: {COMPILED_ONE} at least as fast per update as JAX "
                            "jit(fori_loop), compile times apart",
                            None if jx is None else warm <= jx,
                            "skipped" if jx is None else f"{jx / warm:.2f}× JAX's speed",
                            "" if jx is None else
                            f"{warm:.2f} µs per update against JAX's {jx:.2f} (one core busy: "
                            f"{busy_warm:.2f} against {busy_jx:.2f}): one network's sweep is "
                            "a chain of dependent operations (each unit's logistic a "
                            "13-term polynomial and a division after its net input), so "
                            "its time is the chain's latency, not the machine's throughput"))
        pa, pb = proc["python benchmarks/article.py"], proc["backprop86 xor"]
        targets.append(("`backprop86 xor` process no slower than `python article.py`",
                        pb <= pa, f"{pb:.3f} s vs {pa:.3f} s", "start-up: imports"))

    if "many" in r:
        many = r["many"]
        ups = many["updates_per_s"]
        names = sorted({k for row in ups.values() for k in row},
                       key=lambda k: (k not in (COMPILED, NUMPY_FAST), k))
        lines += ["", "## Many seeds at once (the article's network, one per seed, float64)", "",
                  "Network-updates per second (median); sweeps per run: "
                  + ", ".join(f"N = {n:,}: {s:,}" for n, s in many["sweeps"].items())
                  + ". A run includes building the trainer's kernel, the per-sweep error and "
                  "solved flags, and the final evaluation.", "",
                  "| contender | " + " | ".join(f"N = {n:,}" for n in ups) + " |",
                  "|---|" + "---:|" * len(ups)]
        for name in names:
            cells = [fmt(row[name]) if name in row else "—" for row in ups.values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        for s in many["skipped"]:
            lines.append(f"| {s} | skipped (not installed) |")
        lines += ["", "Nanoseconds per network-update (cores busy):", "",
                  "| contender | " + " | ".join(f"N = {n:,}" for n in ups) + " |",
                  "|---|" + "---:|" * len(ups)]
        for name in names:
            if name.startswith("article"):
                continue
            cells = [f"{1e9 / row[name]:.0f} ({many['cores'][n][name]:.1f})" if name in row
                     else "—" for n, row in ups.items()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        busy_ups, busy_cores = many["busy_updates_per_s"], many["busy_cores"]
        lines += ["", "With one core kept busy by a co-tenant: network-updates per second "
                  "(median), nanoseconds per network-update and cores busy:", "",
                  "| contender | " + " | ".join(f"N = {n:,}" for n in busy_ups) + " |",
                  "|---|" + "---:|" * len(busy_ups)]
        for name in names:
            cells = [f"{fmt(row[name])}" + ("" if name.startswith("article") else
                                            f"; {1e9 / row[name]:.0f} ns "
                                            f"({busy_cores[n][name]:.1f})")
                     if name in row else "—" for n, row in busy_ups.items()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        prof = many["profile"]
        compiled = ("" if many["parallel_min"] is None else
                    f"{COMPILED}: each block of sweeps is one call of a loop compiled by numba "
                    f"over the networks (eqs. 1–9 for every network, in tiles of "
                    f"{many['tile']:,} networks that stay in a core's nearest cache for the "
                    "whole block, the loops vectorised over a tile's networks; the tiles "
                    f"shared among the threads from {many['parallel_min']:,} networks on). ")
        lines += ["", compiled + f"{NUMPY_FAST}'s update, per layout: "
                  + "; ".join(f"N = {n:,}: {p['layout']}, {p['calls']} NumPy calls, "
                              f"{p['bytes'] / n:,.0f} bytes per network streamed through memory"
                              for n, p in prof.items()) + "."]
        for n, row in ups.items():
            if n >= 1000:
                jx = row.get("JAX vmap + jit")
                who = COMPILED if COMPILED in row else NUMPY_FAST
                mine = row[who]
                why = ""
                if jx is not None and mine < jx:
                    p, cores = prof[n], many["cores"][n]
                    why = (f"{who}: {1e9 / mine:.0f} ns per network-update "
                           f"({cores[who]:.1f} cores) against JAX's {1e9 / jx:.0f} "
                           f"({cores['JAX vmap + jit']:.1f} cores), which compiles the whole "
                           "update into one loop over the networks" + (
                               "" if who == COMPILED else
                               f"; the NumPy update is {p['calls']} NumPy calls, each a separate "
                               f"pass over every network's arrays ({p['bytes'] / n:,.0f} bytes "
                               "per network); numba (pip install backprop86[fast]) compiles it"))
                targets.append((f"many seeds, N = {n:,}: at least as fast as JAX vmap + jit "
                                f"({who})",
                                None if jx is None else mine >= jx,
                                "skipped" if jx is None else f"{mine / jx:.3g}× JAX", why))
        if "peak" in r:
            lines += ["", *floor_lines(r, many, targets)]

    if r.get("ablation"):
        abl = r["ablation"]["updates_per_s"]
        lines += ["", "## Ablation: the replica-last engines' hand-made parts", "",
                  "Network-updates per second (median) of the article's network, as in the "
                  "many-seeds rows, with one part switched off at a time; × = how many times "
                  "faster the engine as built is. (compiled-last computes every case: its "
                  "zero-input-row skip saved 1–11 % in earlier runs of this ablation and was "
                  "removed.)", "",
                  "| variant | " + " | ".join(f"N = {n:,}" for n in abl) + " |",
                  "|---|" + "---:|" * len(abl)]
        for name in ABLATION:
            base = ABLATED[name][1] if name in ABLATED else name
            lines.append(f"| {name} | " + " | ".join(
                f"{fmt(row[name])} ({row[base] / row[name]:.2f}×)" for row in abl.values())
                + " |")
        for name, (part, base) in ABLATED.items():
            gains = [row[base] / row[name] for row in abl.values()]
            targets.append((f"ablation: {part} saves ≥ 10 % on every many-seeds row",
                            min(gains) >= 1.10, ", ".join(f"{g:.2f}×" for g in gains),
                            f"{part} is not worth its lines: remove it"))

    if "mlp" in r:
        m = r["mlp"]
        lines += ["", f"## 784-256-10 MLP, ReLU + softmax, batch {m['batch']}, MNIST-shaped "
                  f"random data ({m['cases']:,} cases per epoch)", "",
                  "Each contender's epoch is followed by the final evaluation of all the cases "
                  "(error and outputs), as backprop86's `train()` returns it.", "",
                  "| dtype | contender | s / epoch | GFLOP/s | % of matmul peak | cores | "
                  "one core busy: s / epoch | cores | busy ÷ idle |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for dtype, d in m["by_dtype"].items():
            for name, sec in d["seconds"].items():
                b = d["busy_seconds"][name]
                lines.append(f"| {dtype} | {name} | {sec:.3f} | {d['gflops'][name]:.0f} | "
                             f"{100 * d['of_peak'][name]:.0f} % | {d['cores'][name]:.1f} | "
                             f"{b:.3f} | {d['busy_cores'][name]:.1f} | {b / sec:.2f} |")
        lines.append("")
        for dtype, d in m["by_dtype"].items():
            lines += [f"- {dtype}: {n}" for n in d["notes"]]
        for dtype, d in m["by_dtype"].items():
            bp_s, floor = d["seconds"]["backprop86"], d["seconds"][FLOOR]
            prof = d["profile"]
            rest = (f"the five matrix products alone take {floor:.3f} s "
                    f"({100 * d['of_peak'][FLOOR]:.0f} % of peak) and backprop86 "
                    + (f"{bp_s - floor:.3f} s more" if bp_s > floor else
                       f"{floor - bp_s:.3f} s less (the machine's other work slowed the "
                       "products alone more than backprop86)")
                    + f": per mini-batch it makes {prof['calls']} further "
                    f"calls ({prof['compiled']} of them loops compiled by numba: bias, ReLU, "
                    "softmax, the error's gradient, eqs. 8–9), each streaming its arrays through "
                    f"memory ({prof['bytes'] / 1e6:.1f} MB per mini-batch, most of it the update "
                    "of the 784×256 weights), and it builds its kernel and computes the epoch's "
                    "reported error")
            others = {k: v for k, v in d["seconds"].items()
                      if k not in ("backprop86", FLOOR, ALL_CORES)}
            if others:
                worst = max(bp_s / v for v in others.values())
                jax_s = d["seconds"].get("JAX epoch compiled")
                fused = ("" if jax_s is None else
                         f"JAX's compiled epoch ({jax_s:.3f} s) is faster than NumPy's five "
                         "products alone: its own matrix products beat OpenBLAS's on these shapes, "
                         "so no NumPy version can match it; " if jax_s < floor else
                         f"JAX's compiled epoch adds {jax_s - floor:.3f} s to the products, its "
                         "elementwise work fused and spread over its threads; ")
                targets.append((f"MLP {dtype}, idle: no slower than PyTorch eager and JAX (final "
                                "evaluation counted on every side)", worst <= 1.0,
                                ", ".join(f"{v / bp_s:.3g}× {k}" for k, v in others.items()),
                                fused + rest))
                busy = {k: v for k, v in d["busy_seconds"].items() if k in others}
                bp_b = d["busy_seconds"]["backprop86"]
                chosen = r.get("threads", {})
                targets.append((
                    f"MLP {dtype}, one core busy: no slower than PyTorch eager and JAX",
                    max(bp_b / v for v in busy.values()) <= 1.0,
                    ", ".join(f"{v / bp_b:.3g}× {k}" for k, v in busy.items()),
                    f"with one core busy backprop86 ran on {chosen.get('busy', '?')} BLAS "
                    f"thread(s) ({d['busy_cores']['backprop86']:.1f} cores busy) and took "
                    f"{bp_b / bp_s:.2f}× its idle time (with its threads fixed to all cores, "
                    f"BLAS's default: {d['busy_seconds'][ALL_CORES]:.3f} s); the floor "
                    "(NumPy's five products alone, on backprop86's threads) "
                    f"took {d['busy_seconds'][FLOOR]:.3f} s, "
                    + ", ".join(f"{k} {v:.3f} s ({d['busy_cores'][k]:.1f} cores)"
                                for k, v in busy.items())))
            if dtype == "float32":
                frac = d["of_peak"]["backprop86"]
                t60 = peers.mlp_flops(m["cases"]) / (0.6 * r["peak"]["float32"] * 1e9)
                targets.append(("MLP float32: ≥ 60 % of the measured float32 matmul peak",
                                frac >= 0.6, f"{100 * frac:.0f} %",
                                f"60 % of the peak is {t60:.3f} s per epoch; {rest}"))
        lines += ["", f"GFLOP/s count {peers.mlp_flops(m['cases']) / 1e9:.1f} GFLOP per epoch "
                  "(the five products). The floor row is not a contender: it runs the same "
                  "products on the same shapes with nothing else, so no NumPy version can be "
                  "faster than it."]

    if r.get("digits"):
        more, digit_targets = digits_report(r["digits"])
        lines += ["", *more]
        targets += digit_targets

    if r.get("sequence"):
        more, sequence_targets = sequence_report(r["sequence"])
        lines += ["", *more]
        targets += sequence_targets

    if "memory" in r:
        lines += ["", "## Peak memory (each contender alone in a fresh process)", "",
                  "| run | peak resident (MB) | NumPy arrays traced (MB) |", "|---|---:|---:|"]
        for label, v in r["memory"].items():
            lines.append(f"| {label} | skipped | |" if v is None else
                         f"| {label} | {v['maxrss_mb']:.0f} | {v['traced_mb']:.2f} |")
        lines += ["", "The MLP's traced figure counts what the epoch allocates beyond its input "
                  "data (a float32 task is used as it is, without a copy). backprop86 allocates "
                  "nothing per update that it could reuse: "
                  "`tests/test_engine_numpy.py::test_an_update_allocates_nothing` checks it with "
                  "tracemalloc (NumPy's iterator may take and free its own buffer, ≤ 64 KiB, "
                  "when a bias row is broadcast), and "
                  "`tests/test_engine_compiled_first.py::test_an_update_allocates_nothing` for "
                  "the compiled loops."]
        targets.append(("no allocation per update that could be reused", True,
                        "tests/test_engine_numpy.py::test_an_update_allocates_nothing", ""))

    if r.get("seeds"):
        more, seeds_targets = seeds_report(r["seeds"])
        lines += ["", *more]
        targets += seeds_targets

    lines += ["", *summary(r)]

    lines += ["", "## Targets", "", "| target | met | measured |", "|---|---|---|"]
    lines += [target_row(t) for t in targets]
    unmet = [unmet_line(t) for t in targets if t[1] is False]
    if unmet:
        lines += ["", UNMET, "", *unmet]
    return "\n".join(lines) + "\n", targets


UNMET = "Why the unmet targets are not met (from the figures above):"


def target_row(target: Target) -> str:
    """A target's row of the targets table."""
    text, ok, measured, _ = target
    return f"| {text} | {'skipped' if ok is None else 'yes' if ok else 'NO'} | {measured} |"


def unmet_line(target: Target) -> str:
    """An unmet target's line in the list of reasons."""
    text, _, measured, why = target
    return f"- **{text}** ({measured}): {why}."


#: Sections that run each of their measurements once (a million-seed sweep is not repeated).
ONCE = ("seeds",)
#: The sections of a run, in order; ``--only`` names some of them.
SECTIONS = ("one", "many", "ablation", "mlp", "digits", "sequence", "memory", "seeds")
#: Where a run keeps its raw figures, so that ``--splice`` can rewrite RESULTS.md from them.
RAW = HERE / "results.json"


def _int_keys(x: object) -> object:
    """JSON's string keys of whole numbers back to ``int`` (seeds, sizes), recursively."""
    if isinstance(x, dict):
        return {int(k) if k.isdigit() else k: _int_keys(v) for k, v in x.items()}
    return x


def run_sections(names: list[str], reps: int, quick: bool, r: dict) -> None:
    """Run the ``names`` sections into ``r``, each with its date, repetitions and load."""
    cases = 12_800 if quick else 60_000
    sizes = [100, 1000, 10000]
    sweeps = ({100: 200, 1000: 200, 10000: 20} if quick else
              {100: 2000, 1000: 2000, 10000: 1000})

    def step(label: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {label}", file=sys.stderr, flush=True)

    def peak() -> None:
        n = 2048  # smaller products do not reach the peak
        r["peak"] = {"float32": matmul_peak(np.float32, n, max(reps, 5)),
                     "float64": matmul_peak(np.float64, n, max(reps, 5)), "n": n}
        r["bandwidth"] = bandwidth(64 if quick else 256, reps)

    def one() -> None:
        r["one"] = one_network(2001 if quick else 10001, reps)
        step("whole processes")
        r["processes"] = processes(reps)

    jobs: dict[str, Callable[[], None]] = {
        "one": one,
        "many": lambda: r.__setitem__("many", many_seeds(sizes, sweeps, reps)),
        "ablation": lambda: r.__setitem__("ablation", ablation([1000, 10000], sweeps, reps)),
        "mlp": lambda: (peak(), r.__setitem__("mlp", mlp(cases, reps, r["peak"]))),
        "digits": lambda: r.__setitem__("digits", digits(reps)),
        "sequence": lambda: r.__setitem__(
            "sequence", sequence(reps, seeds=20 if quick else peers.SEQUENCE_SEEDS)),
        "memory": lambda: r.__setitem__("memory", memory(cases)),
        "seeds": lambda: r.__setitem__("seeds", seeds_section(quick)),
    }
    for name in names:
        if name == "ablation" and not have("numba"):
            continue
        step(name)
        start = os.getloadavg()[0]
        date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        jobs[name]()
        r.setdefault("meta", {})[name] = {"date": date, "reps": reps, "quick": quick,
                                          "load": [start, os.getloadavg()[0]]}
        meta = r["meta"]  # in the sections' order, however they were spliced
        r["meta"] = {k: meta[k] for k in SECTIONS if k in meta}


def sections_arg(text: str) -> list[str]:
    names = [w.strip() for w in text.split(",") if w.strip()]
    bad = [n for n in names if n not in SECTIONS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(bad) or repr(text)}; the sections are "
            + ", ".join(SECTIONS))
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and repetitions")
    p.add_argument("--reps", type=int, help="repetitions per contender")
    p.add_argument("--out", type=Path, help="the report (default benchmarks/RESULTS.md)")
    p.add_argument("--keep-blas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set (see the docstring)")
    p.add_argument("--only", type=sections_arg, metavar="SECTION,…",
                   help="run these sections only (" + ", ".join(SECTIONS) + ") and print "
                        "their report; with --splice, put them into the saved run")
    p.add_argument("--splice", action="store_true",
                   help="with --only: replace those sections of benchmarks/results.json and "
                        "rewrite RESULTS.md and README's table from it")
    p.add_argument("--readme", action="store_true",
                   help="only copy RESULTS.md's summary and targets into README.md")
    p.add_argument("--render", action="store_true",
                   help="only rewrite RESULTS.md and README's tables from the saved run "
                        "(benchmarks/results.json), running nothing")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--cases", type=int, default=60_000, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.cases)
        return 0
    if args.readme:
        readme.write()
        return 0
    if args.render:
        saved = _int_keys(json.loads(RAW.read_text()))
        quick = any(m["quick"] for m in saved["meta"].values())
        (HERE / "RESULTS.md").write_text(report(saved, quick)[0])
        readme.write()
        return 0
    if args.splice and not args.only:
        p.error("--splice needs --only SECTION,…")
    if args.splice and not RAW.exists():
        p.error(f"--splice needs a saved full run ({RAW.name}): run without --only first")
    quick = args.quick
    reps = args.reps or (3 if quick else 7)
    names = args.only or list(SECTIONS)
    r: dict = {}
    if args.splice:
        r = _int_keys(json.loads(RAW.read_text()))
    from backprop86 import threads

    with co_tenant():
        busy = threads.choose(10**9)
    r.update({"cpu": cpu_model(), "cores": os.cpu_count(), "versions": versions(),
              "blas": blas_info(), "threads": {"idle": threads.choose(10**9), "busy": busy,
                                               "allowed": threads.allowed_cores()}})
    if not args.splice and args.only:
        r["meta"] = {}
    run_sections(names, reps, quick, r)
    text, _ = report(r, quick)
    print(text)
    if args.only and not args.splice:
        if args.out is not None:
            args.out.write_text(text)
        return 0
    out = args.out or HERE / "RESULTS.md"
    out.write_text(text)
    if args.out is None:
        RAW.write_text(json.dumps(r, indent=1) + "\n")
        readme.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
