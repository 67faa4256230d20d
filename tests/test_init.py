"""Initial weights: the ``normal`` scheme is the article's legacy draw, replica by replica."""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import init
from backprop86.experiments import build_network


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_normal_is_randomstate_randn_per_replica_across_chunks(monkeypatch, dtype):
    """Replica ``r``'s arrays are ``RandomState(seeds[r]).randn(*shape) * scale`` in order,
    also where the replicas are drawn in several chunks (a chunk of 3 here)."""
    monkeypatch.setattr(init, "LEGACY_CHUNK", 3)
    net = build_network({"sizes": [3, 5, 2], "bias": True}, replicas=8, dtype=dtype)
    seeds = [42, 0, 7, 2**32 - 1, 5, 5, 123456, 9]
    init.initialize(net, seeds, "normal", 0.5)
    for r, seed in enumerate(seeds):
        legacy = np.random.RandomState(seed)
        for name, w in net.params.items():
            expected = (legacy.randn(*w.shape[1:]) * 0.5).astype(dtype)
            assert np.array_equal(w[r], expected), (seed, name)

