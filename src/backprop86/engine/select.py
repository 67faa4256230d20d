"""Which engine trains a run: what each can train, and the ``auto`` rule.

The engines, slowest and most general first:

========================  ===================================================================
``readable``              any network and setting, recurrent networks included:
                          :mod:`backprop86.engine.readable`
``numpy-first``           a chain trained by gradient descent, layout ``(R, cases, units)``,
                          bit for bit with ``readable``
``numpy-last``            the same runs with cases in order and one case set, layout
                          ``(cases, units, R)``: many tiny networks
``compiled-last``         ``numpy-last``'s runs with one hidden group, full batch, a squared
                          error, logistic/tanh/linear units, no decay, float64 (numba)
``compiled-first``        ``numpy-first``'s runs of one network, element-wise steps fused (numba)
========================  ===================================================================

``auto`` takes the fastest engine that can train the run, weighing one-time
costs: a compiled engine costs nothing more when this process has compiled it,
about :data:`LOAD_SECONDS` to import numba and load its disk cache when that is
warm (a cache file newer than the engine's source), and its first compile
(:data:`COMPILE_SECONDS`) when it is cold. ``auto`` takes it when the run's
estimated saving, from :data:`SECONDS_PER_UNIT`, exceeds that cost
(:func:`one_time_cost`, :func:`saving`). The choice and, when a faster engine was
not taken, the reason (``why_not``) go into the run's result.
``benchmarks/engine_costs.py`` measures the constants on the machine at hand.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop86.config import ENGINES
from backprop86.engine.base import Engine, Setup
from backprop86.engine.blocked import PARALLEL_MIN, chain_layers
from backprop86.engine.numpy_first import NumpyFirst
from backprop86.engine.numpy_last import NumpyLast
from backprop86.engine.readable import Readable
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.optim import GradientDescent

#: ``numpy-last`` is ``auto``'s choice from this many replicas on, when no group is wider
#: than ``TINY`` units.
REPLICA_LAST_MIN = 64
TINY = 16

#: ``compiled-first`` is ``auto``'s choice for one network from this many parameters on (a
#: small network's NumPy calls are cheap, and importing numba costs about 0.3 s).
FUSED_MIN = 1 << 14

#: One-time costs of a compiled engine, seconds: its first compile (a cold numba cache), and
#: importing numba and loading the cache (warm). ``benchmarks/engine_costs.py`` on a 2-core
#: Intel Xeon: compiled-last 10.9 s, compiled-first 0.9 s (a ReLU net; each loop it uses
#: compiles on first use, so a softmax network compiles more), warm starts 0.63–0.66 s.
#: compiled-last has two entry points (one serial, one for ``PARALLEL_MIN`` networks and
#: more, on numba's threads), each compiled on its first use.
COMPILE_SECONDS = {"compiled-last": 11.0, "compiled-first": 2.0}
LOAD_SECONDS = 0.65

#: Seconds per unit (replica · sweep · case · parameter) of each engine, on the runs it is
#: chosen for (``benchmarks/engine_costs.py``, same machine): the article's network for
#: 1,000 seeds (replica-last), the 784-256-10 MLP in float32 (replica-first).
SECONDS_PER_UNIT = {"numpy-last": 3.7e-9, "compiled-last": 2.6e-9,
                    "numpy-first": 5.4e-11, "compiled-first": 4.8e-11}

#: Where the one-time compile is announced (the command line shows it on stderr).
log = logging.getLogger("backprop86")

HIDDEN_ACTIVATIONS = ("logistic", "tanh", "relu", "linear")
OUTPUT_ACTIVATIONS = ("logistic", "tanh", "relu", "linear", "softmax")
ERRORS = ("sse", "tss", "mse", "cross_entropy")


@dataclass(frozen=True)
class Choice:
    """The engine that trains a run, and why a faster one does not (``None``: none faster fits)."""

    engine: Engine
    why_not: str | None = None


# ----------------------------------------------------------------------------
# What each engine can train: None when it can, else the reason in words
# ----------------------------------------------------------------------------


def blocked_unfit(setup: Setup) -> str | None:
    """Why the blocked engines (all but ``readable``) cannot train this run, or ``None``."""
    cfg, net = setup.config, setup.net
    if net.recurrent:
        return (f"the network is recurrent (run for {net.steps} time step"
                f"{'s' if net.steps > 1 else ''}, trained through time)")
    if cfg.bias_max is not None:
        return "parameter constraints (bias_max)"
    if net.shares:
        return ("weights shared within an array (one receptive field or bias copied over "
                "a group's units)")
    layers = chain_layers(net)
    if layers is None:
        return f"the network is not a plain chain of groups: {not_a_chain(net)}"
    if any(layer.activation not in HIDDEN_ACTIVATIONS for layer in layers[:-1]):
        return f"hidden activations must be one of {', '.join(HIDDEN_ACTIVATIONS)}"
    out = layers[-1].activation
    if out not in OUTPUT_ACTIVATIONS:
        return f"the output activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}"
    if cfg.error not in ERRORS:
        return f"the error must be one of {', '.join(ERRORS)}"
    if cfg.error == "cross_entropy" and out not in ("logistic", "softmax"):
        return "cross-entropy needs logistic or softmax outputs (fused gradient)"
    if out == "softmax" and cfg.error != "cross_entropy":
        return "softmax outputs need the cross-entropy error"
    if out == "softmax" and not np.all(setup.D.sum(axis=-1) == 1.0):
        return "softmax outputs need targets that sum to 1 in every case (dE/dx = y - d)"
    if cfg.optimizer != "sgd" or not isinstance(setup.optimizer, GradientDescent):
        return f"only gradient descent (eqs. 8-9) has a faster engine, not {cfg.optimizer}"
    if setup.care is not None:
        return "don't-care targets"
    if setup.X.ndim != 2 and cfg.order == "shuffled":
        return "per-replica case sets in shuffled order"
    if cfg.stop_margin is not None and (cfg.grain != "sweep" or cfg.order != "sequential"):
        return "stop_margin needs grain = sweep and order = sequential"
    return None


def not_a_chain(net: Network) -> str:
    """What makes ``net`` more than a chain ``input → … → output``, in words."""
    if len(net.inputs) != 1:
        return f"{len(net.inputs)} input groups"
    if len(net.outputs) != 1:
        return f"{len(net.outputs)} output groups"
    if any(p.mask is not None for p in net.projections):
        return "masked projections"
    if any(count > 1 for count in net.tie_counts.values()):
        return "tied weights"
    return "projections that skip a group or join groups side by side"


def last_unfit(setup: Setup) -> str | None:
    """Why ``numpy-last`` cannot train this run, or ``None``."""
    if (why := blocked_unfit(setup)) is not None:
        return why
    if setup.config.order != "sequential":
        return "the replica-last layout needs cases in order"
    if setup.X.ndim != 2:
        return "the replica-last layout needs one case set for every replica"
    return None


def compiled_last_unfit(setup: Setup) -> str | None:
    """Why ``compiled-last`` cannot train this run, or ``None``."""
    if (why := last_unfit(setup)) is not None:
        return why
    cfg, layers = setup.config, chain_layers(setup.net)
    assert layers is not None
    if len(layers) != 2:
        return "the compiled replica-last loop takes exactly one hidden group"
    if cfg.grain != "sweep":
        return ("the compiled replica-last loop makes one update per sweep (full batch), "
                f"not grain = {cfg.grain}")
    if cfg.error not in ("sse", "tss", "mse") or setup.report.name == "cross_entropy":
        return "the compiled replica-last loop takes squared errors only"
    if any(ly.activation not in ("logistic", "tanh", "linear") for ly in layers):
        return "the compiled replica-last loop takes logistic, tanh and linear units only"
    if cfg.decay:
        return "the compiled replica-last loop has no weight decay"
    if setup.net.dtype != np.float64:
        return "the compiled replica-last loop is float64 only"
    return numba_missing()


def compiled_first_unfit(setup: Setup) -> str | None:
    """Why ``compiled-first`` cannot train this run, or ``None``."""
    if (why := blocked_unfit(setup)) is not None:
        return why
    if setup.net.replicas != 1:
        return "the compiled replica-first loops train one network (replicas = 1)"
    return numba_missing()


def numba_missing() -> str | None:
    """The reason a compiled engine cannot run when numba is absent, else ``None``."""
    if importlib.util.find_spec("numba") is None:
        return "it needs numba, which is not installed (pip install 'backprop86[fast]')"
    return None


UNFIT = {
    "readable": lambda setup: None,
    "numpy-first": blocked_unfit,
    "numpy-last": last_unfit,
    "compiled-last": compiled_last_unfit,
    "compiled-first": compiled_first_unfit,
}


def make(name: str, setup: Setup) -> Engine:
    """Engine ``name`` for this run (numba is imported only for a compiled one)."""
    if name == "readable":
        return Readable(setup)
    if name == "numpy-first":
        return NumpyFirst(setup)
    if name == "numpy-last":
        return NumpyLast(setup)
    if name == "compiled-last":
        from backprop86.engine.compiled_last import CompiledLast  # imports numba

        return CompiledLast(setup)
    if name == "compiled-first":
        from backprop86.engine.compiled_first import CompiledFirst  # imports numba

        return CompiledFirst(setup)
    raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")


# ----------------------------------------------------------------------------
# The choice
# ----------------------------------------------------------------------------


def check(setup: Setup, requested: str) -> None:
    """One clear :class:`ConfigError` when engine ``requested`` cannot train this run (called
    when the trainer is built, before any work)."""
    if requested != "auto" and (why := UNFIT[requested](setup)) is not None:
        raise ConfigError(f"engine {requested!r} cannot train this run: {why}; "
                          f"engine=auto picks one that can ({auto(setup)[0]})")


def choose(setup: Setup, requested: str = "auto") -> Choice:
    """The engine for this run: ``requested`` (an error in one line when it cannot train the
    run), or with ``auto`` the fastest that pays off (module docstring)."""
    if requested != "auto":
        check(setup, requested)
        name, why_not = requested, None
    else:
        name, why_not = auto(setup)
    if name.startswith("compiled") and one_time_cost(name, setup)[0] >= COMPILE_SECONDS[name]:
        log.info("compiling the %s engine's loops with numba: once, about %.0f s; later runs "
                 "load them from numba's cache", name, COMPILE_SECONDS[name])
    return Choice(make(name, setup), why_not)


def auto(setup: Setup) -> tuple[str, str | None]:
    """``auto``'s engine name for this run and why a faster engine was not taken."""
    if (why := blocked_unfit(setup)) is not None:
        return "readable", f"no faster engine can train it: {why}"
    net = setup.net
    many_tiny = (net.replicas >= REPLICA_LAST_MIN and all(g.size <= TINY for g in net.groups)
                 and last_unfit(setup) is None)
    base, compiled = ("numpy-last", "compiled-last") if many_tiny else ("numpy-first",
                                                                        "compiled-first")
    if not many_tiny and (net.replicas != 1 or n_params(setup) < FUSED_MIN):
        return base, None  # the compiled replica-first loops pay off for wide networks only
    gain = saving(setup, base, compiled)
    why = UNFIT[compiled](setup)
    if why is not None and why == numba_missing():  # worth saying only when it would pay
        if gain <= COMPILE_SECONDS[compiled]:
            return base, None
        return base, f"{compiled} would save about {gain:.2g} s, but {why}"
    if why is not None:
        return base, f"{compiled} cannot train it: {why}"
    cost, what = one_time_cost(compiled, setup)
    if gain > cost:
        return compiled, None
    return base, (f"{compiled} would save about {gain:.2g} s, less than the {cost:.2g} s of "
                  f"{what}; engine={compiled} uses it anyway")


def n_params(setup: Setup) -> int:
    """Parameters of one network: weights and biases."""
    return sum(p[0].size for p in setup.net.params.values())


def saving(setup: Setup, base: str, compiled: str) -> float:
    """Seconds ``max_sweeps`` sweeps on ``compiled`` would save over ``base``.

    Estimated time = seconds per unit × replicas × sweeps × cases × parameters
    (:data:`SECONDS_PER_UNIT`); a run that stops early saves less, so this errs
    towards the NumPy engine.
    """
    units = setup.net.replicas * setup.config.max_sweeps * setup.n_cases * n_params(setup)
    return units * (SECONDS_PER_UNIT[base] - SECONDS_PER_UNIT[compiled])


def one_time_cost(name: str, setup: Setup) -> tuple[float, str]:
    """Seconds compiled engine ``name`` costs before its first sweep, and what they are."""
    module, function = entry_point(name, setup)
    loaded = sys.modules.get(f"backprop86.engine.{module}")
    if loaded is not None and getattr(loaded, function).signatures:
        return 0.0, "nothing (compiled in this process)"
    if cache_warm(name, setup):
        return LOAD_SECONDS, "importing numba and loading its cache"
    return COMPILE_SECONDS[name], "numba's first compile (a cold cache)"


def entry_point(name: str, setup: Setup) -> tuple[str, str]:
    """The module of compiled engine ``name`` and the compiled function this run calls first
    (numba caches each function on its own)."""
    if name == "compiled-last":
        big = setup.net.replicas >= PARALLEL_MIN
        return "compiled_last", "sweeps_parallel" if big else "sweeps_serial"
    return "compiled_first", "sgd"


def cache_warm(name: str, setup: Setup) -> bool:
    """Whether numba's disk cache holds compiled engine ``name``'s entry point for this run:
    an index file newer than the engine's source, where numba keeps it (:func:`_cache_folder`).
    (A checkout that touches the source without changing it reads as cold: numba itself
    compares contents, which would mean importing it.)
    """
    module, function = entry_point(name, setup)
    source = Path(__file__).with_name(f"{module}.py")
    try:
        stamp = source.stat().st_mtime
    except OSError:
        return False
    return any(p.stat().st_mtime >= stamp
               for p in _cache_folder(source).glob(f"{module}.{function}-*.nbi"))


def _cache_folder(source: Path) -> Path:
    """Where numba keeps ``source``'s cache, in the order it looks: ``NUMBA_CACHE_DIR``'s
    subfolder for it when that is set, else the in-tree ``__pycache__`` when it can be
    written, else the user-wide cache directory."""
    parent = str(source.parent.resolve())
    sub = f"{Path(parent).name}_{hashlib.sha1(parent.encode()).hexdigest()}"
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / sub
    in_tree = source.parent / "__pycache__"
    if os.access(in_tree if in_tree.exists() else source.parent, os.W_OK):
        return in_tree
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "numba" / sub
