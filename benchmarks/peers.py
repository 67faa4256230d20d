"""The contenders of benchmarks/run.py: backprop86, the article's loop, PyTorch and JAX.

Each contender is a function ``setup(...) -> run`` where ``run()`` does the timed
work and returns nothing; set-up (data, compilation warm-up) is not timed.
PyTorch and JAX are optional: :func:`available` says which are installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ARTICLE = (HERE / "article.py").read_text()
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_D = np.array([[0], [1], [1], [0]], dtype=float)

Run = Callable[[], None]


def available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


# ----------------------------------------------------------------------------
# The article's task, one network: 2-4-1 logistic, no biases, lr 0.5, full batch
# ----------------------------------------------------------------------------


def article_loop(steps: int) -> Run:
    """The article's program as written (its prints silenced), with ``range(steps)``."""
    code = compile(ARTICLE.replace("range(10001)", f"range({steps})"), "article.py", "exec")

    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, {"__name__": "article"})

    return run


def backprop86_xor(steps: int, seeds: int = 1, engine: str = "auto"):
    """backprop86's :func:`~backprop86.train.train` on the article's experiment (``backprop86
    xor``), ``seeds`` replicas, trained by ``engine`` (``auto``: the one ``backprop86 xor``
    would take), as a user calls it: the network and its initial weights, the training loop
    with its per-sweep error history, and the final evaluation of every replica are timed.

    Returns ``prepare() -> run``. A compiled engine is loaded (or compiled) here, before any
    timing.
    """
    from backprop86.experiments import load
    from backprop86.train import train

    exp = load("xor").with_settings([f"max_sweeps={steps}", f"engine={engine}"])
    task = exp.task()

    def run() -> None:
        train(exp.network(replicas=seeds), task, exp.config, list(range(seeds)))

    if engine.startswith("compiled"):  # warm-up: numba loads its compiled sweep on the first call
        train(exp.network(replicas=seeds), task, exp.config.replace(max_sweeps=2),
              list(range(seeds)))
    return lambda: run


def engine_variant(steps: int, seeds: int, engine: str, **options: bool):
    """The article's experiment on ``engine`` built with ``options`` (``own_exp`` for
    compiled-last, ``skip_zero_rows`` for numpy-last: the ablation of their hand-made
    parts), through the one training loop. Returns ``prepare() -> run`` as
    :func:`backprop86_xor` does."""
    from backprop86.engine import select
    from backprop86.engine.compiled_last import CompiledLast
    from backprop86.engine.numpy_last import NumpyLast
    from backprop86.experiments import load
    from backprop86.train import Trainer

    exp = load("xor").with_settings([f"max_sweeps={steps}", f"engine={engine}"])
    task = exp.task()
    cls = {"compiled-last": CompiledLast, "numpy-last": NumpyLast}[engine]

    def train(trainer: Trainer) -> None:
        make = select.make
        select.make = lambda name, setup: cls(setup, **options)
        try:
            trainer.train()
        finally:
            select.make = make

    def prepare() -> Run:
        t = Trainer(exp.network(replicas=seeds), task, exp.config, list(range(seeds)))
        return lambda: train(t)

    prepare()()  # warm-up: numba loads (or compiles) the sweep
    return prepare


def compiled_or_numpy(layout: str) -> str:
    """The compiled engine of a layout (``first`` or ``last``) when numba is installed, else
    the NumPy one."""
    import importlib.util

    kind = "compiled" if importlib.util.find_spec("numba") is not None else "numpy"
    return f"{kind}-{layout}"


def kernel_profile(seeds: int) -> dict[str, float]:
    """NumPy calls and bytes of one update of the NumPy engine on the article's task,
    ``seeds`` nets (numpy-last from 64 nets on, else numpy-first).

    Bytes count every array argument of every call (read or written) once: the
    memory an update streams through, about ``bytes / seeds`` per network.
    """
    from functools import partial

    from backprop86.engine.numpy_last import NumpyLast
    from backprop86.engine.select import REPLICA_LAST_MIN, make
    from backprop86.experiments import load
    from backprop86.train import Trainer

    exp = load("xor")
    trainer = Trainer(exp.network(replicas=seeds), exp.task(), exp.config, list(range(seeds)))
    kernel = make("numpy-last" if seeds >= REPLICA_LAST_MIN else "numpy-first", trainer)
    kernel.begin_block(np.ones(seeds, bool))
    kernel.set_rates(exp.config.lr, exp.config.momentum)
    if isinstance(kernel, NumpyLast):
        ops = kernel.programs[0] + kernel.records[0][0] + kernel.step
    else:
        ops = kernel.programs[0][0]
    nbytes = 0
    for function, args in ops:
        arrays = list(args) + (list(function.keywords.values())
                               if isinstance(function, partial) else [])
        nbytes += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray) and a.ndim)
    return {"layout": type(kernel).__name__, "calls": len(ops), "bytes": nbytes}


def mlp_profile(dtype: str) -> dict[str, float]:
    """Calls of one mini-batch update of backprop86's engine on the 784-256-10 MLP, matrix products
    apart (how many of them are numba's compiled loops), and the bytes they stream (as
    :func:`kernel_profile` counts them)."""
    from functools import partial

    from backprop86.engine.select import make

    X, D = mnist_shaped(2 * BATCH)
    trainer = backprop86_mlp_trainer(X, D, dtype)
    kernel = make(trainer.config.engine, trainer)
    kernel.begin_block(np.ones(1, bool))
    kernel.set_rates(trainer.config.lr, trainer.config.momentum)
    ops = [(f, a) for f, a in kernel.programs[0][0] + kernel.step if f is not np.dot]
    nbytes = 0
    for function, args in ops:
        arrays = list(args) + (list(function.keywords.values())
                               if isinstance(function, partial) else [])
        nbytes += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray) and a.ndim)
    compiled = sum(hasattr(f, "py_func") for f, _ in ops)  # numba's loops (compiled-first)
    return {"calls": len(ops), "compiled": compiled, "bytes": nbytes}


def torch_manual(steps: int, seeds: int = 1) -> Run:
    """PyTorch eager, the article's equations with manual gradients; batched matmul for seeds."""
    import torch

    torch.manual_seed(0)
    X = torch.tensor(XOR_X, dtype=torch.float64).expand(seeds, 4, 2)
    D = torch.tensor(XOR_D, dtype=torch.float64).expand(seeds, 4, 1)
    W1_0 = torch.randn(seeds, 2, 4, dtype=torch.float64) * 0.5
    W2_0 = torch.randn(seeds, 4, 1, dtype=torch.float64) * 0.5

    def run() -> None:
        W1, W2 = W1_0.clone(), W2_0.clone()
        history = torch.empty(steps, seeds, dtype=torch.float64)  # backprop86 keeps one too
        with torch.no_grad():
            for s in range(steps):
                a1 = torch.sigmoid(torch.bmm(X, W1))
                y = torch.sigmoid(torch.bmm(a1, W2))
                history[s] = 0.5 * ((D - y) ** 2).sum(dim=(1, 2))
                d_out = (y - D) * y * (1 - y)
                dW2 = torch.bmm(a1.transpose(1, 2), d_out)
                d_hid = torch.bmm(d_out, W2.transpose(1, 2)) * a1 * (1 - a1)
                dW1 = torch.bmm(X.transpose(1, 2), d_hid)
                W2 -= 0.5 * dW2
                W1 -= 0.5 * dW1
            # the final evaluation, as train() ends with one: outputs and error of every seed
            y = torch.sigmoid(torch.bmm(torch.sigmoid(torch.bmm(X, W1)), W2))
            0.5 * ((D - y) ** 2).sum(dim=(1, 2))

    return run


def torch_autograd(steps: int) -> Run:
    """PyTorch eager, autograd and torch.optim.SGD (½ sum of squares: the article's gradient)."""
    import torch

    torch.manual_seed(0)
    X = torch.tensor(XOR_X, dtype=torch.float64)
    D = torch.tensor(XOR_D, dtype=torch.float64)
    W1_0 = torch.randn(2, 4, dtype=torch.float64) * 0.5
    W2_0 = torch.randn(4, 1, dtype=torch.float64) * 0.5

    def run() -> None:
        W1 = W1_0.clone().requires_grad_()
        W2 = W2_0.clone().requires_grad_()
        opt = torch.optim.SGD([W1, W2], lr=0.5)
        history = torch.empty(steps, dtype=torch.float64)
        for s in range(steps):
            opt.zero_grad()
            y = torch.sigmoid(torch.sigmoid(X @ W1) @ W2)
            loss = 0.5 * ((y - D) ** 2).sum()
            loss.backward()
            history[s] = loss.detach()
            opt.step()
        with torch.no_grad():  # the final evaluation
            y = torch.sigmoid(torch.sigmoid(X @ W1) @ W2)
            0.5 * ((y - D) ** 2).sum()

    return run


def jax_loop(steps: int, seeds: int | None = None) -> tuple[Run, float]:
    """JAX: the whole loop compiled (``lax.scan``, the per-step error kept as backprop86's
    history, then the final evaluation); ``seeds``: ``vmap`` over replicas.

    Returns the timed run and the seconds the first call (compilation) took.
    """
    import time

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    X, D = jnp.asarray(XOR_X), jnp.asarray(XOR_D)

    def train(W1, W2):
        def body(w, _):
            W1, W2 = w
            a1 = jax.nn.sigmoid(X @ W1)
            y = jax.nn.sigmoid(a1 @ W2)
            d_out = (y - D) * y * (1 - y)
            d_hid = (d_out @ W2.T) * a1 * (1 - a1)
            error = 0.5 * jnp.sum((y - D) ** 2)  # the per-sweep history backprop86 keeps
            return (W1 - 0.5 * (X.T @ d_hid), W2 - 0.5 * (a1.T @ d_out)), error

        (W1, W2), history = jax.lax.scan(body, (W1, W2), None, length=steps)
        y = jax.nn.sigmoid(jax.nn.sigmoid(X @ W1) @ W2)  # the final evaluation
        return W1, W2, history, y, 0.5 * jnp.sum((y - D) ** 2)

    rng = np.random.default_rng(0)
    shape = () if seeds is None else (seeds,)
    W1 = jnp.asarray(rng.standard_normal((*shape, 2, 4)) * 0.5)
    W2 = jnp.asarray(rng.standard_normal((*shape, 4, 1)) * 0.5)
    f = jax.jit(train if seeds is None else jax.vmap(train))
    t = time.perf_counter()
    jax.block_until_ready(f(W1, W2))
    compile_s = time.perf_counter() - t

    def run() -> None:
        jax.block_until_ready(f(W1, W2))

    return run, compile_s


# ----------------------------------------------------------------------------
# A 784-256-10 ReLU / softmax MLP on MNIST-shaped random data, mini-batches of 128
# ----------------------------------------------------------------------------

MLP = (784, 256, 10)
BATCH = 128


def mnist_shaped(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 784-pixel images in [0, 1) and one-hot labels of 10 classes."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, MLP[0]), dtype=np.float32)
    D = np.eye(MLP[-1], dtype=np.float32)[rng.integers(0, MLP[-1], n)]
    return X, D


def mlp_flops(n: int) -> float:
    """Floating-point operations of an epoch: forward products, dW1, dW2, dE/dy of the hidden."""
    i, h, o = MLP
    return 2.0 * n * (i * h + h * o) + 2.0 * n * (i * h + h * o) + 2.0 * n * (o * h)


def matmuls_alone(X: np.ndarray, dtype: str) -> Run:
    """The five matrix products of each mini-batch of an epoch, nothing else, on the BLAS
    threads backprop86 would choose: the floor of any NumPy version (forward ``X W1``,
    ``H W2``; ``H^T δ``, ``δ W2^T``, ``X^T δ_h``)."""
    i, h, o = MLP
    Xd = X.astype(dtype, copy=False)
    rng = np.random.default_rng(0)
    W1, W2 = rng.random((i, h)).astype(dtype), rng.random((h, o)).astype(dtype)
    g1, g2 = np.empty((i, h), dtype), np.empty((h, o), dtype)
    batches = []
    for start in range(0, len(X), BATCH):
        x = Xd[start:start + BATCH]
        H, out, dH = (np.empty((len(x), n), dtype) for n in (h, o, h))
        batches.append((x, H, out, rng.random((len(x), o)).astype(dtype), dH))

    def run() -> None:
        from backprop86.threads import choose, limited

        # on as many BLAS threads as backprop86 would take now (backprop86.threads), so that
        # the floor is the floor of backprop86's own products on a machine shared with others
        with limited(choose(len(X) * (i * h + h * o))):
            for x, H, out, dO, dH in batches:
                np.dot(x, W1, H)
                np.dot(H, W2, out)
                np.dot(H.T, dO, g2)
                np.dot(dO, W2.T, dH)
                np.dot(x.T, dH, g1)

    return run


def _mlp_setup(X: np.ndarray, D: np.ndarray, dtype: str, epochs: int, engine: str | None):
    from backprop86 import Network, TrainConfig
    from backprop86.tasks.base import Task

    def task(n: int) -> Task:
        return Task("mnist-shaped", X[:n], D[:n], labels=tuple(map(str, range(n))))

    cfg = TrainConfig(error="cross_entropy", report="cross_entropy", grain="minibatch",
                      batch_size=BATCH, reduction="mean", lr=0.1, init="he", dtype=dtype,
                      max_sweeps=epochs, engine=engine or compiled_or_numpy("first"))

    def net() -> Network:
        return Network.mlp(list(MLP), activation="relu", output_activation="softmax",
                           dtype=dtype)

    return task, cfg, net


def backprop86_mlp(X: np.ndarray, D: np.ndarray, dtype: str, epochs: int = 1,
                   engine: str | None = None, threads: int | None = None):
    """backprop86's :func:`~backprop86.train.train` as a user calls it: relu hidden, softmax
    output, cross-entropy, mean over the batch; the network, the epoch and the final
    evaluation of the whole set (error and outputs, which ``train`` always returns) timed;
    ``threads``: fixed as ``--threads`` fixes them (``None``: chosen from the free cores).

    Returns ``prepare() -> run``.
    """
    from backprop86.train import train

    task, cfg, net = _mlp_setup(X, D, dtype, epochs, engine)
    data = task(len(X))

    def run() -> None:
        if threads is None:
            train(net(), data, cfg, [0])
            return
        from backprop86.threads import set_threads

        set_threads(threads)  # as `--threads N` does
        try:
            train(net(), data, cfg, [0])
        finally:
            set_threads(None)

    # warm-up on two mini-batches: numba loads its compiled loops (compiled-first) here
    train(net(), task(2 * BATCH), cfg, [0])
    return lambda: run


def backprop86_mlp_trainer(X: np.ndarray, D: np.ndarray, dtype: str):
    """The Trainer :func:`backprop86_mlp` runs (for counting its calls; not timed)."""
    from backprop86.train import Trainer

    task, cfg, net = _mlp_setup(X, D, dtype, 1, None)
    return Trainer(net(), task(len(X)), cfg, [0])


def torch_mlp(X: np.ndarray, D: np.ndarray, dtype: str) -> Run:
    """PyTorch eager: nn.Linear layers, F.cross_entropy, torch.optim.SGD, one epoch, then the
    final evaluation of the whole set (error and outputs, as backprop86's train() returns)."""
    import torch
    from torch.nn import functional

    tdt = getattr(torch, dtype)
    Xt = torch.from_numpy(X).to(tdt)
    labels = torch.from_numpy(D.argmax(axis=1))
    torch.manual_seed(0)

    def run() -> None:
        model = torch.nn.Sequential(torch.nn.Linear(MLP[0], MLP[1]), torch.nn.ReLU(),
                                    torch.nn.Linear(MLP[1], MLP[2])).to(tdt)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for start in range(0, len(Xt), BATCH):
            opt.zero_grad()
            batch = slice(start, start + BATCH)
            loss = functional.cross_entropy(model(Xt[batch]), labels[batch])
            loss.backward()
            opt.step()
        with torch.no_grad():  # the final evaluation of the whole set, as train() returns it
            out = model(Xt)
            functional.cross_entropy(out, labels)
            torch.softmax(out, dim=1)

    return run


def jax_mlp(X: np.ndarray, D: np.ndarray, dtype: str) -> tuple[Run, float]:
    """JAX: one epoch compiled (``lax.scan`` over the mini-batches), gradients by ``jax.grad``,
    and the final evaluation of the whole set in the same compiled function."""
    import time

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    n = len(X) // BATCH * BATCH
    Xb = jnp.asarray(X[:n].reshape(-1, BATCH, MLP[0]), dtype=dtype)
    Db = jnp.asarray(D[:n].reshape(-1, BATCH, MLP[-1]), dtype=dtype)
    X_all, D_all = jnp.asarray(X, dtype=dtype), jnp.asarray(D, dtype=dtype)
    rng = np.random.default_rng(0)
    params = [jnp.asarray(rng.standard_normal((MLP[0], MLP[1])) * np.sqrt(2 / MLP[0]), dtype),
              jnp.zeros(MLP[1], dtype),
              jnp.asarray(rng.standard_normal((MLP[1], MLP[2])) * np.sqrt(2 / MLP[1]), dtype),
              jnp.zeros(MLP[2], dtype)]

    def loss(p, x, d):
        h = jax.nn.relu(x @ p[0] + p[1])
        return -jnp.mean(jnp.sum(d * jax.nn.log_softmax(h @ p[2] + p[3]), axis=-1))

    def epoch(p, Xb, Db, X_all, D_all):  # the data as arguments, not constants of the program
        def step(p, batch):
            g = jax.grad(loss)(p, *batch)
            return [w - 0.1 * gw for w, gw in zip(p, g, strict=True)], None

        p = jax.lax.scan(step, p, (Xb, Db))[0]
        # the final evaluation of the whole set, as backprop86's train() returns it
        h = jax.nn.relu(X_all @ p[0] + p[1])
        out = jax.nn.softmax(h @ p[2] + p[3])
        return p, out, -jnp.mean(jnp.sum(D_all * jnp.log(out), axis=-1))

    f = jax.jit(epoch)
    data = (Xb, Db, X_all, D_all)
    t = time.perf_counter()
    jax.block_until_ready(f(params, *data))
    compile_s = time.perf_counter() - t

    def run() -> None:
        jax.block_until_ready(f(params, *data))

    return run, compile_s


# ----------------------------------------------------------------------------
# Real digits: the digits experiment's network and settings, to a fixed test accuracy
# ----------------------------------------------------------------------------

#: Sweeps (epochs) of each run and the mean test accuracy every contender must reach in them.
DIGITS_SWEEPS = 50
DIGITS_TARGET = 0.95


def digits_task():
    """The digits experiment's task (bundled 8x8 digits; its own fixed test set)."""
    from backprop86.experiments import load

    exp = load("digits").with_settings([f"max_sweeps={DIGITS_SWEEPS}"])
    return exp, exp.task()


def _test_accuracy(outputs: np.ndarray, task) -> float:
    """Mean over seeds of the fraction of test images whose most active output is the digit."""
    truth = task.test.targets.argmax(axis=1)
    return float(np.mean(outputs.argmax(axis=-1) == truth))


def backprop86_digits(seeds: int, accuracy: dict):
    """backprop86's :func:`~backprop86.train.train` on the digits experiment, ``seeds``
    replicas as one batch, as a user calls it (the network and its initial weights timed).
    Returns ``prepare() -> run``."""
    from backprop86.train import train

    exp, task = digits_task()

    def run() -> None:
        net = exp.network(replicas=seeds)
        train(net, task, exp.config, list(range(seeds)))
        accuracy["backprop86"] = _test_accuracy(net.predict(task.test.inputs), task)

    return lambda: run


def mlp_classifier_digits(seeds: int, accuracy: dict) -> Run:
    """scikit-learn's MLPClassifier with the experiment's settings
    (:func:`backprop86.experiments.peers.mlp_settings`), one fit per seed."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from backprop86.experiments.peers import mlp_settings

    exp, task = digits_task()
    settings = mlp_settings(exp, task.n_cases)
    X, y = task.inputs, task.targets.argmax(axis=1)

    def run() -> None:
        scores = []
        for seed in range(seeds):
            clf = MLPClassifier(random_state=seed, **settings)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y)
            scores.append(_test_accuracy(clf.predict_proba(task.test.inputs), task))
        accuracy["MLPClassifier"] = float(np.mean(scores))

    return run


def torch_digits(seeds: int, accuracy: dict) -> Run:
    """PyTorch eager, autograd and torch.optim.SGD: the same 64-32-10 logistic network and
    squared error ½ΣΣ(y − d)² summed over each mini-batch of 32 (a new order per seed and
    sweep), ε 0.05, α 0.5 (SGD's momentum is eq. 9 for a constant ε), weights uniform ±0.3,
    float64; the seeds as one batch of replicas (``baddbmm``), as backprop86 trains them."""
    import torch

    exp, task = digits_task()
    cfg = exp.config
    X, D = torch.from_numpy(task.inputs), torch.from_numpy(task.targets)
    Xt = torch.from_numpy(task.test.inputs)
    n, sizes = X.shape[0], [g.size for g in exp.network().groups]

    def run() -> None:
        gen = torch.Generator().manual_seed(0)

        def uniform(*shape):
            w = (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * cfg.init_scale
            return w.requires_grad_()

        params = []
        for a, b in pairwise(sizes):
            params += [uniform(seeds, a, b), uniform(seeds, 1, b)]
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)

        def forward(x):
            for i in range(0, len(params), 2):
                x = torch.sigmoid(torch.baddbmm(params[i + 1], x, params[i]))
            return x

        for _ in range(cfg.max_sweeps):
            order = torch.argsort(torch.rand(seeds, n, generator=gen), dim=1)
            for start in range(0, n, cfg.batch_size):
                idx = order[:, start:start + cfg.batch_size]
                y = forward(X[idx])
                loss = 0.5 * ((y - D[idx]) ** 2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            out = forward(Xt.expand(seeds, -1, -1)).numpy()
        accuracy["PyTorch eager"] = _test_accuracy(out, task)

    return run


# ----------------------------------------------------------------------------
# Sequence completion: a recurrent net trained through time, many seeds as one batch
# ----------------------------------------------------------------------------

#: Seeds of the sequence-completion rows, trained as one batch of replicas.
SEQUENCE_SEEDS = 200


def sequence_setup(seeds: int):
    """The sequence-completion experiment as ``backprop86 run`` trains it: its network with
    ``seeds`` replicas, initial weights from seeds ``0 … seeds − 1``, the 20 training
    sequences of its split. Returns ``(experiment, training tasks, initial parameters)``
    (parameters by backprop86's names, ``(R, …)`` float64 arrays)."""
    from backprop86.experiments import load
    from backprop86.experiments.holdout import make_split

    exp = load("sequence-completion")
    seed_list = list(range(seeds))
    split = make_split(exp.task(), seed_list, exp.split_spec())
    initial = exp.initial_network(seed_list).params
    return exp, split.train, {k: v.copy() for k, v in initial.items()}


def backprop86_sequence(seeds: int, finals: dict) -> Callable[[], Run]:
    """backprop86's Trainer on the sequence-completion experiment, ``seeds`` replicas (the
    engine the run chooses: the readable one for a recurrent net). Returns ``prepare() ->
    run``; building the trainer is not timed. Each run leaves its final weights and the
    reported error of its last sweep in ``finals["backprop86"]``."""
    from backprop86.train import Trainer

    exp, train, initial = sequence_setup(seeds)

    def prepare() -> Run:
        net = exp.network(replicas=seeds)
        net.set_params(initial)
        trainer = Trainer(net, train, exp.config, list(range(seeds)), initialized=True)

        def run() -> None:
            result = trainer.train()
            finals["backprop86"] = ({k: v.copy() for k, v in net.params.items()},
                                    result.history[:, -1].copy(), result.engine)

        return run

    return prepare


def torch_sequence(seeds: int, finals: dict, autograd: bool) -> Run:
    """PyTorch eager, float64: the sequence-completion net (5 letters, 30 hidden, 3 digits;
    letters → hidden, hidden → hidden, hidden → digits, digits → digits, every link one
    step late; biases on hidden and digits), run 6 steps from activity 0.2, the letters
    at steps 1–2, dead-zone error (no error above 0.8 for an on-target, below 0.2 for an
    off-target) on the digits at steps 3–6, summed over the 20 training sequences; one
    step of ``Δw = α Δw − ε ∂E/∂w`` per sweep; ``seeds`` nets as one batch of replicas
    (``torch.matmul`` over the leading axis), each from backprop86's initial weights.

    ``autograd``: the gradient from ``loss.backward()``, the step from torch.optim.SGD;
    else the gradient through time written out by hand. Each run leaves its final weights
    and the error of its last sweep in ``finals``."""
    import torch

    exp, train, initial = sequence_setup(seeds)
    cfg = exp.config
    low, high = cfg.dead_zone
    # the split names its test sequences, so every seed trains on the same 20
    X = torch.from_numpy(train[0].inputs)             # (20, 10): letter 1, letter 2
    D = torch.from_numpy(train[0].targets)            # (20, 12): digits at steps 3, 4, 5, 6
    letters = {1: X[:, :5], 2: X[:, 5:]}
    on = [D[:, 3 * i:3 * i + 3] >= 0.5 for i in range(4)]
    names = {"lh": "w:letters->hidden", "hh": "w:hidden->hidden", "hd": "w:hidden->digits",
             "dd": "w:digits->digits", "bh": "b:hidden", "bd": "b:digits"}
    start = {k: torch.from_numpy(initial[v]) for k, v in names.items()}
    net = exp.network()  # read for its settings only: steps, initial activity, sizes
    n, steps, lr, momentum = X.shape[0], net.steps, cfg.lr, cfg.momentum
    h0 = torch.full((1, n, start["hh"].shape[-1]), net.initial, dtype=torch.float64)
    d0 = torch.full((1, n, start["dd"].shape[-1]), net.initial, dtype=torch.float64)

    def residual(y, i):
        """dE/dy of the dead-zone error at the i-th target step."""
        return torch.where(on[i], (y - high).clamp(max=0), (y - low).clamp(min=0))

    def forward(w):
        """Activities h[t], d[t] for t = 0 … 6."""
        h, d = [h0], [d0]
        for t in range(1, steps + 1):
            x = torch.baddbmm(w["bh"], h[-1].expand(seeds, -1, -1), w["hh"])
            if t - 1 in letters:
                x = x + torch.matmul(letters[t - 1], w["lh"])
            h.append(torch.sigmoid(x))
            d.append(torch.sigmoid(torch.baddbmm(w["bd"], d[-1].expand(seeds, -1, -1), w["dd"])
                                   + torch.matmul(h[-2], w["hd"])))
        return h, d

    def run_autograd() -> list:
        w = {k: v.clone().requires_grad_() for k, v in start.items()}
        opt = torch.optim.SGD(list(w.values()), lr=lr, momentum=momentum)
        errors = None
        for _ in range(cfg.max_sweeps):
            _, d = forward(w)
            r = torch.stack([residual(d[t], t - 3) for t in range(3, steps + 1)])
            per_net = 0.5 * (r * r).sum(dim=(0, 2, 3))
            errors = per_net.detach()
            opt.zero_grad()
            per_net.sum().backward()
            opt.step()
        return [w, errors]

    def run_manual() -> list:
        w = {k: v.clone() for k, v in start.items()}
        step = {k: torch.zeros_like(v) for k, v in w.items()}
        errors = None
        for _ in range(cfg.max_sweeps):
            h, d = forward(w)
            g = {k: torch.zeros_like(v) for k, v in w.items()}
            e = torch.zeros(seeds, dtype=torch.float64)
            dh_next = dd_next = None
            for t in range(steps, 0, -1):
                dy_d = dd_next
                if t >= 3:
                    r = residual(d[t], t - 3)
                    e += 0.5 * (r * r).sum(dim=(1, 2))
                    dy_d = r if dy_d is None else dy_d + r
                dx_d = None if dy_d is None else dy_d * d[t] * (1 - d[t])
                dx_h = None if dh_next is None else dh_next * h[t] * (1 - h[t])
                dh_next = dd_next = None
                if dx_d is not None:
                    g["hd"] += torch.matmul(h[t - 1].transpose(1, 2), dx_d)
                    g["dd"] += torch.matmul(d[t - 1].transpose(1, 2), dx_d)
                    g["bd"] += dx_d.sum(dim=1, keepdim=True)
                    if t > 1:
                        dh_next = torch.bmm(dx_d, w["hd"].transpose(1, 2))
                        dd_next = torch.bmm(dx_d, w["dd"].transpose(1, 2))
                if dx_h is not None:
                    g["hh"] += torch.matmul(h[t - 1].transpose(1, 2), dx_h)
                    g["bh"] += dx_h.sum(dim=1, keepdim=True)
                    if t - 1 in letters:
                        g["lh"] += torch.matmul(letters[t - 1].T, dx_h)
                    if t > 1:
                        back = torch.bmm(dx_h, w["hh"].transpose(1, 2))
                        dh_next = back if dh_next is None else dh_next + back
            for k in w:
                step[k].mul_(momentum).sub_(lr * g[k])
                w[k] += step[k]
            errors = e
        return [w, errors]

    train_ = run_autograd if autograd else run_manual
    key = "PyTorch eager, autograd + SGD" if autograd else "PyTorch eager, manual BPTT"

    def run() -> None:
        with torch.no_grad() if not autograd else contextlib.nullcontext():
            w, errors = train_()
        finals[key] = ({names[k]: v.detach().numpy().copy() for k, v in w.items()},
                       errors.numpy().copy(), None)

    return run
