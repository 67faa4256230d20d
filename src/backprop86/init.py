"""Initial weights: the article's legacy normal draw, the paper's uniform ±r, Glorot, He, files.

Every scheme fills replica ``r`` from its own seed ``seeds[r]``, so replica ``r``
of a batch equals a single run with seed ``r`` (DESIGN §5).

* ``normal`` — ``np.random.RandomState(seed).randn(*shape) * scale`` for each
  weight array in projection order, then each bias: exactly the article's
  ``np.random.seed(42); W1 = randn(2, 4) * 0.5; W2 = randn(4, 1) * 0.5``.
* ``uniform`` — ``U(−scale, scale)`` for weights and biases (Nature: ±0.3;
  the handbook's ``wrange 1`` is ±0.5), from ``default_rng`` with the seed's
  ``init`` stream.
* ``glorot`` — ``U(±√(6/(n_in + n_out)))``, biases 0; ``he`` —
  ``N(0, 2/n_in)``, biases 0.
* ``file`` — a handbook ``.wts`` file (:func:`read_wts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backprop86.errors import ConfigError, FileFormatError
from backprop86.io import read_text
from backprop86.network import Network, bias_param

#: The purposes that get independent random streams from one seed.
PURPOSES = ("init", "order", "split", "data", "mask")

SCHEMES = ("normal", "uniform", "glorot", "he", "file")


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """An independent generator for one purpose of one seed (``SeedSequence`` spawn key)."""
    if purpose not in PURPOSES:
        raise ConfigError(f"unknown random stream {purpose!r}; expected one of {PURPOSES}")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PURPOSES.index(purpose),)))


def _fans(net: Network, name: str) -> tuple[int, int]:
    shape = net.params[name].shape[1:]
    return shape[0], shape[1]


def check_seeds(seeds: Sequence[object], scheme: str = "uniform") -> list[int]:
    """The seeds as Python ints, each ≥ 0 (and below 2**32 for the legacy ``normal`` draw)."""
    given = list(seeds)
    plain = bool(given) and all(type(s) is int for s in given)  # the usual case: at once
    if plain and min(given) >= 0 and (scheme != "normal" or max(given) < 2**32):
        return given
    out = []
    for s in given:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ConfigError(f"seeds must be integers ≥ 0, got {s!r}")
        if scheme == "normal" and s >= 2**32:
            raise ConfigError(
                f"seed {s} is too large for init 'normal' (np.random.seed takes 0 … 2**32 − 1)"
            )
        out.append(int(s))
    if not out:
        raise ConfigError("at least one seed is needed")
    return out


def initialize(
    net: Network,
    seeds: Sequence[int],
    scheme: str = "uniform",
    scale: float = 0.3,
    *,
    path: str | Path | None = None,
) -> None:
    """Fill ``net.params`` in place, replica ``r`` from ``seeds[r]``."""
    seeds = check_seeds(seeds, scheme)
    if len(seeds) != net.replicas:
        raise ConfigError(f"got {len(seeds)} seeds for {net.replicas} replicas")
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown init {scheme!r}; expected one of {', '.join(SCHEMES)}")
    if scheme == "file":
        if path is None:
            raise ConfigError("init 'file' needs init_file (a handbook .wts file)")
        values = read_wts(path, net)
        net.set_params(values)
        return
    if not np.isfinite(scale) or scale < 0 or not np.isfinite(2.0 * scale):
        raise ConfigError(f"init_scale must be a finite number ≥ 0 (and 2·init_scale finite, the "
                          f"width of the range −scale … scale), got {scale}")
    if scheme == "normal":
        _legacy_normal(net, seeds, scale)
    else:
        _seeded(net, seeds, scheme, scale)
    for name, mask in net.masks.items():
        net.params[name] *= mask
    net.spread_shared()  # weights shared within an array start equal: each its first copy


def _seeded(net: Network, seeds: Sequence[int], scheme: str, scale: float) -> None:
    """``uniform``, ``glorot`` and ``he``: replica ``r`` from the ``init`` stream of its seed."""
    for r, seed in enumerate(seeds):
        rng = rng_for(int(seed), "init")
        for name, w in net.params.items():
            is_bias = name.startswith("b:")
            if scheme == "uniform":
                w[r] = rng.uniform(-scale, scale, size=w.shape[1:])
            elif is_bias:
                w[r] = 0.0
            elif scheme == "glorot":
                fan_in, fan_out = _fans(net, name)
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                w[r] = rng.uniform(-limit, limit, size=w.shape[1:])
            else:  # he
                fan_in, _ = _fans(net, name)
                w[r] = rng.standard_normal(size=w.shape[1:]) * np.sqrt(2.0 / fan_in)


def _legacy_normal(net: Network, seeds: Sequence[int], scale: float) -> None:
    """The ``normal`` scheme: replica ``r``'s arrays, in order, are
    ``RandomState(seeds[r]).randn(*shape) * scale``.

    One generator is re-seeded for every replica (``RandomState.seed``: the legacy seeding
    and a cleared Gaussian cache, what ``RandomState(seed)`` does, in about 3 µs where making
    a new ``RandomState`` took about 170 µs here), and one ``randn`` call draws all of a
    replica's numbers: ``randn`` fills its shape in C order from one stream (the Gaussian
    cache carries over between calls), so splitting one draw in the arrays' order gives the
    same numbers.
    """
    arrays = list(net.params.values())
    sizes = [int(np.prod(w.shape[1:])) for w in arrays]
    total = sum(sizes)
    legacy = np.random.RandomState()
    draws = np.empty((min(len(seeds), LEGACY_CHUNK), total))  # a chunk of replicas at a time
    for lo in range(0, len(seeds), LEGACY_CHUNK):
        chunk = seeds[lo:lo + LEGACY_CHUNK]
        for r, seed in enumerate(chunk):
            legacy.seed(seed)
            draws[r] = legacy.randn(total)
        start = 0
        for w, size in zip(arrays, sizes, strict=True):
            part = draws[:len(chunk), start:start + size] * scale
            w[lo:lo + len(chunk)] = part.reshape(len(chunk), *w.shape[1:])
            start += size


#: Replicas whose ``normal`` draws are held at once (bounds the scratch memory).
LEGACY_CHUNK = 4096


# ----------------------------------------------------------------------------
# Handbook weight files
# ----------------------------------------------------------------------------


def unit_offsets(net: Network) -> dict[str, int]:
    """Index of each group's first unit when units are numbered 0… in group order."""
    offsets, start = {}, 0
    for g in net.groups:
        offsets[g.name] = start
        start += g.size
    return offsets


def wts_order(net: Network) -> list[tuple[str, int, int]]:
    """The handbook's weight order: for each unit in turn, its incoming weights by sender unit.

    Returns ``(param, i, j)`` triples (sender ``i``, receiver ``j`` within the
    parameter's matrix), skipping masked-out connections.
    """
    if any(count > 1 for count in net.tie_counts.values()):
        raise ConfigError("handbook .wts files cannot describe tied weights")
    if net.shares:
        raise ConfigError("handbook .wts files cannot describe weights shared within an array")
    offsets = unit_offsets(net)
    order: list[tuple[str, int, int]] = []
    for g in net.groups:
        if g.is_input:
            continue
        incoming = sorted(net.into[g.name], key=lambda p: offsets[p.source])
        for j in range(g.size):
            for p in incoming:
                for i in range(net.group(p.source).size):
                    if p.mask is None or p.mask[i, j]:
                        order.append((p.param, i, j))
    return order


def read_wts(path: str | Path, net: Network) -> dict[str, np.ndarray]:
    """Read a handbook ``.wts`` file for ``net``.

    The file holds whitespace-separated numbers: every unit's incoming weights,
    unit by unit in unit order (senders in increasing order), then one bias per
    unit for **all** units, input units included.
    """
    path = Path(path)
    text = read_text(path, "wts")
    try:
        numbers = [float(tok) for tok in text.split()]
    except ValueError:
        raise FileFormatError(f"weight file {path} holds something that is not a number") from None
    order = wts_order(net)
    n_units = sum(g.size for g in net.groups)
    expected = len(order) + n_units
    if len(numbers) != expected:
        raise FileFormatError(
            f"weight file {path} has {len(numbers)} numbers, expected {expected} "
            f"({len(order)} weights + {n_units} biases) for this network"
        )
    if not np.all(np.isfinite(numbers)):
        raise FileFormatError(f"weight file {path} holds a non-finite number")
    values = {name: np.zeros(w.shape[1:]) for name, w in net.params.items()}
    for (param, i, j), v in zip(order, numbers, strict=False):
        values[param][i, j] = v
    offsets = unit_offsets(net)
    biases = numbers[len(order):]
    for g in net.groups:
        name = bias_param(g.name)
        chunk = biases[offsets[g.name]: offsets[g.name] + g.size]
        if name in values:
            values[name][0, :] = chunk
        elif any(chunk):
            raise FileFormatError(
                f"weight file {path} gives group {g.name!r} a non-zero bias, but it has none"
            )
    return values

